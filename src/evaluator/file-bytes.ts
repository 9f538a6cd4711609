// Byte-level helpers of the change gate's file operations (file-changes.ts): copying with a
// digest, filling a new file, the digest of what a descriptor reads, durable renames.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, constants, fchmodSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";

/** Copies `from` to `to` and returns the digest of what was copied. */
export function copy(from: number, to: number, algorithm: "sha256" | "sha512"): string {
  const h = createHash(algorithm);
  const buf = Buffer.allocUnsafe(1 << 16);
  for (;;) {
    const n = readSync(from, buf, 0, buf.length, null);
    if (n === 0) return h.digest("hex");
    h.update(buf.subarray(0, n));
    let off = 0;
    while (off < n) off += writeSync(to, buf, off, n - off);
  }
}

/** Makes a rename in the directory durable (its descriptor is O_PATH: fsync needs a readable one). */
export function syncDirectory(dir: number): void {
  let fd: number | undefined;
  try {
    fd = openSync(`/proc/self/fd/${dir}`, constants.O_RDONLY | constants.O_DIRECTORY);
    fsyncSync(fd);
  } catch {
    // without /proc the rename is made, only not yet flushed: the next sync of the file system does it
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

// a short name of our own: the target's name may already be as long as names can be
export function tmpName(): string {
  return `.covenant-${randomBytes(8).toString("hex")}`;
}

/** Writes `content` to a new file, gives it `mode` (after its owner: chown clears set-id bits) and flushes it. */
export function fillNew(fd: number, content: string, mode: number): void {
  const bytes = Buffer.from(content, "utf8");
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
  fchmodSync(fd, mode);
  fsyncSync(fd);
}

/** The sha256 of what a descriptor reads from its start. */
export function digestOf(fd: number): string {
  const h = createHash("sha256");
  const buf = Buffer.allocUnsafe(1 << 16);
  let pos = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n === 0) return h.digest("hex");
    h.update(buf.subarray(0, n));
    pos += n;
  }
}
