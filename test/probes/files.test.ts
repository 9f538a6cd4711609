import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hash, modeText, stat } from "../../src/probes/files.ts";

const dir = mkdtempSync(join(tmpdir(), "covenant-files-"));

describe("files probe", () => {
  it("reports type, mode, owner, size and link targets as stat(1) does", () => {
    const f = join(dir, "gl.dat");
    writeFileSync(f, "ledger");
    chmodSync(f, 0o640);
    symlinkSync(f, join(dir, "current"));
    const s = stat(f);
    if (!s.ok) throw new Error(s.error.message);
    const theirs = execFileSync("stat", ["-c", "%a %u %g %s %i %h", f], { encoding: "utf8" }).trim().split(" ").map(Number);
    expect([Number(modeText(s.value.mode)), s.value.uid, s.value.gid, s.value.size, s.value.inode, s.value.nlink]).toEqual(theirs);
    expect(modeText(s.value.mode)).toBe("0640");
    const l = stat(join(dir, "current"));
    expect(l.ok && [l.value.type, l.value.linkTarget]).toEqual(["symlink", f]);
    expect(stat(dir).ok && (stat(dir) as { value: { type: string } }).value.type).toBe("directory");
  });

  it("hashes content in chunks, agreeing with sha256sum and sha512sum on a file larger than one chunk", () => {
    const f = join(dir, "big.dat");
    const block = Buffer.alloc(1 << 20, 7);
    writeFileSync(f, Buffer.concat([block, block, Buffer.from("tail")]));
    for (const alg of ["sha256", "sha512"] as const) {
      const r = hash(f, alg);
      if (!r.ok) throw new Error(r.error.message);
      expect(r.value.bytes).toBe((2 << 20) + 4);
      expect(r.value.digest).toBe(execFileSync(`${alg}sum`, [f], { encoding: "utf8" }).split(" ")[0]);
    }
  });

  it("says why it cannot read, never an empty digest", () => {
    expect(stat(join(dir, "missing"))).toMatchObject({ ok: false, error: { code: "not-found" } });
    expect(hash(join(dir, "missing"), "sha256")).toMatchObject({ ok: false, error: { code: "not-found" } });
    expect(hash(dir, "sha256")).toMatchObject({ ok: false, error: { code: "io" } });
  });
});
