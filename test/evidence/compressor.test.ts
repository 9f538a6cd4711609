// The second thread that compresses a pack's files into their archive members as they are
// written (src/evidence/compressor.ts): what it writes is gzip of exactly the bytes it was given,
// in order, however the pieces fall in its ring of shared memory: pieces that end exactly at the
// ring's end (a bug once lost the next piece), pieces that must wrap, and several members at once.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { Compressor, CompressorError } from "../../src/evidence/compressor.ts";

const scratch = mkdtempSync(join(tmpdir(), "covenant-compressor-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Bytes that do not compress to nothing: a hash chain. */
function bytes(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  let h = createHash("sha256").update(seed).digest();
  for (let at = 0; at < n; at += 32) {
    h = createHash("sha256").update(h).digest();
    h.copy(out, at);
  }
  return out;
}

const MiB = 1024 * 1024;

describe("the compressing thread", () => {
  it("compresses every piece in order, across the ring's end, exactly at it, and past it", async () => {
    const sizes = [MiB, MiB, MiB, MiB, MiB, 3 * MiB + 7, 1, MiB - 1, 2 * MiB, 5 * MiB, 0, 777_777, MiB];
    const c = new Compressor();
    const members = [0, 1].map((i) => {
      const path = join(scratch, `member-${i}.gz`);
      return { path, fd: openSync(path, "w+", 0o600), given: [] as Buffer[], id: -1 };
    });
    for (const m of members) m.id = c.open(m.fd);
    sizes.forEach((n, i) => {
      const m = members[i % 2]!;
      const piece = bytes(n, `piece ${i}`);
      m.given.push(piece);
      c.write(m.id, piece);
    });
    for (const m of members) c.end(m.id);
    const compressed = await c.finished();
    for (const [i, m] of members.entries()) {
      closeSync(m.fd);
      const file = readFileSync(m.path);
      expect(file.length).toBe(compressed[i]);
      expect(gunzipSync(file).equals(Buffer.concat(m.given)), `member ${i}`).toBe(true);
    }
  });

  it("says so when what it writes cannot be written, rather than waiting for ever", async () => {
    const c = new Compressor();
    const path = join(scratch, "read-only.gz");
    closeSync(openSync(path, "w"));
    const fd = openSync(path, "r");
    const id = c.open(fd);
    const write = () => {
      for (let i = 0; i < 12; i++) c.write(id, bytes(MiB, `x${i}`));
      c.end(id);
    };
    let thrown: unknown;
    try {
      write();
    } catch (err) {
      thrown = err;
    }
    if (thrown === undefined) await expect(c.finished()).rejects.toThrow(/compressing the archive failed: EBADF/);
    else expect(thrown).toBeInstanceOf(CompressorError);
    closeSync(fd);
    await c.stop();
  });
});
