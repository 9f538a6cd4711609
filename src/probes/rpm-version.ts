// RPM version numbers, ordered as rpm orders them (rpmvercmp in rpmio/rpmvercmp.c, rpm 4.15 and
// later): `epoch:version-release`, a missing epoch being 0; version and release split into runs
// of digits and of letters, other characters only separating them; `~` sorts before
// everything, even the end, and `^` after the end but before anything else. A release is
// compared only when both sides have one (`>= 1.2` holds for every release of 1.2), as rpm does.

export interface RpmVersion {
  epoch: number;
  version: string;
  release?: string;
}

export function parseRpmVersion(text: string): { ok: true; version: RpmVersion } | { ok: false; error: string } {
  const v = text.trim();
  if (v === "") return { ok: false, error: "the version is empty" };
  if (/\s/.test(v)) return { ok: false, error: `\`${v}\` has white space inside` };
  let epoch = 0;
  let rest = v;
  const colon = v.indexOf(":");
  if (colon >= 0) {
    const e = v.slice(0, colon);
    if (!/^\d+$/.test(e)) return { ok: false, error: `the epoch of \`${v}\` is not a number` };
    epoch = Number(e);
    rest = v.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf("-");
  const version = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  if (version === "") return { ok: false, error: `\`${v}\` has an empty version` };
  const out: RpmVersion = { epoch, version };
  if (hyphen >= 0) {
    if (hyphen === rest.length - 1) return { ok: false, error: `\`${v}\` has an empty release` };
    out.release = rest.slice(hyphen + 1);
  }
  return { ok: true, version: out };
}

const isDigit = (c: string) => c >= "0" && c <= "9";
const isAlpha = (c: string) => (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");

/** rpm's rpmvercmp: -1, 0 or 1. */
export function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const at = (s: string, k: number) => s[k] ?? "";
  const separator = (c: string) => c !== "" && !isDigit(c) && !isAlpha(c) && c !== "~" && c !== "^";
  while (i < a.length || j < b.length) {
    while (separator(at(a, i))) i++;
    while (separator(at(b, j))) j++;
    const x = at(a, i);
    const y = at(b, j);
    if (x === "~" || y === "~") {
      if (x !== "~") return 1;
      if (y !== "~") return -1;
      i++;
      j++;
      continue;
    }
    if (x === "^" || y === "^") {
      if (x === "") return -1;
      if (y === "") return 1;
      if (x !== "^") return 1;
      if (y !== "^") return -1;
      i++;
      j++;
      continue;
    }
    if (x === "" || y === "") break;
    const numeric = isDigit(x);
    const kind = numeric ? isDigit : isAlpha;
    let i2 = i;
    let j2 = j;
    while (i2 < a.length && kind(a[i2]!)) i2++;
    while (j2 < b.length && kind(b[j2]!)) j2++;
    let one = a.slice(i, i2);
    let two = b.slice(j, j2);
    // a digit run against a letter run: the digits are newer
    if (two === "") return numeric ? 1 : -1;
    if (numeric) {
      one = one.replace(/^0+/, "");
      two = two.replace(/^0+/, "");
      if (one.length !== two.length) return one.length > two.length ? 1 : -1;
    }
    if (one !== two) return one < two ? -1 : 1;
    i = i2;
    j = j2;
  }
  const endA = i >= a.length;
  const endB = j >= b.length;
  if (endA && endB) return 0;
  return endA ? -1 : 1;
}

export function compareRpmVersions(a: RpmVersion, b: RpmVersion): -1 | 0 | 1 {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0 || a.release === undefined || b.release === undefined) return v;
  return rpmvercmp(a.release, b.release);
}
