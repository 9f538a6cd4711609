// The pack's tar writer and reader: the same files make the same bytes, long names split at a
// slash, what is written reads back whole, system tar reads it, and what is not a plain file or
// directory under one top directory is refused.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { readTarGz, TarError, writeTarGz } from "../../src/evidence/tar.ts";

const dir = mkdtempSync(join(tmpdir(), "covenant-tar-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const long = `policies/abcdef123456/files/${"deep/".repeat(30)}ledger.promise`;
const files = [
  { name: "manifest.json", bytes: Buffer.from("{}\n") },
  { name: long, bytes: Buffer.from("control \"X\" {}\n") },
  { name: "history.jsonl", bytes: Buffer.alloc(1500, 0x61) },
  { name: "empty", bytes: Buffer.alloc(0) },
];

describe("the pack's tar", () => {
  it("makes the same bytes from the same files, in any order, and reads them back", () => {
    const a = writeTarGz("pack", files, 1_700_000_000, ["reports"]);
    const b = writeTarGz("pack", [...files].reverse(), 1_700_000_000, ["reports"]);
    expect(a.equals(b)).toBe(true);
    const back = readTarGz(a);
    expect(back.map((f) => f.name).sort()).toEqual(files.map((f) => f.name).sort());
    for (const f of files) expect(back.find((x) => x.name === f.name)!.bytes.equals(f.bytes)).toBe(true);
  });

  it("is read by system tar: names (a long one split at a slash), sizes, no owner names", () => {
    const path = join(dir, "a.tar.gz");
    writeFileSync(path, writeTarGz("pack", files, 1_700_000_000, ["reports"]));
    const listed = spawnSync("tar", ["tzvf", path], { encoding: "utf8" });
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain(`pack/${long}`);
    expect(listed.stdout).toContain("pack/reports/");
    expect(listed.stdout).toMatch(/0\/0\s+1500 .* pack\/history\.jsonl/);
    const out = join(dir, "x");
    spawnSync("mkdir", [out]);
    expect(spawnSync("tar", ["xzf", path, "-C", out]).status).toBe(0);
    expect(readFileSync(join(out, "pack", long), "utf8")).toBe('control "X" {}\n');
  });

  it("refuses a name too long for ustar when written, and, when read, a header changed (its checksum fails) or a file twice", () => {
    expect(() => writeTarGz("pack", [{ name: "x".repeat(300), bytes: Buffer.alloc(0) }], 0)).toThrow(TarError);
    const tar = gunzipSync(writeTarGz("pack", [{ name: "a", bytes: Buffer.from("1") }], 0));
    // a header changed after it was written
    const changed = Buffer.from(tar);
    const at = changed.indexOf("pack/a");
    changed.write("pakk/a", at);
    expect(() => readTarGz(gzipSync(changed))).toThrow(/checksum/);
    const entries = tar.subarray(0, tar.length - 1024);
    const fileEntry = entries.subarray(512);
    expect(() => readTarGz(gzipSync(Buffer.concat([entries, fileEntry, Buffer.alloc(1024)])))).toThrow(/appears twice/);
  });
});
