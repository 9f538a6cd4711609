// Attacks on `covenant evidence verify` with crafted archives: a few kilobytes of gzip that unpack
// to millions of lines. Each must be judged within bounded memory (the problems listed, not one
// kept for every line) and in bounded time. Real archives, read as verify reads them.
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_LINE_PROBLEMS } from "../../src/evidence/extract-check.ts";
import { FleetPackChecker } from "../../src/evidence/fleet-verify.ts";
import { readPackInto } from "../../src/evidence/read.ts";
import { writeTarGz } from "../../src/evidence/tar.ts";
import { PackChecker } from "../../src/evidence/verify.ts";
import { generateSigningKey } from "../../src/store/signing-key.ts";

const scratch = mkdtempSync(join(tmpdir(), "covenant-attack-bombs-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const key = generateSigningKey();

/** The heap used after a collection, when the test runs with --expose-gc (else as it is). */
function heap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

describe("a host's pack whose extract is millions of empty lines", () => {
  it("lists at most MAX_LINE_PROBLEMS of its line problems and counts the rest, without a problem kept per line", async () => {
    const lines = 3_000_000;
    const bomb = join(scratch, "newlines.tar.gz");
    // the chain first, as Covenant writes it: its one value matches no line
    writeFileSync(bomb, writeTarGz("pack", [{ name: "history.chain", bytes: Buffer.from(`${"0".repeat(64)}\n`) }, { name: "history.jsonl", bytes: Buffer.alloc(lines, 0x0a) }], 0));
    expect(statSync(bomb).size).toBeLessThan(16 * 1024);
    const checker = new PackChecker(key.publicKey);
    const before = heap();
    let peak = 0;
    await readPackInto(bomb, (name) => {
      const inner = checker.file(name);
      return { write: (c) => (inner.write(c), (peak = Math.max(peak, process.memoryUsage().heapUsed))), end: () => inner.end() };
    });
    // a problem object for each of 3,000,000 lines was ~600 MB
    expect(peak - before).toBeLessThan(96 * 1024 * 1024);
    const fake = { format: "covenant-evidence-pack/1", extract: { first: null, last: null, count: 0, head: null, chain: { final: "" } } };
    const problems = (checker as unknown as { extract: { problems(m: unknown): { message: string }[] } }).extract.problems(fake);
    const lineProblems = problems.filter((p) => /^(record \d+ \()?line \d+/.test(p.message));
    expect(lineProblems.length).toBe(MAX_LINE_PROBLEMS);
    expect(lineProblems[0]!.message).toMatch(/^line 1 is not the one that was signed/);
    expect(lineProblems[1]!.message).toBe("line 1 is not a record (a JSON object)");
    expect(problems.some((p) => p.message === `and ${lines * 1 + 1 - MAX_LINE_PROBLEMS} more line problems not listed (the first ${MAX_LINE_PROBLEMS} are)`)).toBe(true);
    expect(problems.some((p) => p.message === `the extract holds ${lines} records; the manifest says 0`)).toBe(true);
  }, 120_000);

  it("keeps the forward jumps a prune explains out of the list, and those it does not in line order, however many", async () => {
    const checker = new PackChecker(key.publicKey);
    const chain = checker.file("history.chain");
    chain.end();
    const history = checker.file("history.jsonl");
    // records 1, 3, 5, ... 999 (jumps a prune below 1000 explains), then 1001, 1002, 1004 (a jump it does not), then "x"
    const seqs = [...Array.from({ length: 500 }, (_, i) => 2 * i + 1), 1001, 1002, 1004];
    history.write(Buffer.from(seqs.map((s) => JSON.stringify({ seq: s, mac: "m" })).join("\n") + "\nx\n"));
    history.end();
    const extract = (checker as unknown as { extract: { problems(m: unknown): { message: string; record?: number }[] } }).extract;
    const m = { extract: { first: 1, last: 1004, count: 504, head: null, chain: { final: "" }, pruned: { cut: 1000, at: "", before: "" } } };
    const listed = extract.problems(m).filter((p) => / follows record | is not a record/.test(p.message));
    expect(listed.map((p) => p.message)).toEqual(["record 1004 (line 503) follows record 1002: record numbers must be consecutive (expected 1003)", "line 504 is not a record (a JSON object)"]);
  });
});

describe("a fleet pack whose host chain jumps at every entry", () => {
  it("is judged with its jumps as numbers, the first wrong one named", async () => {
    const checker = new FleetPackChecker(key.publicKey);
    const host = "hosts/00000000-0000-0000-0000-000000000001";
    const chain = checker.file(`${host}/chain.jsonl`);
    const entries = 400_000;
    chain.write(Buffer.from(`${JSON.stringify({ before: null })}\n`));
    const piece: string[] = [];
    for (let i = 0; i < entries; i++) {
      piece.push(JSON.stringify({ seq: 1 + 2 * i, chain: "" }));
      if (piece.length === 10_000) chain.write(Buffer.from(`${piece.splice(0).join("\n")}\n`));
    }
    chain.end();
    const files = (checker as unknown as { host(dir: string): { problems(m: unknown): { message: string; record?: number }[] } }).host(host);
    const problems = files.problems({ id: "", extract: { first: 1, last: 1 + 2 * (entries - 1), count: entries, before: "", final: "", prunedTo: 100 } });
    expect(problems.find((p) => / follows record /.test(p.message))).toEqual({ file: `${host}/history.jsonl`, record: 103, message: "record 103 follows record 101: the records are not consecutive" });
    checker.close();
  });
});

describe("evidence verify's spill file, as root, in a TMPDIR another user controls", () => {
  it.runIf(process.geteuid?.() === 0)("is refused (exit 2, said): they could move root's new directory away and put a link in its place", async () => {
    const { chmodSync, chownSync, mkdirSync } = await import("node:fs");
    const { covenant, ensureBuilt } = await import("../helpers/cli.ts");
    ensureBuilt();
    const pub = join(scratch, "hub.pub.pem");
    writeFileSync(pub, key.publicKey.export({ type: "spki", format: "pem" }));
    // a host's chain, the first of its two files: spilled as it passes
    const pack = join(scratch, "fleet.tar.gz");
    writeFileSync(pack, writeTarGz("pack", [{ name: "hosts/00000000-0000-0000-0000-000000000001/chain.jsonl", bytes: Buffer.from('{"before":null}\n') }], 0));
    const tmp = join(scratch, "their-tmp");
    mkdirSync(tmp, { mode: 0o777 });
    chmodSync(scratch, 0o755);
    chownSync(tmp, 65534, 65534);
    const r = covenant(["evidence", "verify", pack, "--public-key", pub], { env: { TMPDIR: tmp } });
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/the temporary directory .*their-tmp is owned by uid 65534, not root: as root, Covenant makes its temporary files only where no other user can move them/);
    // the same pack with the system's /tmp (sticky): read, and judged (not intact: no manifest)
    expect(covenant(["evidence", "verify", pack, "--public-key", pub]).code).toBe(1);
  }, 60_000);
});

describe("a fleet pack whose entries are ordered to maximise the verifier's spill", () => {
  const hostDir = (n: number) => `hosts/00000000-0000-0000-0000-${String(n).padStart(12, "0")}`;
  const records = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => JSON.stringify({ seq: i + 1, pad: "x".repeat(200) })).join("\n") + "\n");
  const feed = (checker: FleetPackChecker, name: string, bytes: Buffer) => {
    const sink = checker.file(name);
    for (let at = 0; at < bytes.length; at += 64 * 1024) sink.write(bytes.subarray(at, at + 64 * 1024));
    sink.end();
  };

  it("is refused once the spill would hold more than its bound at once (every host's records before any chain)", () => {
    const checker = new FleetPackChecker(key.publicKey, { maxSpill: 1024 * 1024 });
    const history = records(3000); // ~640 KB a host
    feed(checker, `${hostDir(1)}/history.jsonl`, history);
    expect(() => feed(checker, `${hostDir(2)}/history.jsonl`, history)).toThrow(/would keep more than 1048576 bytes of the pack's files in its temporary file at once: each host's chain\.jsonl should come before its history\.jsonl/);
    checker.close();
  });

  it("gives each host's spilled file back once checked: hosts one after another, in either order of their two files, stay within the bound", () => {
    const checker = new FleetPackChecker(key.publicKey, { maxSpill: 1024 * 1024 });
    const history = records(3000);
    const chain = Buffer.from([JSON.stringify({ before: null }), ...Array.from({ length: 3000 }, (_, i) => JSON.stringify({ seq: i + 1, chain: "0".repeat(64), pad: "y".repeat(150) }))].join("\n") + "\n");
    for (let h = 1; h <= 6; h++) {
      const files: [string, Buffer][] = [[`${hostDir(h)}/chain.jsonl`, chain], [`${hostDir(h)}/history.jsonl`, history]];
      for (const [name, bytes] of h % 2 === 0 ? files : files.reverse()) feed(checker, name, bytes);
    }
    const verdict = checker.verdict();
    expect(verdict.intact).toBe(false); // no manifest: judged, not refused
  });
});

describe("a fleet manifest listing a huge number of hosts the pack does not hold", () => {
  it("lists the first MAX_LISTED_PROBLEMS problems and counts the rest, keeping no checker for a host it holds no file of", async () => {
    const { FLEET_PACK_FORMAT } = await import("../../src/evidence/fleet-manifest.ts");
    const { MAX_LISTED_PROBLEMS } = await import("../../src/evidence/fleet-verify.ts");
    const n = 20_000;
    const hosts = Array.from({ length: n }, (_, i) => ({ id: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`, extract: { first: 1, last: 2, count: 2, before: "", final: "x", prunedTo: null } }));
    const checker = new FleetPackChecker(key.publicKey);
    const sink = checker.file("manifest.json");
    sink.write(Buffer.from(JSON.stringify({ format: FLEET_PACK_FORMAT, files: [], hosts, policies: [], signingKey: { fingerprint: "x" }, period: {} })));
    sink.end();
    const v = checker.verdict();
    expect(v.intact).toBe(false);
    expect(v.problems).toHaveLength(MAX_LISTED_PROBLEMS + 1);
    // the signature, the key, then each host's three (count, chain end, first and last): the rest counted
    expect(v.problems.at(-1)).toEqual({ file: "manifest.json", message: `and ${2 + 3 * n - MAX_LISTED_PROBLEMS} more problems not listed (the first ${MAX_LISTED_PROBLEMS} are)` });
    expect((checker as unknown as { hosts: Map<string, unknown> }).hosts.size).toBe(0);
  });
});

describe("entry names that collide once read", () => {
  /** A one-entry-at-a-time ustar of raw names (no check of the writer's), as an attacker makes it. */
  function rawTar(entries: { name: string; type: "0" | "5"; body?: string }[]): Buffer {
    const blocks: Buffer[] = [];
    for (const e of entries) {
      const h = Buffer.alloc(512);
      const body = Buffer.from(e.body ?? "");
      h.write(e.name, 0, 100, "utf8");
      h.write("0000600\0", 100);
      h.write("0000000\0", 108);
      h.write("0000000\0", 116);
      h.write(body.length.toString(8).padStart(11, "0") + "\0", 124);
      h.write("00000000000\0", 136);
      h.fill(" ", 148, 156);
      h.write(e.type, 156);
      h.write("ustar\0", 257);
      h.write("00", 263);
      let sum = 0;
      for (const b of h) sum += b;
      h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
      blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
    return Buffer.concat([...blocks, Buffer.alloc(1024)]);
  }

  it("refuses a file given again as a directory, or under a trailing slash, and names with empty, `.` or `..` parts", async () => {
    const { TarReader } = await import("../../src/evidence/tar.ts");
    const read = (entries: Parameters<typeof rawTar>[0]) => () => new TarReader(() => ({ write: () => undefined, end: () => undefined })).push(rawTar(entries));
    expect(read([{ name: "p/", type: "5" }, { name: "p/manifest.json", type: "0", body: "{}" }, { name: "p/manifest.json/", type: "5" }])).toThrow(/appears twice/);
    expect(read([{ name: "p/", type: "5" }, { name: "p/a", type: "0", body: "1" }, { name: "p/a//", type: "0", body: "2" }])).toThrow(/appears twice/);
    for (const bad of ["p//manifest.json", "p/./manifest.json", "p/x/../manifest.json", "/p/manifest.json", "p\\manifest.json"]) expect(read([{ name: "p/", type: "5" }, { name: bad, type: "0", body: "{}" }]), bad).toThrow(/refused/);
  });
});

describe("an extract's chain values past what is kept in memory", () => {
  it("are compared from the spill file, in either order of the two files: the first line that differs named as when all are in memory", async () => {
    const { createHash } = await import("node:crypto");
    const { CHAIN_LABEL } = await import("../../src/evidence/manifest.ts");
    const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ seq: i + 1, mac: "m" }));
    let h = createHash("sha256").update(CHAIN_LABEL).digest();
    const values = lines.map((l) => (h = createHash("sha256").update(h).update(l).digest()).toString("hex"));
    values[3210] = "0".repeat(64); // line 3211 is not the one signed
    const history = Buffer.from(lines.join("\n") + "\n");
    const chain = Buffer.from(values.join("\n") + "\n");
    const m = { extract: { first: 1, last: 5000, count: 5000, head: null, chain: { final: "" } } };
    const judged = (valuesInMemory: number | undefined, historyFirst: boolean) => {
      const checker = new PackChecker(key.publicKey, valuesInMemory === undefined ? {} : { valuesInMemory });
      const files: [string, Buffer][] = [["history.chain", chain], ["history.jsonl", history]];
      for (const [name, bytes] of historyFirst ? files.reverse() : files) {
        const sink = checker.file(name);
        for (let at = 0; at < bytes.length; at += 7777) sink.write(bytes.subarray(at, at + 7777));
        sink.end();
      }
      return (checker as unknown as { extract: { problems(m: unknown): { message: string }[] } }).extract.problems(m).map((p) => p.message);
    };
    for (const historyFirst of [false, true]) {
      const whole = judged(undefined, historyFirst);
      expect(whole[0]).toMatch(/^record 3211 \(line 3211\) is not the one that was signed/);
      for (const inMemory of [0, 1000, 3210, 3211, 4999]) expect(judged(inMemory, historyFirst), `${inMemory} ${historyFirst}`).toEqual(whole);
    }
  });
});
