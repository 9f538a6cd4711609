// Reads a pack to verify it: a directory (walked without following links: a link, FIFO or device
// in it is refused, named) or its `.tar.gz` (tar.ts reads it safely), within a size bound.
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";
import { MAX_UNPACKED, readTarGz, TarError, type PackFile } from "./tar.js";

export class PackReadError extends Error {}

function readBounded(path: string, limit: number): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new PackReadError(`${path} is not a regular file`);
    if (st.size > limit) throw new PackReadError(`${path} is ${st.size} bytes, more than a pack can hold (${limit})`);
    const buf = Buffer.alloc(st.size);
    for (let at = 0; at < st.size; ) {
      const n = readSync(fd, buf, at, st.size - at, null);
      if (n === 0) break;
      at += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

function walk(root: string, rel: string, out: PackFile[], budget: { left: number }): void {
  for (const name of readdirSync(join(root, rel)).sort()) {
    const relName = rel === "" ? name : `${rel}/${name}`;
    const path = join(root, relName);
    const st = lstatSync(path);
    if (st.isDirectory()) walk(root, relName, out, budget);
    else if (st.isFile()) {
      budget.left -= st.size;
      if (budget.left < 0) throw new PackReadError(`the pack is larger than ${MAX_UNPACKED} bytes`);
      out.push({ name: relName, bytes: readBounded(path, MAX_UNPACKED) });
    } else throw new PackReadError(`${relName} in the pack is ${st.isSymbolicLink() ? "a symbolic link" : "not a regular file"}: a pack holds only files and directories, refused`);
  }
}

/** The pack's files by their names relative to it. */
export function readPack(path: string): PackFile[] {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    throw new PackReadError(`cannot read the pack ${path}: ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`);
  }
  try {
    if (st.isDirectory()) {
      const files: PackFile[] = [];
      walk(path, "", files, { left: MAX_UNPACKED });
      return files;
    }
    if (!st.isFile()) throw new PackReadError(`the pack ${path} is neither a directory nor a .tar.gz file`);
    return readTarGz(readBounded(path, MAX_UNPACKED));
  } catch (err) {
    if (err instanceof TarError) throw new PackReadError(`the archive ${path} is refused: ${err.message}`);
    if (err instanceof PackReadError) throw err;
    throw new PackReadError(`cannot read the pack ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
