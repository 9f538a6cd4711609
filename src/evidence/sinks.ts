// Where a pack's files go as they are made: text written in pieces, encoded into chunks of about
// a MiB, each hashed (sha256, for the manifest) and handed on as it is full. In memory (tests, and
// a pack an in-process caller reads back) or to files (write.ts): the same bytes either way.
import { createHash } from "node:crypto";
import type { ManifestFile } from "./manifest.js";
import type { PackFile } from "./tar.js";

/** One file of a pack being written: `write` its text in pieces, then `end` for its sha256 and size. */
export interface PackFileSink {
  write(data: string | Buffer): void;
  end(): Omit<ManifestFile, "path">;
}

export interface PackSink {
  /** A new file at `name` (relative, `/` between parts) */
  file(name: string): PackFileSink;
}

/** About how much text is gathered before it is hashed and handed on. */
const CHUNK = 1024 * 1024;

/**
 * Gathers text into chunks, hashes each, and gives it to `put` (which must not keep the chunk it
 * is given past the call: it is reused); `finish` runs after the last. Text is encoded as it is
 * written, into one buffer: a year's extract is 325,000 lines, and holding each line's string
 * until a chunk was full kept them alive long enough to be promoted to the old generation, which
 * grew by ~100 MB of them before it was collected.
 */
export class ChunkedFile implements PackFileSink {
  private readonly staging = Buffer.allocUnsafe(CHUNK);
  private used = 0;
  private readonly hash = createHash("sha256");
  private bytes = 0;

  constructor(
    private readonly put: (chunk: Buffer) => void,
    private readonly finish: () => void = () => undefined,
  ) {}

  write(data: string | Buffer): void {
    // a UTF-16 unit is at most 3 bytes of UTF-8: text that may not fit goes after what is staged
    const most = typeof data === "string" ? data.length * 3 : data.length;
    if (most > CHUNK - this.used) this.flush();
    if (most > CHUNK) {
      this.take(typeof data === "string" ? Buffer.from(data, "utf8") : data);
      return;
    }
    this.used += typeof data === "string" ? this.staging.write(data, this.used, "utf8") : data.copy(this.staging, this.used);
  }

  end(): Omit<ManifestFile, "path"> {
    this.flush();
    this.finish();
    return { sha256: this.hash.digest("hex"), bytes: this.bytes };
  }

  private flush(): void {
    if (this.used === 0) return;
    const chunk = this.staging.subarray(0, this.used);
    this.used = 0;
    this.take(chunk);
  }

  private take(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.put(chunk);
  }
}

/** A pack kept in memory, its files in the order they were made. */
export class MemoryPackSink implements PackSink {
  readonly files: PackFile[] = [];

  file(name: string): PackFileSink {
    const parts: Buffer[] = [];
    return new ChunkedFile((c) => parts.push(Buffer.from(c)), () => void this.files.push({ name, bytes: Buffer.concat(parts) }));
  }
}
