// A verifier's spill file: the bytes of a file it cannot check yet (a fleet pack's records that
// an archive gives before the chain that vouches for them), kept on disk rather than in memory
// and read back a line at a time when the file they are checked against comes. One file for the
// whole pack, appended to, each spilled file a region of it; made in a directory of its own under
// the system's temporary directory (scratch.ts namelessTemporaryFile; as root, under a TMPDIR
// judged first: temp-dir.ts; mkdtemp: new, 0700, a name nobody could have taken), opened
// exclusively without following links, and left nameless at once: nothing stays on disk, even if
// the process dies.
import { closeSync, ftruncateSync, readSync, writeSync } from "node:fs";
import { namelessTemporaryFile } from "./scratch.js";
import { PackTooLargeError } from "./verify.js";

const READ = 256 * 1024;

/** A region of the spill file: where a spilled file's bytes start, and how many. */
export interface Spilled {
  at: number;
  bytes: number;
}

/**
 * The most the spill file holds at once. Covenant's archives give each host's chain before its
 * records, and a region is given back once checked, so it holds one host's chain at a time (a year
 * at every 5 minutes: ~16 MB); an archive in another order holds a host's records (a busy host's
 * year: ~0.4 GB). Only a crafted order (every host's records before any chain) holds more: without
 * a bound, a few megabytes of gzip could fill the temporary directory (often memory, as tmpfs).
 */
export const MAX_SPILL = 4 * 1024 ** 3;

export class SpillFile {
  private fd: number | undefined;
  private size = 0;

  /** `why`: what holding more than `max` says of the pack (the fleet's: its entries' order). */
  constructor(
    private readonly max = MAX_SPILL,
    private readonly why = "each host's chain.jsonl should come before its history.jsonl in the archive, as Covenant writes them (an archive that gives every host's records before any chain is not one Covenant makes)",
  ) {}

  private open(): number {
    if (this.fd !== undefined) return this.fd;
    this.fd = namelessTemporaryFile("covenant-verify-");
    return this.fd;
  }

  /** A new region, written to as its file passes. */
  region(): { write(chunk: Buffer): void; spilled: Spilled } {
    const spilled: Spilled = { at: this.size, bytes: 0 };
    return {
      spilled,
      write: (chunk) => {
        if (this.size + chunk.length > this.max) throw new PackTooLargeError(`the verifier would keep more than ${this.max} bytes of the pack's files in its temporary file at once: ${this.why}`);
        const fd = this.open();
        for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done, chunk.length - done, this.size + done);
        this.size += chunk.length;
        spilled.bytes += chunk.length;
      },
    };
  }

  /** The lines of a region, one at a time (a last line without its newline is a line). */
  lines(r: Spilled, maxLine: number): SpillLines {
    return new SpillLines(r.bytes === 0 ? -1 : this.open(), r, maxLine);
  }

  /** Bytes of a region from `offset` into it, into `buf` (as many as fit and the region holds); how many. */
  readAt(r: Spilled, offset: number, buf: Buffer): number {
    const n = Math.min(buf.length, r.bytes - offset);
    if (n <= 0) return 0;
    let done = 0;
    while (done < n) {
      const k = readSync(this.open(), buf, done, n - done, r.at + offset + done);
      if (k === 0) throw new Error("the verifier's spill file ended early");
      done += k;
    }
    return n;
  }

  /** A region checked and no longer needed: when it is the file's last, the file gives its bytes back. */
  release(r: Spilled): void {
    if (this.fd === undefined || r.at + r.bytes !== this.size) return;
    ftruncateSync(this.fd, r.at);
    this.size = r.at;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export class SpillLines {
  private at: number;
  private readonly end: number;
  private buf = Buffer.alloc(0);

  constructor(
    private readonly fd: number,
    r: Spilled,
    private readonly maxLine: number,
  ) {
    this.at = r.at;
    this.end = r.at + r.bytes;
  }

  /** The next line, or undefined at the region's end. */
  next(): string | undefined {
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl !== -1) {
        const line = this.buf.subarray(0, nl).toString("utf8");
        this.buf = this.buf.subarray(nl + 1);
        return line;
      }
      if (this.at >= this.end) {
        if (this.buf.length === 0) return undefined;
        const line = this.buf.toString("utf8");
        this.buf = Buffer.alloc(0);
        return line;
      }
      if (this.buf.length > this.maxLine) throw new PackTooLargeError(`a line longer than ${this.maxLine} bytes: not a pack Covenant makes`);
      const chunk = Buffer.allocUnsafe(Math.min(READ, this.end - this.at));
      const n = readSync(this.fd, chunk, 0, chunk.length, this.at);
      if (n === 0) throw new Error("the verifier's spill file ended early");
      this.at += n;
      this.buf = this.buf.length === 0 ? chunk.subarray(0, n) : Buffer.concat([this.buf, chunk.subarray(0, n)]);
    }
  }

  /** How many lines are left (the rest read and counted). */
  rest(each: (line: string) => void = () => undefined): void {
    for (let l = this.next(); l !== undefined; l = this.next()) each(l);
  }
}
