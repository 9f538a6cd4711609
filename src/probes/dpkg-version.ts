// Debian version numbers, ordered as dpkg orders them (lib/dpkg/version.c): `epoch:upstream-revision`,
// the epoch compared as a number, upstream and revision with verrevcmp: runs of non-digits
// compared character by character (`~` before everything, even the end; letters before other
// characters), runs of digits compared as numbers. `1.0` and `1.0-0` are equal, as in dpkg.

export interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

/**
 * The parts of a version as dpkg splits them (the epoch before the first `:`, the revision after
 * the last `-`), or the reason it is not one dpkg would accept.
 */
export function parseDebianVersion(text: string): { ok: true; version: DebianVersion } | { ok: false; error: string } {
  const v = text.trim();
  if (v === "") return { ok: false, error: "the version is empty" };
  if (/\s/.test(v)) return { ok: false, error: `\`${v}\` has white space inside` };
  const colon = v.indexOf(":");
  let epoch = 0;
  let rest = v;
  if (colon >= 0) {
    const e = v.slice(0, colon);
    if (!/^\d+$/.test(e)) return { ok: false, error: `the epoch of \`${v}\` is not a number` };
    epoch = Number(e);
    if (!Number.isSafeInteger(epoch) || epoch > 2147483647) return { ok: false, error: `the epoch of \`${v}\` is too large` };
    rest = v.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf("-");
  const upstream = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const revision = hyphen >= 0 ? rest.slice(hyphen + 1) : "";
  if (upstream === "") return { ok: false, error: `\`${v}\` has an empty upstream version` };
  if (hyphen >= 0 && revision === "") return { ok: false, error: `\`${v}\` has an empty revision` };
  if (!/^[0-9]/.test(upstream)) return { ok: false, error: `the upstream version of \`${v}\` does not start with a digit` };
  if (!/^[A-Za-z0-9.+~:-]+$/.test(upstream)) return { ok: false, error: `the upstream version of \`${v}\` has a character dpkg does not allow` };
  if (!/^[A-Za-z0-9.+~]*$/.test(revision)) return { ok: false, error: `the revision of \`${v}\` has a character dpkg does not allow` };
  return { ok: true, version: { epoch, upstream, revision } };
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** dpkg's weight of one character of a non-digit run; 0 (the end, or a digit) between `~` and the letters. */
function order(c: number): number {
  if (Number.isNaN(c) || isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 126) return -1; // ~
  return c + 256;
}

/** dpkg's verrevcmp: negative, zero or positive as `a` sorts before, with or after `b`. */
export function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  const at = (s: string, k: number) => (k < s.length ? s.charCodeAt(k) : NaN);
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(at(a, i));
      const bc = order(at(b, j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (at(a, i) === 48) i++;
    while (at(b, j) === 48) j++;
    while (isDigit(at(a, i)) && isDigit(at(b, j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(at(a, i))) return 1;
    if (isDigit(at(b, j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Compares two parsed versions as `dpkg --compare-versions` does: -1, 0 or 1. */
export function compareDebianVersions(a: DebianVersion, b: DebianVersion): -1 | 0 | 1 {
  const r = a.epoch !== b.epoch ? a.epoch - b.epoch : verrevcmp(a.upstream, b.upstream) || verrevcmp(a.revision, b.revision);
  return r < 0 ? -1 : r > 0 ? 1 : 0;
}
