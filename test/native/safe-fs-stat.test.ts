// The metadata native/safe_fs.c writes (statPath, fstat): the numbers Node's lstat gives, and the
// inode number's two 32-bit halves, which give it exactly where the double does not (above 2^53:
// probes/file-identity.ts; the overlay with xino that makes such numbers: test/probes/file-identity-overlay.test.ts).
import { closeSync, lstatSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { safeFs } from "../../src/native/safe-fs.ts";
import { inodeNumber } from "../../src/probes/file-identity.ts";

const top = mkdtempSync(join(tmpdir(), "covenant-safe-fs-stat-"));
afterAll(() => rmSync(top, { recursive: true, force: true }));

/** What the addon writes, as lstat (numbers, and bigint for the inode's halves) gives it. */
function expected(path: string): number[] {
  const l = lstatSync(path);
  const ino = inodeNumber(lstatSync(path, { bigint: true }));
  return [l.mode, l.uid, l.gid, l.size, l.mtimeMs, l.ino, l.dev, l.nlink, l.ctimeMs, Number(ino >> 32n), Number(ino & 0xffffffffn)];
}

describe("safe_fs: statPath and fstat", () => {
  const native = safeFs()!;
  const file = join(top, "gl.dat");
  writeFileSync(file, "ledger");
  symlinkSync(file, join(top, "link"));

  it("writes mode, uid, gid, size, mtime, inode, device, link count, ctime and the inode number's high and low halves", () => {
    for (const path of [file, join(top, "link"), top]) {
      const out = new Float64Array(11);
      const target = native.statPath(path, out);
      expect([...out]).toEqual(expected(path));
      expect(target).toBe(path.endsWith("link") ? file : undefined);
    }
    const fd = openSync(file, "r");
    try {
      const out = new Float64Array(11);
      native.fstat(fd, out);
      expect([...out]).toEqual(expected(file));
    } finally {
      closeSync(fd);
    }
  });

  it("refuses an array too short for the halves (the 9 numbers of before), and a descriptor that is not one", () => {
    expect(() => native.statPath(file, new Float64Array(9))).toThrow(/statPath\(path: string, out: Float64Array of at least 11\)/);
    expect(() => native.fstat(0, new Float64Array(9))).toThrow(/fstat\(fd: number, out: Float64Array of at least 11\)/);
    expect(() => native.fstat(-1, new Float64Array(11))).toThrow(TypeError);
    expect(() => native.fstat(1 << 20, new Float64Array(11))).toThrow(expect.objectContaining({ code: "EBADF" }));
  });
});
