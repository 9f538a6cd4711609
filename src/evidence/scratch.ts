// A scratch file of one's own for text made now and read back later (the fleet report's parts
// that come after what they must follow: its hosts' JSON after the fleet's totals, its episodes'
// lines after its tables), when no pack directory is there to hold one beside it (`covenant hub
// report`). Made in a directory of its own under the system's temporary directory (as root, a
// TMPDIR judged first: temp-dir.ts; mkdtemp: new, 0700, a name nobody could have taken), opened
// exclusively without following links, and left nameless at once: nothing stays on disk, even if
// the process dies.
import { closeSync, constants, openSync, readSync, rmdirSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { privateTempDir } from "./temp-dir.js";
import { StagedText } from "./sinks.js";
import type { Scratch } from "./write.js";

const READ_CHUNK = 1024 * 1024;

/**
 * A new file, read and written through the descriptor returned only: made in a directory of its
 * own under the system's temporary directory (temp-dir.ts; mkdtemp: 0700, a name nobody could have taken),
 * exclusively and without following links, and its name and directory removed at once.
 */
export function namelessTemporaryFile(prefix: string): number {
  const dir = privateTempDir(prefix);
  const path = join(dir, "file");
  try {
    return openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } finally {
    rmSync(path, { force: true });
    rmdirSync(dir);
  }
}

export class TemporaryScratch implements Scratch {
  private readonly fd: number;
  private size = 0;
  private readonly staged = new StagedText((chunk) => {
    for (let at = 0; at < chunk.length; ) at += writeSync(this.fd, chunk, at);
    this.size += chunk.length;
  });

  constructor() {
    this.fd = namelessTemporaryFile("covenant-scratch-");
  }

  write(data: string | Buffer): void {
    this.staged.write(data);
  }

  /** What was written, in chunks (each valid only until the next is asked for). */
  *chunks(): Generator<Buffer> {
    this.staged.flush();
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    for (let at = 0; at < this.size; ) {
      const n = readSync(this.fd, buf, 0, Math.min(READ_CHUNK, this.size - at), at);
      if (n === 0) return;
      yield buf.subarray(0, n);
      at += n;
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}
