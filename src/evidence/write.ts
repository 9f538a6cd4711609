// Writes a pack as it is made: the directory PACK (new, or empty and the caller's own), each file
// streamed in chunks to a new file under a random name nobody can have planted (created
// exclusively, never through a link, owner-only) and linked into place whole when it ends; then
// PACK.tar.gz beside it, streamed from those files through the tar writer and gzip, created the
// same way. No file is ever held in memory whole. A name already taken is never overwritten.
import { randomBytes } from "node:crypto";
import { closeSync, constants, createWriteStream, fstatSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { ChunkedFile, type PackFileSink, type PackSink } from "./sinks.js";
import { GZIP_LEVEL, tarBlocks, TarError, type TarSource } from "./tar.js";

export class PackWriteError extends Error {}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message;
}

/** The pack's directory, made now (true), or one that exists, is empty, is a real directory (not a link) and is the caller's alone. */
function packDirectory(dir: string): boolean {
  try {
    mkdirSync(dir, { mode: 0o700 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new PackWriteError(`cannot make the pack's directory ${dir}: ${describe(err)}`);
  }
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new PackWriteError(`${dir} exists and is not a directory: choose another --out`);
  if (st.uid !== process.geteuid?.()) throw new PackWriteError(`${dir} exists and belongs to uid ${st.uid}, not to this user: choose another --out (a pack is never written into a directory someone else controls)`);
  if (st.mode & 0o022) throw new PackWriteError(`${dir} exists and others can write into it: choose another --out`);
  if (readdirSync(dir).length > 0) throw new PackWriteError(`${dir} exists and is not empty: choose another --out (a pack is never mixed with other files)`);
  return false;
}

/** A new file under a random name beside `path`, created exclusively, never through a link, owner-only. */
function openTemporary(path: string): { tmp: string; fd: number } {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString("hex")}.tmp`);
  try {
    return { tmp, fd: openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600) };
  } catch (err) {
    throw new PackWriteError(`cannot write ${path}: ${describe(err)}`);
  }
}

/** Puts the finished temporary file at `path`, whole, unless something is already there. */
function linkIntoPlace(tmp: string, path: string): void {
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new PackWriteError(`cannot write ${path}: something appeared there while the pack was written; the pack is not complete`);
    throw new PackWriteError(`cannot write ${path}: ${describe(err)}`);
  } finally {
    rmSync(tmp, { force: true });
  }
}

function writeAll(fd: number, chunk: Buffer, path: string): void {
  try {
    for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
  } catch (err) {
    throw new PackWriteError(`cannot write ${path}: ${describe(err)}`);
  }
}

/** The directories every pack has, empty or not: the reports go under `reports/`. */
const PACK_DIRS = ["reports"];

const READ_CHUNK = 1024 * 1024;

/** A pack being written to its directory: each file as a sink (writePackTo), then `archive()` for PACK.tar.gz. */
export class PackDirectory implements PackSink {
  readonly dir: string;
  readonly archivePath: string;
  private readonly made: Set<string>;
  private readonly madeDir: boolean;
  private readonly written: { name: string; size: number }[] = [];

  /** Checks that neither PACK.tar.gz exists nor PACK holds anything, and makes PACK. */
  constructor(out: string) {
    this.dir = resolve(out.replace(/\/+$/, ""));
    this.archivePath = `${this.dir}.tar.gz`;
    try {
      lstatSync(this.archivePath);
      throw new PackWriteError(`${this.archivePath} exists: choose another --out (a pack is never written over another)`);
    } catch (err) {
      if (err instanceof PackWriteError) throw err;
    }
    this.madeDir = packDirectory(this.dir);
    this.made = new Set([this.dir]);
    for (const d of PACK_DIRS) this.makeDirs(`${d}/`);
  }

  /** A pack that failed as it was written: what was written of it is removed (its directory too, when this made it). */
  abandon(): void {
    for (const name of readdirSync(this.dir)) rmSync(join(this.dir, name), { recursive: true, force: true });
    if (this.madeDir) rmSync(this.dir, { recursive: true, force: true });
  }

  private makeDirs(name: string): void {
    const parts = name.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = join(this.dir, ...parts.slice(0, i));
      if (this.made.has(d)) continue;
      try {
        mkdirSync(d, { mode: 0o700 });
      } catch (err) {
        throw new PackWriteError(`cannot make ${d}: ${describe(err)}`);
      }
      this.made.add(d);
    }
  }

  file(name: string): PackFileSink {
    this.makeDirs(name);
    const path = join(this.dir, ...name.split("/"));
    const { tmp, fd } = openTemporary(path);
    let size = 0;
    let open = true;
    const close = () => {
      if (open) closeSync(fd);
      open = false;
    };
    return new ChunkedFile(
      (chunk) => {
        try {
          writeAll(fd, chunk, path);
        } catch (err) {
          close();
          rmSync(tmp, { force: true });
          throw err;
        }
        size += chunk.length;
      },
      () => {
        close();
        linkIntoPlace(tmp, path);
        this.written.push({ name, size });
      },
    );
  }

  /** A file written, read back in chunks as the archive takes them: it must still be the regular file of the size written. */
  private source(f: { name: string; size: number }): TarSource {
    const path = join(this.dir, ...f.name.split("/"));
    return {
      name: f.name,
      size: f.size,
      *chunks() {
        const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
        try {
          const st = fstatSync(fd);
          if (!st.isFile() || st.size !== f.size) throw new TarError(`${f.name} changed after it was written`);
          for (;;) {
            const buf = Buffer.allocUnsafe(READ_CHUNK);
            const n = readSync(fd, buf, 0, READ_CHUNK, null);
            if (n === 0) return;
            yield buf.subarray(0, n);
          }
        } finally {
          closeSync(fd);
        }
      },
    };
  }

  /** PACK.tar.gz, streamed from the files written (tar.ts, then gzip at a fixed level: the same files make the same bytes). */
  async archive(createdAt: Date): Promise<string> {
    const { tmp, fd } = openTemporary(this.archivePath);
    const blocks = tarBlocks(basename(this.dir), this.written.map((f) => this.source(f)), Math.floor(createdAt.getTime() / 1000), PACK_DIRS);
    try {
      await pipeline(Readable.from(blocks, { objectMode: false }), createGzip({ level: GZIP_LEVEL, chunkSize: 256 * 1024 }), createWriteStream(tmp, { fd }));
    } catch (err) {
      rmSync(tmp, { force: true });
      if (err instanceof TarError) throw new PackWriteError(`cannot write ${this.archivePath}: ${err.message}`);
      throw new PackWriteError(`cannot write ${this.archivePath}: ${describe(err)}`);
    }
    linkIntoPlace(tmp, this.archivePath);
    return this.archivePath;
  }
}
