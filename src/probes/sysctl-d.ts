// Kernel parameters as they will be set at boot (sysctl.d(5)): `key = value` lines of the *.conf
// files of /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d and
// /lib/sysctl.d (a name in an earlier directory hides the same name in later ones; files apply in
// the order of their names, whichever directory each is in), then /etc/sysctl.conf.
import { listConfFiles, readConfFile, type ConfFile } from "./conf-dirs.js";
import { normalise } from "./sysctl.js";
import type { Skip } from "./result.js";

export const sysctlDirs = ["/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"] as const;
/** read after every directory's files, as `sysctl --system` does */
export const sysctlConf = "/etc/sysctl.conf";
/** files that packages own: the SCAP Security Guide judges these only when no other file sets the key */
export const vendorDirs: readonly string[] = ["/usr/lib/sysctl.d", "/lib/sysctl.d"];

export interface SysctlSetting {
  /** the key in dotted form, as `sysctl` shows it (`net.ipv4.conf.eth0/100.rp_filter`) */
  key: string;
  /** the value with runs of white space folded, as the kernel prints it back */
  value: string;
  path: string;
  line: number;
  /** a line that starts with `-`: a failure to set it is not an error */
  ignoreErrors: boolean;
  /** the key holds `*`, `?` or `[`: it sets every parameter it matches that no line names outright */
  glob: boolean;
}

/**
 * A key as sysctl.d(5) allows it written, in dotted form: either `/` or `.` separates the parts;
 * when the first separator is a `/`, the other `/` are separators and `.` are part of a name
 * (`net/ipv4/conf/eth0.100/rp_filter` is `net.ipv4.conf.eth0/100.rp_filter`).
 */
export function dottedKey(key: string): string {
  const slash = key.indexOf("/");
  const dot = key.indexOf(".");
  if (slash < 0 || (dot >= 0 && dot < slash)) return key;
  return key
    .replace(/^\/+/, "")
    .split("/")
    .filter((p) => p !== "")
    .map((p) => p.replace(/\./g, "/"))
    .join(".");
}

/** The settings of one file; lines that are not assignments are skipped, with the reason. */
export function parse(text: string, path: string): { settings: SysctlSetting[]; skipped: Skip[] } {
  const settings: SysctlSetting[] = [];
  const skipped: Skip[] = [];
  text.split("\n").forEach((raw, i) => {
    let line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    const eq = line.indexOf("=");
    if (eq < 0) {
      skipped.push({ path, line: i + 1, reason: "not an assignment (`key = value`)" });
      return;
    }
    const ignoreErrors = line.startsWith("-");
    if (ignoreErrors) line = line.slice(1);
    const key = dottedKey(line.slice(0, line.indexOf("=")).trim());
    if (key === "") {
      skipped.push({ path, line: i + 1, reason: "no key before `=`" });
      return;
    }
    settings.push({ key, value: normalise(line.slice(line.indexOf("=") + 1)), path, line: i + 1, ignoreErrors, glob: /[*?[]/.test(key) });
  });
  return { settings, skipped };
}

export interface SysctlConfig {
  /** every setting read at boot, in the order they apply */
  settings: SysctlSetting[];
  /** settings of files hidden by a file of the same name in an earlier directory: never applied */
  shadowed: (SysctlSetting & { shadowedBy: string })[];
  files: ConfFile[];
  skipped: Skip[];
}

/** Reads every file; `hostPath` maps a host path to where it is read (a sandbox's root). */
export function read(hostPath: (p: string) => string): SysctlConfig {
  const listing = listConfFiles(sysctlDirs, hostPath, (n) => n.endsWith(".conf"));
  const skipped = [...listing.skipped];
  const files: ConfFile[] = [...listing.applied];
  const conf = readConfFile(sysctlConf, hostPath, skipped);
  if (conf) files.push(conf);
  const settings: SysctlSetting[] = [];
  for (const f of [...listing.applied, ...(conf ? [conf] : [])]) {
    const r = parse(f.text, f.path);
    settings.push(...r.settings);
    skipped.push(...r.skipped);
  }
  const shadowed = listing.shadowed.flatMap((f) => parse(f.text, f.path).settings.map((s) => ({ ...s, shadowedBy: f.shadowedBy! })));
  return { settings, shadowed, files, skipped };
}

/** Whether a setting's key names `key` (dotted): the same key, or a glob matching it part by part. */
export function names(settingKey: string, key: string): boolean {
  if (settingKey === key) return true;
  if (!/[*?[]/.test(settingKey)) return false;
  const want = settingKey.split(".");
  const have = key.split(".");
  return want.length === have.length && want.every((w, i) => partMatches(w, have[i]!));
}

function partMatches(pattern: string, part: string): boolean {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*") re += ".*";
    else if (ch === "?") re += ".";
    else if (ch === "[" && pattern.indexOf("]", i + 2) > 0) {
      const end = pattern.indexOf("]", i + 2);
      re += `[${pattern.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
      i = end;
    } else re += ch.replace(/[\\^$.|+(){}[\]]/g, "\\$&");
  }
  try {
    return new RegExp(`^${re}$`).test(part);
  } catch {
    return false;
  }
}

export interface KeyAtBoot {
  /** the settings that apply to the key, in the order they apply */
  settings: SysctlSetting[];
  /** the one that decides the value at boot: the last that names the key outright, else the last glob (systemd-sysctl) */
  winner?: SysctlSetting;
  /** settings in files never read (hidden by a file of the same name) */
  shadowed: (SysctlSetting & { shadowedBy: string })[];
}

export function atBoot(config: SysctlConfig, key: string): KeyAtBoot {
  const settings = config.settings.filter((s) => names(s.key, key));
  const explicit = settings.filter((s) => !s.glob);
  const winner = explicit.length > 0 ? explicit[explicit.length - 1] : settings[settings.length - 1];
  const out: KeyAtBoot = { settings, shadowed: config.shadowed.filter((s) => names(s.key, key)) };
  if (winner) out.winner = winner;
  return out;
}

/** Whether a setting is in a file that packages own (/usr/lib/sysctl.d, /lib/sysctl.d). */
export function isVendor(s: { path: string }): boolean {
  return vendorDirs.some((d) => s.path.startsWith(d + "/"));
}
