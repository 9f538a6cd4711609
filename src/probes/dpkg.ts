// Installed Debian packages, read from dpkg's own database (/var/lib/dpkg/status, and the
// journal of updates dpkg has not yet folded into it, /var/lib/dpkg/updates/NNNN) without
// running dpkg: the same records `dpkg-query -W` shows, under a root that a test or a sandbox
// can choose. The parser is pure: every stanza it cannot use is reported with its line and why.
import { closeSync, constants, fstatSync, openSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fail, fromFsError, ok, readProcText, type ProbeResult, type Skip } from "./result.js";

export const WANTS = ["unknown", "install", "hold", "deinstall", "purge"] as const;
export const EFLAGS = ["ok", "reinstreq", "hold", "hold-reinstreq"] as const;
export const STATUSES = ["not-installed", "config-files", "half-installed", "unpacked", "half-configured", "triggers-awaited", "triggers-pending", "installed"] as const;
export type DpkgStatus = (typeof STATUSES)[number];

/**
 * Statuses in which the package's files are in place and configured: `installed`, and the two
 * in which only a trigger is still to run (dpkg counts those as configured when it resolves a
 * dependency). `unpacked`, `half-configured`, `half-installed` and `config-files` are not.
 */
const CONFIGURED: ReadonlySet<string> = new Set(["installed", "triggers-awaited", "triggers-pending"]);

export interface DpkgPackage {
  name: string;
  /** `amd64`, `all`, ...; empty in the rare record that has none */
  architecture: string;
  /** empty for a record with no version (a package dpkg knows of but never installed) */
  version: string;
  want: string;
  eflag: string;
  status: DpkgStatus;
  /** its files are in place and configured (see CONFIGURED) */
  installed: boolean;
  /** `same`, `foreign`, `allowed` or `no` */
  multiArch?: string;
  /** where the record was read: the file and the line its stanza starts on */
  path: string;
  line: number;
}

interface Stanza {
  line: number;
  fields: Map<string, string>;
}

/** Splits deb822 text into stanzas (fields folded with their continuation lines), reporting lines it cannot read. */
function stanzas(text: string, path: string, skipped: Skip[]): Stanza[] {
  const out: Stanza[] = [];
  let current: Stanza | undefined;
  let last: string | undefined;
  let broken = false;
  const close = () => {
    if (current && !broken) out.push(current);
    current = undefined;
    last = undefined;
    broken = false;
  };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, "");
    if (raw.trim() === "") {
      close();
      continue;
    }
    const lineNo = i + 1;
    if (!current) current = { line: lineNo, fields: new Map() };
    if (broken) continue;
    const why = fieldLine(raw, current, last);
    if (typeof why === "string" && why.startsWith("!")) {
      const whole = current.line === lineNo ? "" : `; the stanza from line ${current.line} is not read`;
      skipped.push({ path, line: lineNo, reason: why.slice(1) + whole });
      broken = true;
      continue;
    }
    last = why;
  }
  close();
  return out;
}

/** Adds one line to the stanza: the field it belongs to, or `!` and why it cannot be read. */
function fieldLine(raw: string, st: Stanza, last: string | undefined): string {
  if (raw.startsWith(" ") || raw.startsWith("\t")) {
    if (last === undefined) return "!a continuation line before any field";
    st.fields.set(last, `${st.fields.get(last)}\n${raw.slice(1)}`);
    return last;
  }
  const colon = raw.indexOf(":");
  if (colon <= 0) return `!not a field (\`Name: value\`): ${JSON.stringify(raw.slice(0, 60))}`;
  const name = raw.slice(0, colon);
  if (!/^[!-9;-~]+$/.test(name) || name.startsWith("-") || name.startsWith("#")) return `!not a field name: ${JSON.stringify(name.slice(0, 60))}`;
  const key = name.toLowerCase();
  if (st.fields.has(key)) return `!the field \`${name}\` appears twice in one stanza`;
  st.fields.set(key, raw.slice(colon + 1).trim());
  return key;
}

/** The packages of a status file (or of one of dpkg's update files). */
export function parse(text: string, path = "/var/lib/dpkg/status"): { packages: DpkgPackage[]; skipped: Skip[] } {
  const skipped: Skip[] = [];
  const packages: DpkgPackage[] = [];
  const seen = new Map<string, number>();
  for (const st of stanzas(text, path, skipped)) {
    const r = toPackage(st, path);
    if (typeof r === "string") {
      skipped.push({ path, line: st.line, reason: r });
      continue;
    }
    // dpkg keeps one record per name and architecture: a second is not dpkg's, and neither is believed over the first
    const first = seen.get(packageKey(r));
    if (first !== undefined) {
      skipped.push({ path, line: st.line, reason: `a second record of \`${r.name}\` (${r.architecture || "no architecture"}); the first, at line ${first}, is used` });
      continue;
    }
    seen.set(packageKey(r), st.line);
    packages.push(r);
  }
  skipped.sort((a, b) => a.line! - b.line!);
  return { packages, skipped };
}

function toPackage(st: Stanza, path: string): DpkgPackage | string {
  const name = st.fields.get("package");
  if (name === undefined) return "a stanza without a `Package` field";
  if (!/^[a-z0-9][a-z0-9+.-]*$/.test(name)) return `\`${name.slice(0, 60)}\` is not a package name`;
  const statusText = st.fields.get("status");
  if (statusText === undefined) return `the stanza of \`${name}\` has no \`Status\` field`;
  const words = statusText.split(/\s+/);
  if (words.length !== 3) return `the \`Status\` of \`${name}\` is not three words (want, flag, status): \`${statusText.slice(0, 60)}\``;
  const [want, eflag, status] = words as [string, string, string];
  if (!(WANTS as readonly string[]).includes(want)) return `the \`Status\` of \`${name}\` has an unknown wanted state \`${want}\``;
  if (!(EFLAGS as readonly string[]).includes(eflag)) return `the \`Status\` of \`${name}\` has an unknown error flag \`${eflag}\``;
  if (!(STATUSES as readonly string[]).includes(status)) return `the \`Status\` of \`${name}\` has an unknown status \`${status}\``;
  const pkg: DpkgPackage = {
    name,
    architecture: st.fields.get("architecture") ?? "",
    version: st.fields.get("version") ?? "",
    want,
    eflag,
    status: status as DpkgStatus,
    installed: CONFIGURED.has(status),
    path,
    line: st.line,
  };
  const multiArch = st.fields.get("multi-arch");
  if (multiArch !== undefined) pkg.multiArch = multiArch;
  return pkg;
}

/** `name:arch`: one record per name and architecture, as dpkg keeps them. */
export function packageKey(p: Pick<DpkgPackage, "name" | "architecture">): string {
  return `${p.name}:${p.architecture}`;
}

/** One stanza as dpkg writes it (the fields this probe reads): the inverse of `parse`, for tests and fixtures. */
export function formatStanza(p: Pick<DpkgPackage, "name" | "architecture" | "version" | "want" | "eflag" | "status"> & { multiArch?: string; extra?: [string, string][] }): string {
  const lines = [`Package: ${p.name}`, `Status: ${p.want} ${p.eflag} ${p.status}`];
  if (p.architecture !== "") lines.push(`Architecture: ${p.architecture}`);
  if (p.multiArch !== undefined) lines.push(`Multi-Arch: ${p.multiArch}`);
  if (p.version !== "") lines.push(`Version: ${p.version}`);
  for (const [k, v] of p.extra ?? []) lines.push(`${k}: ${v.replace(/\n/g, "\n ")}`);
  return lines.join("\n") + "\n";
}

export interface DpkgDatabase {
  /** the status file read */
  path: string;
  /** every record, the journal's applied, sorted by name and architecture */
  packages: DpkgPackage[];
}

/** The largest status file read (a desktop with 5,000 packages has one of about 10 MiB). */
const MAX_BYTES = 256 * 1024 * 1024;

/** A file's text: never through a link, never a FIFO or a device. */
function readRegular(path: string): { ok: true; text: string } | { ok: false; result: ProbeResult<never> } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOOP") return { ok: false, result: fail("malformed", `${path} is a symbolic link; dpkg's database is read only from regular files`, path) };
    return { ok: false, result: fromFsError(err, path) };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, result: fail("malformed", `${path} is not a regular file`, path) };
    if (st.size > MAX_BYTES) return { ok: false, result: fail("malformed", `${path} is larger than ${MAX_BYTES / 1024 / 1024} MiB`, path) };
  } finally {
    closeSync(fd);
  }
  try {
    return { ok: true, text: readProcText(path, "utf8") };
  } catch (err) {
    return { ok: false, result: fromFsError(err, path) };
  }
}

/**
 * dpkg's database under `root` (`/` on the host; a sandbox's own root has its own
 * var/lib/dpkg/status). Update files in var/lib/dpkg/updates (named by digits only, applied in
 * order, as dpkg does when it next opens the database) override the records they name.
 */
export function read(root = "/"): ProbeResult<DpkgDatabase> {
  const dir = join(root, "var", "lib", "dpkg");
  const path = join(dir, "status");
  const status = readRegular(path);
  if (!status.ok) return status.result;
  const parsed = parse(status.text, path);
  const skipped = [...parsed.skipped];
  const byKey = new Map(parsed.packages.map((p) => [packageKey(p), p]));
  let updates: string[] = [];
  try {
    updates = readdirSync(join(dir, "updates")).filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(a) - Number(b));
  } catch {
    // no journal directory: nothing pending
  }
  for (const name of updates) {
    const upath = join(dir, "updates", name);
    const u = readRegular(upath);
    if (!u.ok) {
      skipped.push({ path: upath, reason: u.result.ok ? "unreadable" : u.result.error.message });
      continue;
    }
    const up = parse(u.text, upath);
    skipped.push(...up.skipped);
    for (const p of up.packages) byKey.set(packageKey(p), p);
  }
  const packages = [...byKey.values()].sort((a, b) => (a.name === b.name ? (a.architecture < b.architecture ? -1 : 1) : a.name < b.name ? -1 : 1));
  return ok({ path, packages }, skipped);
}
