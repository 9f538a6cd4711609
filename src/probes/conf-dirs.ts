// Drop-in configuration directories as systemd and kmod read them (sysctl.d(5), modprobe.d(5),
// modules-load.d(5)): every file of the directories, by name; a name found in several
// directories is read from the first of them only (/etc over /run over /usr/local/lib over
// /usr/lib), and the files are applied in the lexical order of their names, whichever directory
// each comes from.
import { readdirSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { readText, type Skip } from "./result.js";

export interface ConfFile {
  /** the file name, which orders it */
  name: string;
  /** the path as on the host (`/etc/sysctl.d/99-x.conf`), as reports name it */
  path: string;
  /** where it is read from (below a sandbox's root, in tests) */
  hostPath: string;
  /** the directory of the same name's file that is read instead of this one */
  shadowedBy?: string;
}

export interface ConfFileText extends ConfFile {
  text: string;
}

export interface ConfListing {
  /** the files read, in the order they apply */
  applied: ConfFileText[];
  /** files that are not read: a file of the same name in an earlier directory is */
  shadowed: ConfFileText[];
  skipped: Skip[];
}

/**
 * The files of `dirs` (in precedence order) whose names `accept` takes, in the order they apply.
 * `hostPath` maps a host path to where it is read (a sandbox's root); missing directories hold
 * no files. A name's file is looked up in each directory in turn: the first one found is read.
 */
export function listConfFiles(dirs: readonly string[], hostPath: (p: string) => string, accept: (name: string) => boolean): ConfListing {
  const skipped: Skip[] = [];
  const first = new Map<string, ConfFile>();
  const later: ConfFile[] = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    // a merged-/usr system's /lib is /usr/lib: its files are the same files, not hidden ones
    const real = realOrSelf(hostPath(dir));
    if (seen.has(real)) continue;
    seen.add(real);
    let names: string[];
    try {
      names = readdirSync(hostPath(dir));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") skipped.push({ path: dir, reason: `cannot list: ${code ?? (err as Error).message}` });
      continue;
    }
    for (const name of names) {
      if (name.startsWith(".") || !accept(name)) continue;
      const path = `${dir}/${name}`;
      const file: ConfFile = { name, path, hostPath: hostPath(path) };
      if (!isFileOrLinkToOne(file.hostPath)) continue;
      const earlier = first.get(name);
      if (earlier) later.push({ ...file, shadowedBy: earlier.path });
      else first.set(name, file);
    }
  }
  const order = (a: ConfFile, b: ConfFile) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return {
    applied: readAll([...first.values()].sort(order), skipped),
    shadowed: readAll(later.sort(order), skipped),
    skipped,
  };
}

/** Reads one configuration file that is not in a directory (`/etc/sysctl.conf`); undefined when it does not exist. */
export function readConfFile(path: string, hostPath: (p: string) => string, skipped: Skip[]): ConfFileText | undefined {
  const file: ConfFile = { name: path.slice(path.lastIndexOf("/") + 1), path, hostPath: hostPath(path) };
  if (!isFileOrLinkToOne(file.hostPath)) return undefined;
  return readAll([file], skipped)[0];
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

const devNull = (() => {
  try {
    return statSync("/dev/null").rdev;
  } catch {
    return undefined;
  }
})();

// a regular file, or a link to one; systemd masks a file with a link to /dev/null, which is
// read as empty (any other device is passed over: it might never end)
function isFileOrLinkToOne(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isFile() || (st.isCharacterDevice() && st.rdev === devNull);
  } catch {
    return false; // a dangling link, or gone since listed
  }
}

function isDevNull(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isCharacterDevice() && st.rdev === devNull;
  } catch {
    return false;
  }
}

function readAll(files: ConfFile[], skipped: Skip[]): ConfFileText[] {
  const out: ConfFileText[] = [];
  for (const f of files) {
    // readText never blocks on a FIFO planted in the directory
    const r = isDevNull(f.hostPath) ? { ok: true as const, text: "" } : readText(f.hostPath, "utf8");
    if (r.ok) out.push({ ...f, text: r.text });
    else skipped.push({ path: f.path, reason: r.result.ok ? "unreadable" : r.result.error.message });
  }
  return out;
}

/** `join` for host paths below a root, as the evaluator's hostPath does. */
export function below(root: string | undefined): (p: string) => string {
  return root === undefined ? (p) => p : (p) => join(root, p);
}
