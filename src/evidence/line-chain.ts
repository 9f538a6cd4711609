// The public hash chain over a pack's history extract, made from the extract's bytes as they are
// written: h0 is given (manifest.ts chainStart), h_i = sha256(h_(i-1) ‖ line i without its
// newline), and each value goes out as 64 hex digits and a newline, the text of `history.chain`.
// The extract's writer ends every line with a newline, and no line holds one (each is one line of
// JSON), so the lines are found by their newlines, whatever pieces the bytes come in.
//
// The class is self-contained (nothing from outside it but what its constructor is given, and
// Buffer): the compressing thread runs its source text (compressor-thread.ts), so that a year's
// 325,000 links (~1 s of hashing) are made beside the walk of the store, not in it. A pack kept in
// memory (sinks.ts) runs it as it is.
import type { Hash } from "node:crypto";

/** The hashing the chain is given: a sha256 hash to feed in pieces, and sha256 of bytes at once, in hex. */
export interface ChainHashing {
  sha256: () => Hash;
  sha256Hex: (bytes: Uint8Array) => string;
}

export class LineChain {
  /** h_(i-1), in hex: a string a link, no buffer (a buffer's memory lies outside the heap until it is collected) */
  private h: string;
  /** the hash of the line being read, when its bytes came in more than one piece */
  private partial: Hash | undefined;
  /** h_(i-1) and a line, side by side, hashed at once: no hash object a line */
  private readonly joined = Buffer.allocUnsafe(64 * 1024);
  /** the chain's text not yet given out */
  private out: Buffer;
  private used = 0;
  count = 0;

  /** `give`: a chunk of the chain's text, of about `chunk` bytes, which becomes the receiver's (this never touches it again). */
  constructor(
    start: Buffer,
    private readonly hashing: ChainHashing,
    private readonly give: (text: Buffer) => void,
    private readonly chunk: number,
  ) {
    this.h = start.toString("hex");
    this.out = Buffer.allocUnsafe(chunk);
  }

  /** The extract's next bytes. */
  update(bytes: Uint8Array): void {
    let from = 0;
    for (;;) {
      const nl = bytes.indexOf(10, from);
      if (nl === -1) break;
      const line = bytes.subarray(from, nl);
      if (this.partial) {
        this.link(this.partial.update(line).digest("hex"));
        this.partial = undefined;
      } else if (32 + line.length <= this.joined.length) {
        this.joined.write(this.h, 0, "hex");
        this.joined.set(line, 32);
        this.link(this.hashing.sha256Hex(this.joined.subarray(0, 32 + line.length)));
      } else this.link(this.hashing.sha256().update(this.h, "hex").update(line).digest("hex"));
      from = nl + 1;
    }
    if (from < bytes.length) {
      this.partial ??= this.hashing.sha256().update(this.h, "hex");
      this.partial.update(bytes.subarray(from));
    }
  }

  private link(h: string): void {
    this.h = h;
    this.count++;
    if (this.used + 65 > this.out.length) this.flush();
    this.used += this.out.write(h, this.used, "latin1");
    this.out[this.used++] = 10;
  }

  private flush(): void {
    if (this.used === 0) return;
    const text = this.out.subarray(0, this.used);
    this.out = Buffer.allocUnsafe(this.chunk);
    this.used = 0;
    this.give(text);
  }

  /** The chain's last value, once every line was given (a last line without its newline is refused). */
  end(): string {
    if (this.partial) throw new Error("the extract's last line has no newline");
    this.flush();
    return this.h;
  }
}
