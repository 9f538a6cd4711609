// The second thread that compresses a pack's files into their archive members as they are
// written (src/evidence/compressor.ts): what it writes is gzip of exactly the bytes it was given,
// in order, however the pieces fall in its ring of shared memory: pieces that end exactly at the
// ring's end (a bug once lost the next piece), pieces that must wrap, and several members at once;
// and the history extract it writes, hashes and chains itself, whatever pieces its lines come in.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash, hash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { Compressor, CompressorError } from "../../src/evidence/compressor.ts";
import { LineChain } from "../../src/evidence/line-chain.ts";

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

/** The chain as docs/evidence.md defines it, line by line: h0 = sha256(label), h_i = sha256(h_(i-1) ‖ line i). */
function chainOf(lines: readonly string[]): { text: string; final: string } {
  let h = createHash("sha256").update("covenant evidence chain v1").digest();
  let text = "";
  for (const line of lines) {
    h = createHash("sha256").update(h).update(line, "utf8").digest();
    text += `${h.toString("hex")}\n`;
  }
  return { text, final: h.toString("hex") };
}

/** Lines of JSON of many lengths, some long (past a chunk), some not ASCII. */
function extractLines(n: number): string[] {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ seq: i + 1, body: "x".repeat((i * 7919) % 3000), note: i % 5 === 0 ? "é😀" : "", big: i % 997 === 1 ? "y".repeat(1_500_000) : "" }));
}

describe("the extract on the compressing thread", () => {
  const start = createHash("sha256").update("covenant evidence chain v1").digest();

  it("writes, hashes and chains the extract's lines whatever pieces they come in, with their members", async () => {
    const lines = extractLines(3000);
    const text = Buffer.from(lines.map((l) => `${l}\n`).join(""), "utf8");
    const c = new Compressor();
    const paths = ["lines", "lines.gz", "chain", "chain.gz"].map((n) => join(scratch, `extract-${n}`));
    const [file, member, chainFile, chainMember] = paths.map((p) => openSync(p, "w+", 0o600)) as [number, number, number, number];
    const ids = c.openLines({ member, file, label: paths[0]!, chain: { member: chainMember, file: chainFile, label: paths[2]! }, start });
    // pieces that cut lines (and UTF-8 characters) anywhere, some larger than the ring's half
    for (let at = 0, i = 0; at < text.length; i++) {
      const size = [1, 13, 65_537, 3 * MiB, 700][i % 5]!;
      c.write(ids.lines, text.subarray(at, at + size));
      at += size;
    }
    const made = c.endLines(ids.lines);
    const expected = chainOf(lines);
    expect(made.count).toBe(lines.length);
    expect(made.final).toBe(expected.final);
    expect(made.lines).toEqual({ sha256: createHash("sha256").update(text).digest("hex"), bytes: text.length });
    expect(made.chain).toEqual({ sha256: createHash("sha256").update(expected.text).digest("hex"), bytes: Buffer.byteLength(expected.text) });
    const compressed = await c.finished();
    for (const fd of [file, member, chainFile, chainMember]) closeSync(fd);
    expect(readFileSync(paths[0]!).equals(text)).toBe(true);
    expect(readFileSync(paths[2]!, "utf8")).toBe(expected.text);
    expect(gunzipSync(readFileSync(paths[1]!)).equals(text)).toBe(true);
    expect(gunzipSync(readFileSync(paths[3]!)).toString("utf8")).toBe(expected.text);
    expect(compressed[ids.lines]).toBe(statSync(paths[1]!).size);
    expect(compressed[ids.chain]).toBe(statSync(paths[3]!).size);
  });

  it("names the extract's file it cannot write, rather than waiting for ever", async () => {
    const c = new Compressor();
    const path = join(scratch, "read-only-extract");
    closeSync(openSync(path, "w"));
    const file = openSync(path, "r");
    const [member, chainFile, chainMember] = ["m", "c", "cm"].map((n) => openSync(join(scratch, `ro-${n}`), "w+", 0o600)) as [number, number, number];
    const ids = c.openLines({ member, file, label: path, chain: { member: chainMember, file: chainFile, label: "chain" }, start });
    let thrown: unknown;
    try {
      for (let i = 0; i < 12; i++) c.write(ids.lines, Buffer.from(`${"z".repeat(MiB)}\n`));
      c.endLines(ids.lines);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CompressorError);
    expect(thrown).toMatchObject({ file: path, message: "EBADF" });
    await c.stop();
    for (const fd of [file, member, chainFile, chainMember]) closeSync(fd);
  });
});

describe("the extract's chain made from its bytes", () => {
  const hashing = { sha256: () => createHash("sha256"), sha256Hex: (b: Uint8Array) => hash("sha256", b, "hex") };

  it("is the chain of its lines, whatever pieces they come in, and refuses a last line without its newline", () => {
    const lines = extractLines(150);
    const text = Buffer.from(lines.map((l) => `${l}\n`).join(""), "utf8");
    const expected = chainOf(lines);
    for (const size of [1, 3, 64, 4096, 1_000_003, text.length]) {
      const given: Buffer[] = [];
      const chain = new LineChain(createHash("sha256").update("covenant evidence chain v1").digest(), hashing, (t) => given.push(t), 4096);
      for (let at = 0; at < text.length; at += size) chain.update(text.subarray(at, at + size));
      expect(chain.end(), String(size)).toBe(expected.final);
      expect(chain.count).toBe(lines.length);
      expect(Buffer.concat(given).toString("utf8"), String(size)).toBe(expected.text);
    }
    const cut = new LineChain(Buffer.alloc(32), hashing, () => undefined, 4096);
    cut.update(Buffer.from("{}\n{"));
    expect(() => cut.end()).toThrow(/no newline/);
  });
});
