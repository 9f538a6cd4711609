// modprobe's configuration as kmod reads it (modprobe.d(5)): `install`, `remove`, `blacklist`,
// `alias`, `options` and `softdep` rules from *.conf files of /etc/modprobe.d, /run/modprobe.d,
// /usr/local/lib/modprobe.d, /usr/lib/modprobe.d and /lib/modprobe.d (a name in an earlier
// directory hides the same name in later ones; files apply in the order of their names), plus
// `modprobe.blacklist=` on the kernel command line; and the modules listed to load at boot
// (modules-load.d(5), Debian's /etc/modules, `modules_load=` on the command line).
import { join } from "node:path";
import { listConfFiles, readConfFile, type ConfFile } from "./conf-dirs.js";
import { identityOfPath, sameObject } from "./file-identity.js";
import { canonicalModule } from "./modules.js";
import { readText, type Skip } from "./result.js";

export const modprobeDirs = ["/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/usr/lib/modprobe.d", "/lib/modprobe.d"] as const;
export const modulesLoadDirs = ["/etc/modules-load.d", "/run/modules-load.d", "/usr/local/lib/modules-load.d", "/usr/lib/modules-load.d", "/lib/modules-load.d"] as const;

interface At {
  /** the file, as on the host; `/proc/cmdline` for the kernel command line */
  path: string;
  line: number;
}

export type ModprobeRule = At &
  (
    | { kind: "install" | "remove"; module: string; command: string }
    | { kind: "blacklist"; module: string }
    | { kind: "alias"; alias: string; module: string }
    | { kind: "options"; module: string; options: string }
    | { kind: "softdep"; module: string; pre: string[]; post: string[] }
  );

/** A module named to be loaded at boot. */
export interface BootLoad extends At {
  module: string;
}

/**
 * `underscores()` of kmod: `-` is `_` in a module name, except inside a `[...]` of a pattern
 * (an install rule's name may be an fnmatch(3) pattern).
 */
function underscores(name: string): string {
  let out = "";
  let inClass = false;
  for (const ch of name) {
    if (ch === "[") inClass = true;
    else if (ch === "]") inClass = false;
    out += ch === "-" && !inClass ? "_" : ch;
  }
  return out;
}

/**
 * Lines joined where one ends in a backslash (the backslash and the line break removed, as
 * kmod's reader does), each with the number of its first line.
 */
function logicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  const raw = text.split("\n");
  for (let i = 0; i < raw.length; i++) {
    const start = i + 1;
    let line = raw[i]!;
    while (line.endsWith("\\") && i + 1 < raw.length) line = line.slice(0, -1) + raw[++i]!;
    out.push({ text: line, line: start });
  }
  return out;
}

/** The rules of one modprobe.d file; lines kmod ignores (with an error) are skipped, with the reason. */
export function parse(text: string, path: string): { rules: ModprobeRule[]; skipped: Skip[] } {
  const rules: ModprobeRule[] = [];
  const skipped: Skip[] = [];
  for (const { text: line, line: n } of logicalLines(text)) {
    // kmod: a comment is a line whose first character is `#`; an indented `#` is a bad line, ignored all the same
    if (line === "" || line.startsWith("#")) continue;
    const m = /^[\t ]*(\S+)(?:[\t ]+(\S+))?(?:[\t ](.*))?$/.exec(line);
    if (!m) continue; // white space only
    const [, cmd, first] = m;
    // what follows the name and one separator, kept as it is (kmod hands an install command to the shell unchanged)
    const rest = m[3] === "" ? undefined : m[3];
    const at = { path, line: n };
    const bad = (reason: string) => skipped.push({ path, line: n, reason });
    const words = (rest ?? "").split(/[\t ]+/).filter((w) => w !== "");
    switch (cmd) {
      case "install":
      case "remove":
        if (!first || rest === undefined) bad(`\`${cmd}\` needs a module and a command`);
        else rules.push({ kind: cmd, module: underscores(first), command: rest, ...at });
        break;
      case "blacklist":
        if (!first) bad("`blacklist` needs a module");
        else rules.push({ kind: "blacklist", module: underscores(first), ...at });
        break;
      case "alias":
        if (!first || words.length === 0) bad("`alias` needs a pattern and a module");
        else rules.push({ kind: "alias", alias: underscores(first), module: underscores(words[0]!), ...at });
        break;
      case "options":
        if (!first || rest === undefined) bad("`options` needs a module and options");
        else rules.push({ kind: "options", module: underscores(first), options: rest, ...at });
        break;
      case "softdep":
        if (!first) bad("`softdep` needs a module");
        else rules.push({ kind: "softdep", module: underscores(first), ...softdeps(words), ...at });
        break;
      case "include":
      case "config":
        bad(`\`${cmd}\` is no longer read by modprobe (kmod)`);
        break;
      default:
        bad(`not a modprobe.d rule: \`${cmd!.slice(0, 40)}\``);
    }
  }
  return { rules, skipped };
}

function softdeps(words: string[]): { pre: string[]; post: string[] } {
  const deps = { pre: [] as string[], post: [] as string[] };
  let into: string[] | undefined;
  for (const w of words) {
    if (w === "pre:") into = deps.pre;
    else if (w === "post:") into = deps.post;
    else into?.push(underscores(w));
  }
  return deps;
}

/** `modprobe.blacklist=a,b` on the kernel command line: kmod blacklists these too. */
export function parseCmdline(cmdline: string, path = "/proc/cmdline"): { blacklist: ModprobeRule[]; load: BootLoad[] } {
  const blacklist: ModprobeRule[] = [];
  const load: BootLoad[] = [];
  for (const word of cmdline.trim().split(/\s+/)) {
    const eq = word.indexOf("=");
    if (eq < 0) continue;
    const key = word.slice(0, eq);
    const names = word.slice(eq + 1).split(",").filter((n) => n !== "");
    if (key === "modprobe.blacklist") for (const n of names) blacklist.push({ kind: "blacklist", module: underscores(n), path, line: 1 });
    // systemd-modules-load.service(8) loads these at boot
    if (/^(rd\.)?modules[-_]load$/.test(key)) for (const n of names) load.push({ module: canonicalModule(n), path, line: 1 });
  }
  return { blacklist, load };
}

/** modules-load.d(5): one module name a line; `#` and `;` start comments. */
export function parseModulesLoad(text: string, path: string): BootLoad[] {
  const out: BootLoad[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    out.push({ module: canonicalModule(line.split(/\s+/)[0]!), path, line: i + 1 });
  });
  return out;
}

export interface ModprobeConfig {
  /** every rule, in the order modprobe reads them (files by name, then the command line) */
  rules: ModprobeRule[];
  /** modules named to be loaded at boot */
  bootLoads: BootLoad[];
  /** files of the same name as an earlier directory's, which modprobe does not read */
  shadowed: ConfFile[];
  skipped: Skip[];
}

/**
 * Reads the whole configuration. `hostPath` maps a host path to where it is read (a sandbox's
 * root); `procRoot` is where /proc/cmdline is read.
 */
export function read(hostPath: (p: string) => string, procRoot: string): ModprobeConfig {
  const conf = listConfFiles(modprobeDirs, hostPath, (n) => n.endsWith(".conf") || n.endsWith(".alias"));
  const skipped = [...conf.skipped];
  const rules: ModprobeRule[] = [];
  for (const f of conf.applied) {
    const r = parse(f.text, f.path);
    rules.push(...r.rules);
    skipped.push(...r.skipped);
  }
  const loads = listConfFiles(modulesLoadDirs, hostPath, (n) => n.endsWith(".conf"));
  skipped.push(...loads.skipped);
  const bootLoads = loads.applied.flatMap((f) => parseModulesLoad(f.text, f.path));
  // Debian's /etc/modules, loaded at boot by systemd-modules-load (through a link in modules-load.d) or kmod's init script
  const etcModules = readConfFile("/etc/modules", hostPath, skipped);
  if (etcModules && !loads.applied.some((f) => sameFile(f.hostPath, etcModules.hostPath))) bootLoads.push(...parseModulesLoad(etcModules.text, etcModules.path));
  const cmdline = readText(join(procRoot, "cmdline"));
  if (cmdline.ok) {
    const c = parseCmdline(cmdline.text);
    rules.push(...c.blacklist);
    bootLoads.push(...c.load);
  }
  return { rules, bootLoads, shadowed: [...conf.shadowed, ...loads.shadowed], skipped };
}

function sameFile(a: string, b: string): boolean {
  try {
    return sameObject(identityOfPath(a, true), identityOfPath(b, true));
  } catch {
    return false;
  }
}

/** An fnmatch(3) pattern (`*`, `?`, `[...]`) as a regular expression. */
function globToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*") re += ".*";
    else if (ch === "?") re += ".";
    else if (ch === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        const body = pattern.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\");
        re += `[${body}]`;
        i = end;
      }
    } else re += ch.replace(/[\\^$.|+(){}]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** Whether a rule's module name (possibly a pattern) names `module` (canonical). */
export function ruleNames(ruleModule: string, module: string): boolean {
  if (!/[*?[]/.test(ruleModule)) return ruleModule === module;
  try {
    return globToRegExp(ruleModule).test(module);
  } catch {
    return false;
  }
}

/** The install rule modprobe runs instead of loading `module`: the first that names it (kmod keeps only the first). */
export function installRule(config: ModprobeConfig, module: string): (ModprobeRule & { kind: "install" }) | undefined {
  return config.rules.find((r): r is ModprobeRule & { kind: "install" } => r.kind === "install" && ruleNames(r.module, module));
}
