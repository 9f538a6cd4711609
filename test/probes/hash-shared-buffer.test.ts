// The shared hashing buffer (src/probes/files.ts), made at the first hash: bytes of one file
// never reach another's digest or content, however hashes interleave (a large one holding the
// buffer across reads, one aborted mid-way, a file growing while read, small ones between).
import { createHash } from "node:crypto";
import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { hash } from "../../src/probes/files.ts";

const dir = mkdtempSync(join(tmpdir(), "covenant-hash-buffer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");

function file(name: string, bytes: number, fill: number): { path: string; digest: string; data: Buffer } {
  const data = Buffer.alloc(bytes, fill);
  for (let i = 0; i < bytes; i += 997) data[i] = (i * 31 + fill) & 0xff;
  const path = join(dir, name);
  writeFileSync(path, data);
  return { path, digest: sha(data), data };
}

describe("the shared hashing buffer", () => {
  it("keeps each file's bytes its own while a large hash, an aborted hash and small hashes interleave", async () => {
    const big = Buffer.alloc(5 << 20, 0x41);
    const bigPath = join(dir, "big");
    writeFileSync(bigPath, big);
    const smalls = Array.from({ length: 40 }, (_, i) => {
      const p = join(dir, `s${i}`);
      const body = Buffer.from(`secret-${i}-`.repeat(100 + i));
      writeFileSync(p, body);
      return { p, body };
    });
    const abort = { aborted: false };
    const growPath = join(dir, "grow");
    writeFileSync(growPath, "g".repeat(1000));
    const bigP = hash(bigPath, "sha256"); // holds the shared buffer across awaits
    const abortedP = hash(bigPath, "sha256", { signal: abort });
    setImmediate(() => (abort.aborted = true));
    const growP = hash(growPath, "sha256", { keepUpTo: 1 << 20 });
    appendFileSync(growPath, "G".repeat(200_000));
    const rs = await Promise.all(smalls.map(async ({ p }, i) => (i % 3 === 0 ? await new Promise((r) => setImmediate(r)) : undefined, hash(p, "sha256", { keepUpTo: 1 << 20 }))));
    rs.forEach((r, i) => {
      expect(r.ok && r.value.digest).toBe(sha(smalls[i]!.body));
      expect(r.ok && r.value.content?.equals(smalls[i]!.body)).toBe(true);
    });
    const b = await bigP;
    expect(b.ok && b.value.digest).toBe(sha(big));
    await abortedP;
    const g = await growP;
    if (g.ok && g.value.content) expect(g.value.digest).toBe(sha(g.value.content));
    // and afterwards the shared buffer is free and clean for the next small file
    const last = await hash(smalls[0]!.p, "sha256", { keepUpTo: 1 << 20 });
    expect(last.ok && last.value.content?.equals(smalls[0]!.body)).toBe(true);
  });

  it("gives each of many concurrent hashes its own bytes, with failures and aborts among them", async () => {
    const big = Array.from({ length: 6 }, (_, i) => file(`big-${i}`, 3 * (1 << 20) + i * 4099, i + 1));
    const small = Array.from({ length: 6 }, (_, i) => file(`small-${i}`, 100 + i * 1000, 0x40 + i));
    for (let round = 0; round < 3; round++) {
      const aborted = new AbortController();
      const work = [
        ...big.map((f) => hash(f.path, "sha256")),
        hash(join(dir, "missing"), "sha256"),
        hash(dir, "sha256"),
        hash(big[0]!.path, "sha256", { signal: aborted.signal }),
        hash(big[1]!.path, "sha256", { maxBytes: 10 }),
        ...small.map((f) => hash(f.path, "sha256", { keepUpTo: 1 << 20 })),
      ];
      aborted.abort();
      const results = await Promise.all(work);
      big.forEach((f, i) => expect(results[i]).toMatchObject({ ok: true, value: { digest: f.digest, bytes: f.data.length } }));
      expect(results[big.length]!.ok).toBe(false);
      expect(results[big.length + 1]!.ok).toBe(false);
      expect(results[big.length + 3]!.ok).toBe(false);
      const kept = results.slice(big.length + 4);
      // every content a copy: still the file's bytes after every other hash has used the buffer
      await Promise.all(big.map((f) => hash(f.path, "sha256")));
      kept.forEach((r, i) => {
        expect(r).toMatchObject({ ok: true, value: { digest: small[i]!.digest } });
        const content = (r as { value: { content: Buffer } }).value.content;
        expect(content.equals(small[i]!.data)).toBe(true);
        expect(content.buffer.byteLength).toBeLessThan(1 << 20);
      });
    }
  });

  it("closes the file when a hash's own buffer cannot be made (out of memory)", async () => {
    const big = file("held", 3 << 20, 7);
    const other = file("other", 2000, 9);
    const fds = () => readdirSync("/proc/self/fd").length;
    const before = fds();
    // the first hash holds the shared buffer across its reads; the second needs one of its own
    const held = hash(big.path, "sha256");
    const real = Buffer.allocUnsafe.bind(Buffer);
    const spy = vi.spyOn(Buffer, "allocUnsafe").mockImplementation((size: number) => {
      if (size === 1 << 20) throw new RangeError("Array buffer allocation failed");
      return real(size);
    });
    try {
      expect(await hash(other.path, "sha256")).toMatchObject({ ok: false });
    } finally {
      spy.mockRestore();
    }
    expect(await held).toMatchObject({ ok: true, value: { digest: big.digest } });
    expect(fds()).toBe(before);
  });
});
