// The streamed pack (issue 17's year must be made and verified within bounded memory): the files
// and archive written as they are made are the bytes the in-memory pack has, the archive read as
// a stream gives the same files, and the verdict does not depend on how the bytes are cut into
// chunks nor on the order of the extract and its chain. A real store, real files, a real key.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { buildPack, writePackTo } from "../../src/evidence/build.ts";
import { MAX_LINE } from "../../src/evidence/extract-check.ts";
import { extractLine } from "../../src/evidence/manifest.ts";
import { readPack, readPackInto } from "../../src/evidence/read.ts";
import { readTarGz, TarReader, writeTarGz, type PackFile } from "../../src/evidence/tar.ts";
import { MAX_KEPT, PackChecker, PackTooLargeError, verifyPack, type PackVerdict } from "../../src/evidence/verify.ts";
import { PackDirectory } from "../../src/evidence/write.ts";
import { periodOf } from "../../src/facts/period.ts";
import { generateSigningKey } from "../../src/store/signing-key.ts";
import { populated, removeTempDirs } from "../store/helpers.ts";

const scratch = mkdtempSync(join(tmpdir(), "covenant-stream-"));
afterAll(() => {
  removeTempDirs();
  rmSync(scratch, { recursive: true, force: true });
});

const { store } = populated(6);
const key = generateSigningKey();
const createdAt = new Date("2026-11-24T00:00:00Z");
const input = { store, period: periodOf("2026-11-23", "2026-11-23", "UTC"), timeZone: "UTC", zoneFrom: "--tz" as const, host: "ledger01", createdAt, key, reports: [{ name: "r.md", bytes: Buffer.from("# Q4\n") }] };
const built = buildPack(input);
afterAll(() => store.close());

/** The verdict on `files` fed to the checker in pieces of `size` bytes, in the order given. */
function verdictInPieces(files: readonly PackFile[], size: number): PackVerdict {
  const checker = new PackChecker(key.publicKey);
  for (const f of files) {
    const sink = checker.file(f.name);
    for (let at = 0; at < f.bytes.length; at += size) sink.write(f.bytes.subarray(at, at + size));
    sink.end();
  }
  return checker.verdict();
}

/** The record on `line` changed (its kind), and the one on `broken`, if given, cut to invalid JSON. */
function spoilLine(files: readonly PackFile[], line: number, broken?: number): PackFile[] {
  return files.map((f) => {
    if (f.name !== "history.jsonl") return f;
    const lines = f.bytes.toString("utf8").split("\n");
    lines[line] = lines[line]!.replace('"kind":"', '"kind":"x');
    if (broken !== undefined) lines[broken] = lines[broken]!.slice(0, 20);
    return { name: f.name, bytes: Buffer.from(lines.join("\n")) };
  });
}

describe("the pack written as it is made", () => {
  it("writes the files and the archive the in-memory pack has, byte for byte, owner-only", async () => {
    const out = join(scratch, "pack");
    const pack = new PackDirectory(out);
    const manifest = writePackTo(input, pack);
    const archive = await pack.archive(createdAt);
    expect(manifest).toEqual(built.manifest);
    for (const f of built.files) {
      const path = join(out, ...f.name.split("/"));
      expect(readFileSync(path).equals(f.bytes), f.name).toBe(true);
      expect(statSync(path).mode & 0o777, f.name).toBe(0o600);
    }
    expect(readdirSync(out).some((n) => n.endsWith(".tmp"))).toBe(false);
    expect(readFileSync(archive).equals(writeTarGz("pack", built.files, Math.floor(createdAt.getTime() / 1000), ["reports"]))).toBe(true);
    expect(statSync(archive).mode & 0o777).toBe(0o600);
    const back = await readPack(archive);
    expect(back.map((f) => f.name).sort()).toEqual(built.files.map((f) => f.name).sort());
    for (const f of back) expect(f.bytes.equals(built.files.find((g) => g.name === f.name)!.bytes), f.name).toBe(true);
    for (const where of [archive, out]) {
      const checker = new PackChecker(key.publicKey);
      await readPackInto(where, (name) => checker.file(name));
      expect(checker.verdict(), where).toMatchObject({ intact: true, problems: [] });
    }
  });

  it("finds the records of a period, and the last record", () => {
    const all = store.records(1, store.lastRecord()!.seq);
    expect(store.lastRecord()).toEqual({ seq: all.at(-1)!.seq, mac: all.at(-1)!.mac });
    const times = all.map((r) => Date.parse(r.time));
    expect(store.recordRangeIn(times[2]!, times.at(-2)! + 1)).toEqual({ first: all.findIndex((_, i) => times[i]! >= times[2]!) + 1, last: all.findLastIndex((_, i) => times[i]! <= times.at(-2)!) + 1 });
    expect(store.recordRangeIn(0, 1)).toBeUndefined();
  });

  it("removes what it wrote of a pack it could not finish", () => {
    const out = join(scratch, "unfinished");
    const pack = new PackDirectory(out);
    expect(() => writePackTo({ ...input, reports: [{ name: "../out", bytes: Buffer.alloc(1) }] }, pack)).toThrow(/plain relative path/);
    pack.abandon();
    expect(() => statSync(out)).toThrow(/ENOENT/);
  });

  it("splices each body's text into its line: the line JSON.stringify makes of the record", () => {
    const bodies = ['{"a":1,"b":[1.5,-0.25,"é\\u0000😀"],"c":{"10":2,"x":null}}', "[]", '"text"', "not json", '{"b":1, "a":2}', "12"];
    for (const body of bodies) {
      const r = { seq: 7, kind: "change", run: 3, time: "2026-11-23T10:00:00.000Z", body, mac: "ab".repeat(32) };
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = { unreadable: true };
      }
      const exact = JSON.stringify(parsed) === body;
      expect(extractLine(r), body).toBe(JSON.stringify({ seq: r.seq, kind: r.kind, run: r.run, time: r.time, body: parsed, ...(exact ? {} : { bodyText: body }), mac: r.mac }));
    }
  });
});

describe("the pack checked as it is read", () => {
  it("says the same whatever the size of the pieces the bytes come in", () => {
    const spoilt = spoilLine(built.files, 4);
    const whole = verifyPack(spoilt, key.publicKey);
    expect(whole.intact).toBe(false);
    expect(whole.problems.some((p) => p.file === "history.jsonl" && p.record === 5)).toBe(true);
    for (const size of [1, 7, 64, 4096]) {
      expect(verdictInPieces(built.files, size).intact, String(size)).toBe(true);
      expect(verdictInPieces(spoilt, size).problems, String(size)).toEqual(whole.problems);
    }
  });

  it("says the same whether the extract comes before its chain or after it", () => {
    const chainLast = [...built.files.filter((f) => f.name !== "history.chain"), built.files.find((f) => f.name === "history.chain")!];
    expect(verifyPack(chainLast, key.publicKey)).toMatchObject({ intact: true, problems: [] });
    for (const [line, broken] of [[0], [3], [9], [2, 5], [6, 1]] as [number, number?][]) {
      const spoilt = spoilLine(built.files, line, broken);
      const spoiltChainLast = spoilLine(chainLast, line, broken);
      expect(verifyPack(spoiltChainLast, key.publicKey).problems, String(line)).toEqual(verifyPack(spoilt, key.publicKey).problems);
    }
    // a chain cut short, one value too many, or one value malformed, in either order
    const chain = built.files.find((f) => f.name === "history.chain")!.bytes.toString("utf8");
    const values = chain.trimEnd().split("\n");
    for (const changed of [values.slice(0, -2), [...values, values[0]!], values.map((v, i) => (i === 2 ? v.toUpperCase() : v))]) {
      const bytes = Buffer.from(changed.join("\n") + "\n");
      const first = built.files.map((f) => (f.name === "history.chain" ? { name: f.name, bytes } : f));
      const last = chainLast.map((f) => (f.name === "history.chain" ? { name: f.name, bytes } : f));
      const a = verifyPack(first, key.publicKey);
      expect(a.intact).toBe(false);
      expect(verifyPack(last, key.publicKey).problems).toEqual(a.problems);
    }
  });

  it("holds no file whole but the manifest, its signature and the policies, and those within a bound", () => {
    const big = Buffer.alloc(MAX_KEPT + 1, 0x61);
    const refused = new PackChecker(key.publicKey).file("policies/abc/files/etc/x");
    expect(() => refused.write(big)).toThrow(PackTooLargeError);
    // the same bytes as a report are only hashed; as a line of the extract, chained and said too long to read
    const withBig = [...built.files.filter((f) => f.name !== "history.jsonl"), { name: "reports/big.bin", bytes: big }, { name: "history.jsonl", bytes: Buffer.concat([built.files.find((f) => f.name === "history.jsonl")!.bytes, big]) }];
    const v = verifyPack(withBig, key.publicKey);
    expect(v.problems).toEqual(expect.arrayContaining([expect.objectContaining({ file: "reports/big.bin", message: expect.stringMatching(/not listed in the manifest/) as unknown }), expect.objectContaining({ file: "history.jsonl", message: `line ${built.manifest.extract.count + 1} is longer than ${MAX_LINE} bytes: not a record Covenant writes` })]));
  });

  it("reads an archive fed a byte at a time as it reads it whole", () => {
    const gz = writeTarGz("pack", built.files, 0, ["reports"]);
    const whole = readTarGz(gz);
    const tar = gunzipSync(gz);
    const files: PackFile[] = [];
    const reader = new TarReader((name) => {
      const parts: Buffer[] = [];
      return { write: (c) => void parts.push(Buffer.from(c)), end: () => void files.push({ name, bytes: Buffer.concat(parts) }) };
    });
    for (let at = 0; at < tar.length; at++) reader.push(tar.subarray(at, at + 1));
    reader.end();
    expect(files).toEqual(whole);
    const cut = new TarReader(() => ({ write: () => undefined, end: () => undefined }));
    cut.push(tar.subarray(0, 512 * 3 + 10));
    expect(() => cut.end()).toThrow(/runs past the end of the archive/);
  });

  it("reads a pack within a budget of bytes unpacked, not of memory: a pack over it is refused, archive or directory, before it is read through", async () => {
    const { writeFileSync, mkdirSync } = await import("node:fs");
    // 64 MiB of zeros in well under 1 MiB of gzip: what a bomb does, at a size a test can afford
    const bomb = join(scratch, "bomb.tar.gz");
    const zeros = Buffer.alloc(64 * 1024 * 1024);
    writeFileSync(bomb, writeTarGz("pack", [{ name: "reports/z.bin", bytes: zeros }], 0));
    expect(statSync(bomb).size).toBeLessThan(1024 * 1024);
    let read = 0;
    const counting = () => ({ write: (c: Buffer) => void (read += c.length), end: () => undefined });
    await expect(readPackInto(bomb, counting, { maxUnpacked: 8 * 1024 * 1024 })).rejects.toThrow(/unpacks to more than 8388608 bytes \(8\.0 MiB\), the most read \(`covenant evidence verify --max-unpacked` allows more\)/);
    expect(read).toBeLessThanOrEqual(8 * 1024 * 1024);
    read = 0;
    await readPackInto(bomb, counting, { maxUnpacked: 128 * 1024 * 1024 });
    expect(read).toBe(zeros.length);
    // a directory: the files' sizes count against the same budget
    const dir = join(scratch, "big-dir");
    mkdirSync(join(dir, "reports"), { recursive: true });
    writeFileSync(join(dir, "reports", "z.bin"), Buffer.alloc(2 * 1024 * 1024));
    await expect(readPackInto(dir, counting, { maxUnpacked: 1024 * 1024 })).rejects.toThrow(/the pack is refused: it unpacks to more than 1048576 bytes/);
    await readPackInto(dir, counting);
  });
});


describe("the records of a period, found in SQL", () => {
  it("finds what Date.parse over every record finds, whatever the times and bounds", async () => {
    const { recordRangeIn } = await import("../../src/store/period-reads.ts");
    const Database = (await import("better-sqlite3")).default;
    const db = new Database(":memory:");
    db.exec("CREATE TABLE ledger (seq INTEGER PRIMARY KEY, time)");
    const times = ["2026-01-01T00:05:00.400Z", "2026-01-01T24:00:00.000Z", "2026-02-30T00:00:00.000Z", "2026-13-01T00:00:00.000Z", "0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z", "2026-01-02T00:00:00.000Z", "garbage", "2026-01-01T12:00:00Z", "2025-12-31T23:59:59.999Z", "+010000-01-01T00:00:00.000Z"];
    const insert = db.prepare("INSERT INTO ledger VALUES (?, ?)");
    times.forEach((t, i) => insert.run(i + 1, t));
    insert.run(times.length + 1, 42);
    const byParse = (start: number, end: number) => {
      const seqs = [...times, "42"].map((t, i) => ({ seq: i + 1, t: Date.parse(t) })).filter((x) => x.t >= start && x.t < end).map((x) => x.seq);
      return seqs.length === 0 ? undefined : { first: Math.min(...seqs), last: Math.max(...seqs) };
    };
    const bounds = [-8.64e15, Date.parse("0000-01-01T00:00:00.000Z"), Date.parse("2026-01-01T00:00:00.000Z"), Date.parse("2026-01-02T00:00:00.000Z"), Date.parse("2026-03-02T00:00:00.000Z"), Date.parse("9999-12-31T23:59:59.999Z"), 8.64e15];
    for (const start of bounds) for (const end of bounds) expect(recordRangeIn(db, start, end), `${start}..${end}`).toEqual(byParse(start, end));
    db.close();
  });
});

describe("where a pack may be written, as root", () => {
  it.skipIf(process.geteuid?.() !== 0)("refuses a way another user can change (their directory, or one open to its group), and removes only what it wrote", async () => {
    const { chmodSync, chownSync, mkdirSync, writeFileSync, existsSync } = await import("node:fs");
    const theirs = join(scratch, "theirs");
    mkdirSync(theirs);
    chownSync(theirs, 65534, 65534);
    expect(() => new PackDirectory(join(theirs, "q1"))).toThrow(/owned by uid 65534, not root: as root, Covenant writes a pack only where no other user can change the way to it/);
    const shared = join(scratch, "shared");
    mkdirSync(shared);
    chmodSync(shared, 0o775);
    expect(() => new PackDirectory(join(shared, "q1"))).toThrow(/writable by its group/);
    // a pack abandoned in a directory that also holds someone's file removes its own files only
    const out = join(scratch, "kept-neighbour");
    const pack = new PackDirectory(out);
    writeFileSync(join(out, "reports", "not-ours"), "x");
    expect(() => writePackTo({ ...input, reports: [{ name: "../out", bytes: Buffer.alloc(1) }] }, pack)).toThrow(/plain relative path/);
    pack.abandon();
    expect(existsSync(join(out, "reports", "not-ours"))).toBe(true);
    expect(existsSync(join(out, "history.jsonl"))).toBe(false);
  });
});
