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

/** Text staged into a file through its descriptor and read back from it in chunks: a pack's scratch files and TemporaryScratch. */
export class FileScratch implements Scratch {
  private size = 0;
  private readonly staged: StagedText;

  /** `put` writes a whole chunk at the file's end (its errors are the caller's to word). */
  constructor(
    protected readonly fd: number,
    put: (fd: number, chunk: Buffer) => void = (f, chunk) => {
      for (let at = 0; at < chunk.length; ) at += writeSync(f, chunk, at);
    },
  ) {
    this.staged = new StagedText((chunk) => {
      put(fd, chunk);
      this.size += chunk.length;
    });
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
}

/** A scratch file of its own, nameless under the judged temporary directory; closed by its owner. */
export class TemporaryScratch extends FileScratch {
  constructor() {
    super(namelessTemporaryFile("covenant-scratch-"));
  }

  close(): void {
    closeSync(this.fd);
  }
}
