// Where a pack's files go as they are made: text written in pieces, gathered into chunks of about
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

/** About how much text is gathered before it is encoded, hashed and handed on. */
const CHUNK = 1024 * 1024;

/** Gathers text into chunks, hashes each, and gives it to `put`; `finish` runs after the last. */
export class ChunkedFile implements PackFileSink {
  private pending: string[] = [];
  private pendingLength = 0;
  private readonly hash = createHash("sha256");
  private bytes = 0;

  constructor(
    private readonly put: (chunk: Buffer) => void,
    private readonly finish: () => void = () => undefined,
  ) {}

  write(data: string | Buffer): void {
    if (typeof data !== "string") {
      this.flush();
      this.take(data);
      return;
    }
    this.pending.push(data);
    this.pendingLength += data.length;
    if (this.pendingLength >= CHUNK) this.flush();
  }

  end(): Omit<ManifestFile, "path"> {
    this.flush();
    this.finish();
    return { sha256: this.hash.digest("hex"), bytes: this.bytes };
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const chunk = Buffer.from(this.pending.join(""), "utf8");
    this.pending = [];
    this.pendingLength = 0;
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
    return new ChunkedFile((c) => parts.push(c), () => void this.files.push({ name, bytes: Buffer.concat(parts) }));
  }
}
