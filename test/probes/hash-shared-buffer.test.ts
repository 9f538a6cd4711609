// The shared hashing buffer (src/probes/files.ts), made at the first hash: bytes of one file
// never reach another's digest or content, however hashes interleave (a large one holding the
// buffer across reads, one aborted mid-way, a file growing while read, small ones between).
import { createHash } from "node:crypto";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hash } from "../../src/probes/files.ts";

const dir = mkdtempSync(join(tmpdir(), "covenant-hash-buffer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

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
});
