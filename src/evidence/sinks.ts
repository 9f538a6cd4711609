// Where a pack's files go as they are made: text written in pieces, encoded into chunks of about
// a MiB, each hashed (sha256, for the manifest) and handed on as it is full. In memory (tests, and
// a pack an in-process caller reads back) or to files (write.ts): the same bytes either way. The
// history extract and its chain are one sink (`lines`): the chain is made from the extract's
// bytes, by whoever takes them (in memory, here; to files, the compressing thread).
import { createHash, hash } from "node:crypto";
import { LineChain } from "./line-chain.js";
import type { ManifestFile } from "./manifest.js";
import type { PackFile } from "./tar.js";

/** One file of a pack being written: `write` its text in pieces, then `end` for its sha256 and size. */
export interface PackFileSink {
  write(data: string | Buffer): void;
  end(): Omit<ManifestFile, "path">;
}

/** The history extract and its public chain: `write` the extract's lines (each ending with a newline), then `end`. */
export interface LinesSink {
  write(data: string | Buffer): void;
  end(): ChainedLines;
}

/** What the extract and its chain came to. */
export interface ChainedLines {
  lines: Omit<ManifestFile, "path">;
  chain: Omit<ManifestFile, "path">;
  /** the chain's last value, hex */
  final: string;
  /** how many lines were chained */
  count: number;
}

export interface PackSink {
  /** A new file at `name` (relative, `/` between parts) */
  file(name: string): PackFileSink;
  /** The file of lines `name` and the file `chainName` of their chain from `start` (line-chain.ts) */
  lines(name: string, chainName: string, start: Buffer): LinesSink;
}

/** About how much text is gathered before it is hashed and handed on. */
export const CHUNK = 1024 * 1024;

/**
 * Gathers text into chunks and gives each to `put` (which must not keep the chunk it is given
 * past the call: it is reused). Text is encoded as it is written, into one buffer: a year's
 * extract is 325,000 lines, and holding each line's string until a chunk was full kept them alive
 * long enough to be promoted to the old generation, which grew by ~100 MB of them before it was
 * collected.
 */
export class StagedText {
  private readonly staging = Buffer.allocUnsafe(CHUNK);
  private used = 0;

  constructor(private readonly put: (chunk: Buffer) => void) {}

  write(data: string | Buffer): void {
    // a UTF-16 unit is at most 3 bytes of UTF-8: text that may not fit goes after what is staged
    const most = typeof data === "string" ? data.length * 3 : data.length;
    if (most > CHUNK - this.used) this.flush();
    if (most > CHUNK) {
      this.put(typeof data === "string" ? Buffer.from(data, "utf8") : data);
      return;
    }
    this.used += typeof data === "string" ? this.staging.write(data, this.used, "utf8") : data.copy(this.staging, this.used);
  }

  flush(): void {
    if (this.used === 0) return;
    const chunk = this.staging.subarray(0, this.used);
    this.used = 0;
    this.put(chunk);
  }
}

/** StagedText that hashes each chunk as it passes: `end` gives the file's sha256 and size; `finish` runs after the last chunk. */
export class ChunkedFile implements PackFileSink {
  private readonly staged: StagedText;
  private readonly hash = createHash("sha256");
  private bytes = 0;

  constructor(
    put: (chunk: Buffer) => void,
    private readonly finish: () => void = () => undefined,
  ) {
    this.staged = new StagedText((chunk) => {
      this.hash.update(chunk);
      this.bytes += chunk.length;
      put(chunk);
    });
  }

  write(data: string | Buffer): void {
    this.staged.write(data);
  }

  end(): Omit<ManifestFile, "path"> {
    this.staged.flush();
    this.finish();
    return { sha256: this.hash.digest("hex"), bytes: this.bytes };
  }
}

/** A pack kept in memory, its files in the order they were made. */
export class MemoryPackSink implements PackSink {
  readonly files: PackFile[] = [];

  file(name: string): PackFileSink {
    const parts: Buffer[] = [];
    return new ChunkedFile((c) => parts.push(Buffer.from(c)), () => void this.files.push({ name, bytes: Buffer.concat(parts) }));
  }

  lines(name: string, chainName: string, start: Buffer): LinesSink {
    const chainFile = this.file(chainName);
    const chain = new LineChain(start, { sha256: () => createHash("sha256"), sha256Hex: (bytes) => hash("sha256", bytes, "hex") }, (text) => chainFile.write(text), CHUNK);
    const linesFile = this.file(name);
    const staged = new StagedText((c) => {
      chain.update(c);
      linesFile.write(c);
    });
    return {
      write: (data) => staged.write(data),
      end: () => {
        staged.flush();
        const final = chain.end();
        const lines = linesFile.end();
        return { lines, chain: chainFile.end(), final, count: chain.count };
      },
    };
  }
}
