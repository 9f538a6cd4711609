// Configuration files as their programs read them, for the `config` promise type: the files a
// path or glob names, each parsed in its format (src/config-formats/), with sshd's `Include`d
// files read in their place; each file's identity and digest kept, so that a repair edits only
// the file that was judged, unchanged since.
import { createHash } from "node:crypto";
import { lstatSync, readdirSync } from "node:fs";
import { parseConfig, type ConfigFormatName, type ConfigSetting, type FormatOptions } from "../config-formats/index.js";
import { identityOfStats, type FileIdentity } from "./file-identity.js";
import { readBytesAtMost, type Skip } from "./result.js";

/** the largest configuration file read (as the `lines` type's default `max_size`): a larger one is an error, never read whole */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** sshd's own limit on nested `Include`s (READCONF_MAX_DEPTH); sudo's is lower (128 files), and never reached before this */
const maxIncludeDepth = 16;

export interface ConfigFileText {
  /** as on the host */
  path: string;
  /** where it is read (below a sandbox's root) */
  hostPath: string;
  text: string;
  /** the directory entry observed (not followed), exactly */
  identity: FileIdentity;
  /** sha256 of the bytes read: an edit is refused if the file no longer holds them */
  digest: string;
  /** the bytes are not UTF-8: the text is not the file's, and it is never edited */
  notUtf8: boolean;
  /** the entry is a symbolic link (read through, as its program reads it; never edited) */
  link: boolean;
  /** the sshd `Match` block it was included in */
  block?: string;
  /** 1-based line of the first block (sshd `Match`) */
  firstBlockLine?: number;
  /** ini: the line a setting added to each section goes before */
  sections?: Record<string, number>;
}

/** A setting with the file it is in. */
export type FileSetting = ConfigSetting & { path: string };

export interface ConfigRead {
  /** the file named (one match of the promiser) */
  path: string;
  exists: boolean;
  /** the file and every file it includes, in the order read */
  files: ConfigFileText[];
  /** every setting in the order the program reads them */
  settings: FileSetting[];
  skipped: Skip[];
}

/** Reads `path` and, for sshd, what it includes. An unreadable named file is an error; an unreadable include is skipped. */
export function readConfig(path: string, format: ConfigFormatName, options: FormatOptions, hostPath: (p: string) => string): ConfigRead | { error: string } {
  const out: ConfigRead = { path, exists: false, files: [], settings: [], skipped: [] };
  const first = readOne(path, hostPath);
  if ("missing" in first) return out;
  if ("error" in first) return { error: first.error };
  out.exists = true;
  collect(first, format, options, hostPath, out, 0);
  return out;
}

function collect(file: ConfigFileText, format: ConfigFormatName, options: FormatOptions, hostPath: (p: string) => string, out: ConfigRead, depth: number): void {
  out.files.push(file);
  const parsed = parseConfig(format, file.text, file.path, options, file.block);
  if (parsed.firstBlockLine !== undefined) file.firstBlockLine = parsed.firstBlockLine;
  if (parsed.sections) file.sections = parsed.sections;
  out.skipped.push(...parsed.skipped);
  const events = [...parsed.settings.map((s) => ({ line: s.line, setting: s })), ...parsed.includes.map((inc) => ({ line: inc.line, include: inc }))].sort((a, b) => a.line - b.line);
  for (const e of events) {
    if ("setting" in e && e.setting) {
      out.settings.push({ ...e.setting, path: file.path });
      continue;
    }
    const inc = "include" in e ? e.include : undefined;
    if (!inc) continue;
    if (depth + 1 > maxIncludeDepth) {
      out.skipped.push({ path: file.path, line: inc.line, reason: `Include nested more than ${maxIncludeDepth} deep (sshd refuses it)` });
      continue;
    }
    for (const pattern of inc.patterns) {
      for (const p of inc.directory ? includedDirectory(pattern, hostPath, inc.directory === "apt" ? aptReads : sudoReads) : expandConfigGlob(pattern, hostPath)) {
        const r = readOne(p, hostPath);
        if ("error" in r) out.skipped.push({ path: p, reason: r.error });
        if (!("text" in r)) continue;
        if (inc.block !== undefined) r.block = inc.block;
        if (!inc.keyPrefix) {
          collect(r, format, options, hostPath, out, depth + 1);
          continue;
        }
        // `TYPE include FILE`: that type's lines alone count from it
        const from = out.settings.length;
        collect(r, format, options, hostPath, out, depth + 1);
        const kept = out.settings.slice(from).filter((s) => s.key.startsWith(inc.keyPrefix!));
        out.settings.splice(from, out.settings.length - from, ...kept);
      }
    }
  }
}

/** sudo's `@includedir`: names without `.` that do not end in `~`. */
const sudoReads = (n: string) => !n.includes(".") && !n.endsWith("~");

/**
 * apt's `#include DIR/` (ReadConfigDir): names of letters, digits, `_`, `-` and `.`, not
 * starting or ending with `.`, with no `.` at all or ending in `.conf`.
 */
const aptReads = (n: string) => /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(n) && !n.endsWith(".") && (!n.includes(".") || n.endsWith(".conf"));

/** The files of an included directory whose names `reads` accepts, in lexical order. */
function includedDirectory(dir: string, hostPath: (p: string) => string, reads: (name: string) => boolean): string[] {
  let names: string[];
  try {
    names = readdirSync(hostPath(dir));
  } catch {
    return []; // sudo skips a directory it cannot open
  }
  return names
    .filter(reads)
    .sort()
    .map((n) => `${dir.replace(/\/+$/, "")}/${n}`)
    .filter((p) => {
      try {
        return lstatSync(hostPath(p)).isFile();
      } catch {
        return false;
      }
    });
}

function readOne(path: string, hostPath: (p: string) => string): ConfigFileText | { missing: true } | { error: string } {
  const host = hostPath(path);
  let link = false;
  let identity: FileIdentity;
  try {
    const st = lstatSync(host, { bigint: true });
    identity = identityOfStats(st);
    link = st.isSymbolicLink();
    if (!link && !st.isFile()) return { error: `${path} is not a regular file` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { missing: true };
    return { error: `cannot read ${path}: ${code ?? (err as Error).message}` };
  }
  let bytes: Buffer;
  try {
    // never blocks on a FIFO planted where a configuration file is expected
    const read = readBytesAtMost(host, MAX_CONFIG_BYTES);
    if ("tooBig" in read) return { error: `${path} is ${read.tooBig} bytes, more than ${MAX_CONFIG_BYTES} bytes (4 MiB): it is not read` };
    bytes = read.bytes;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { missing: true };
    return { error: `cannot read ${path}: ${code === "EACCES" ? "permission denied" : (code ?? (err as Error).message)}` };
  }
  const text = bytes.toString("utf8");
  const digest = createHash("sha256").update(bytes).digest("hex");
  return { path, hostPath: host, text, identity, digest, notUtf8: !Buffer.from(text, "utf8").equals(bytes), link };
}

/**
 * The files a glob names, sorted as glob(3) sorts them: `*`, `?` and `[...]` within a path
 * component; names starting with `.` only where the pattern's component does. A pattern
 * without wildcards is returned as is.
 */
export function expandConfigGlob(pattern: string, hostPath: (p: string) => string): string[] {
  if (!/[*?[]/.test(pattern)) return [pattern];
  let found = ["/"];
  for (const part of pattern.split("/").filter((s) => s !== "")) {
    const next: string[] = [];
    for (const dir of found) {
      const base = dir === "/" ? "" : dir;
      if (!/[*?[]/.test(part)) {
        next.push(`${base}/${part}`);
        continue;
      }
      const re = globPart(part);
      let names: string[];
      try {
        names = readdirSync(hostPath(dir === "" ? "/" : dir));
      } catch {
        continue; // a directory that cannot be listed holds no match, as for glob(3)
      }
      for (const n of names.sort()) if (re.test(n) && (!n.startsWith(".") || part.startsWith("."))) next.push(`${base}/${n}`);
    }
    found = next;
  }
  return found.filter((p) => {
    try {
      lstatSync(hostPath(p));
      return true;
    } catch {
      return false;
    }
  });
}

function globPart(part: string): RegExp {
  let re = "";
  for (let i = 0; i < part.length; i++) {
    const ch = part[i]!;
    const close = ch === "[" ? part.indexOf("]", i + 2) : -1;
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (close > 0) {
      re += `[${part.slice(i + 1, close).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
      i = close;
    } else re += ch.replace(/[\\^$.|+(){}[\]]/g, "\\$&");
  }
  try {
    return new RegExp(`^${re}$`);
  } catch {
    return /(?!)/;
  }
}
