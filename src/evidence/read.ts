// Reads a pack to verify it, a chunk at a time, giving each file's bytes to a sink as they pass
// (verify.ts PackChecker): a directory (walked without following links: a link, FIFO or device in
// it is refused, named) or its `.tar.gz` (gunzip, then tar.ts's TarReader, as a stream), within a
// budget of bytes unpacked (tar.ts DEFAULT_MAX_UNPACKED, or the caller's). No file is held whole here.
import { closeSync, constants, createReadStream, fstatSync, lstatSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { DEFAULT_MAX_UNPACKED, keepingSink, TarError, TarReader, type EntrySink, type PackFile } from "./tar.js";

export class PackReadError extends Error {}

/** Where a pack's files go as they are read: a sink for each, by its name relative to the pack. */
export type FileSinks = (name: string) => EntrySink;

export interface ReadPackOptions {
  /** the most bytes the pack's files may come to (DEFAULT_MAX_UNPACKED when absent) */
  maxUnpacked?: number;
}

/** What a pack over the budget is told: the budget, and how to give a larger one. */
function overBudget(max: number): string {
  const size = max >= 1024 ** 3 ? `${(max / 1024 ** 3).toFixed(1)} GiB` : max >= 1024 ** 2 ? `${(max / 1024 ** 2).toFixed(1)} MiB` : `${max} bytes`;
  return `it unpacks to more than ${max} bytes (${size}), the most read (\`covenant evidence verify --max-unpacked\` allows more)`;
}

const READ_CHUNK = 1024 * 1024;

function openRegular(path: string): { fd: number; size: number } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new PackReadError(`${path} is not a regular file`);
  }
  return { fd, size: st.size };
}

/** One file of a pack's directory, in chunks, to its sink: never more than it was when opened, nor more than the budget left. */
function readFile(path: string, sink: EntrySink, budget: { left: number; max: number }): void {
  const { fd, size } = openRegular(path);
  try {
    budget.left -= size;
    if (budget.left < 0) throw new PackReadError(`the pack is refused: ${overBudget(budget.max)}`);
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(size, 1)));
    for (let at = 0; at < size; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - at), null);
      if (n === 0) break;
      at += n;
      sink.write(buf.subarray(0, n));
    }
    sink.end();
  } finally {
    closeSync(fd);
  }
}

function walk(root: string, rel: string, sinks: FileSinks, budget: { left: number; max: number }): void {
  for (const name of readdirSync(join(root, rel)).sort()) {
    const relName = rel === "" ? name : `${rel}/${name}`;
    const path = join(root, relName);
    const st = lstatSync(path);
    if (st.isDirectory()) walk(root, relName, sinks, budget);
    else if (st.isFile()) readFile(path, sinks(relName), budget);
    else throw new PackReadError(`${relName} in the pack is ${st.isSymbolicLink() ? "a symbolic link" : "not a regular file"}: a pack holds only files and directories, refused`);
  }
}

/** A `.tar.gz` as a stream: gunzip, then the tar reader, counting what it unpacks to. */
async function readArchive(path: string, sinks: FileSinks, max: number): Promise<void> {
  const { fd, size } = openRegular(path);
  if (size > max) {
    closeSync(fd);
    throw new PackReadError(`${path} is ${size} bytes: ${overBudget(max)}`);
  }
  const reader = new TarReader((name) => sinks(name));
  let unpacked = 0;
  const into = new Writable({
    write(chunk: Buffer, _enc, done) {
      unpacked += chunk.length;
      try {
        if (unpacked > max) throw new TarError(overBudget(max));
        reader.push(chunk);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
  // larger pieces than the default 16 KiB: fewer passes through the tar reader and the checker
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  try {
    await pipeline(createReadStream(path, { fd, highWaterMark: READ_CHUNK }), gunzip, into);
  } catch (err) {
    if (err instanceof TarError || err instanceof PackReadError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === "string" && code.startsWith("Z_")) throw new TarError(`it is not a gzip file (${code})`);
    throw err;
  }
  reader.end();
}

/** Reads the pack at `path`, its directory or its `.tar.gz`, giving each file's bytes to `sinks(name)` as they pass. */
export async function readPackInto(path: string, sinks: FileSinks, o: ReadPackOptions = {}): Promise<void> {
  const max = o.maxUnpacked ?? DEFAULT_MAX_UNPACKED;
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    throw new PackReadError(`cannot read the pack ${path}: ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`);
  }
  try {
    if (st.isDirectory()) walk(path, "", sinks, { left: max, max });
    else if (st.isFile()) await readArchive(path, sinks, max);
    else throw new PackReadError(`the pack ${path} is neither a directory nor a .tar.gz file`);
  } catch (err) {
    if (err instanceof TarError) throw new PackReadError(`the archive ${path} is refused: ${err.message}`);
    if (err instanceof PackReadError) throw err;
    if (err instanceof Error && !("code" in err)) throw err; // the sink's own (a verdict's bound): the caller's to say
    throw new PackReadError(`cannot read the pack ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The pack's files, whole, by their names relative to it (for tests and small packs: verify streams). */
export async function readPack(path: string): Promise<PackFile[]> {
  const files: PackFile[] = [];
  await readPackInto(path, (name) => keepingSink((bytes) => files.push({ name, bytes })));
  return files;
}
