// Writes a built pack: the directory PACK (new, or empty and the caller's own), each file created
// exclusively and whole (a random name, then linked into place), never through a link, owner-only;
// then PACK.tar.gz beside it, created the same way. A name already taken is never overwritten.
import { lstatSync, mkdirSync, readdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { createFileExclusively } from "../store/safe-files.js";
import { writeTarGz, type PackFile } from "./tar.js";

export class PackWriteError extends Error {}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message;
}

/** The pack's directory, made now, or one that exists, is empty, is a real directory (not a link) and is the caller's alone. */
function packDirectory(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new PackWriteError(`cannot make the pack's directory ${dir}: ${describe(err)}`);
  }
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new PackWriteError(`${dir} exists and is not a directory: choose another --out`);
  if (st.uid !== process.geteuid?.()) throw new PackWriteError(`${dir} exists and belongs to uid ${st.uid}, not to this user: choose another --out (a pack is never written into a directory someone else controls)`);
  if (st.mode & 0o022) throw new PackWriteError(`${dir} exists and others can write into it: choose another --out`);
  if (readdirSync(dir).length > 0) throw new PackWriteError(`${dir} exists and is not empty: choose another --out (a pack is never mixed with other files)`);
}

function writeOne(path: string, bytes: Buffer): void {
  let made: boolean;
  try {
    made = createFileExclusively(path, bytes);
  } catch (err) {
    throw new PackWriteError(`cannot write ${path}: ${describe(err)}`);
  }
  if (!made) throw new PackWriteError(`cannot write ${path}: something appeared there while the pack was written; the pack is not complete`);
}

/** The directories every pack has, empty or not: the reports go under `reports/`. */
const PACK_DIRS = ["reports"];

/** Writes the files under `out`, then `out`.tar.gz; returns the archive's path. */
export function writePack(out: string, files: readonly PackFile[], createdAt: Date): { dir: string; archive: string } {
  const dir = resolve(out.replace(/\/+$/, ""));
  const archive = `${dir}.tar.gz`;
  try {
    lstatSync(archive);
    throw new PackWriteError(`${archive} exists: choose another --out (a pack is never written over another)`);
  } catch (err) {
    if (err instanceof PackWriteError) throw err;
  }
  packDirectory(dir);
  const made = new Set<string>([dir]);
  for (const name of [...PACK_DIRS.map((d) => `${d}/`), ...files.map((f) => f.name)]) {
    const parts = name.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = join(dir, ...parts.slice(0, i));
      if (made.has(d)) continue;
      try {
        mkdirSync(d, { mode: 0o700 });
      } catch (err) {
        throw new PackWriteError(`cannot make ${d}: ${describe(err)}`);
      }
      made.add(d);
    }
  }
  for (const f of files) writeOne(join(dir, ...f.name.split("/")), f.bytes);
  const gz = writeTarGz(basename(dir), files, Math.floor(createdAt.getTime() / 1000), PACK_DIRS);
  writeOne(archive, gz);
  return { dir, archive };
}
