// Identities compared exactly: inode numbers at and above 2^53 (overlayfs with xino gives lower
// layers' files numbers from 2^63 up) that differ only in their low bits are one double, and must
// still be told apart. The same through the real file system: file-identity-overlay.test.ts.
import { lstatSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeChange } from "../../src/integrity/file-change.ts";
import type { PresentState } from "../../src/integrity/file-state.ts";
import { identityOf, identityOfPath, inodeExactOf, inodeExactOfBigInt, inodeText, sameObject, sameStoredObject, type InodeFields } from "../../src/probes/file-identity.ts";

const dir = mkdtempSync(join(tmpdir(), "covenant-identity-"));

/** The inode fields of a FileStat for a 64-bit inode number, made as files.ts makes them from the addon's halves. */
function fields(ino: bigint, dev = 41): InodeFields {
  const exact = inodeExactOf(Number(ino >> 32n), Number(ino & 0xffffffffn));
  return exact === undefined ? { dev, inode: Number(ino) } : { dev, inode: Number(ino), inodeExact: exact };
}

const TOP = 2n ** 63n;

describe("file identity", () => {
  it("tells apart inode numbers above 2^53 that one double holds (a lower layer's neighbours under overlayfs xino)", () => {
    const [a, b] = [fields(TOP + 2n), fields(TOP + 3n)];
    // the comparison this replaces: the two numbers are one double
    expect(a.inode).toBe(b.inode);
    expect(sameObject(identityOf(a), identityOf(b))).toBe(false);
    expect(sameObject(identityOf(a), identityOf(fields(TOP + 2n)))).toBe(true);
    // just above 2^53, where a double's step is 2
    expect(sameObject(identityOf(fields(2n ** 53n + 1n)), identityOf(fields(2n ** 53n)))).toBe(false);
    // and the device still counts
    expect(sameObject(identityOf(fields(TOP + 2n, 41)), identityOf(fields(TOP + 2n, 42)))).toBe(false);
  });

  it("keeps the exact text only where the number is not exact (2^53 and above), so stored states below it are as before", () => {
    expect(inodeExactOf(0, 1196075)).toBeUndefined();
    expect(inodeExactOf(0x1fffff, 0xffffffff)).toBeUndefined(); // 2^53 - 1
    expect(inodeExactOf(0x200000, 0)).toBe("9007199254740992");
    expect(inodeExactOf(0x80000000, 3)).toBe("9223372036854775811");
    expect(inodeExactOf(0xffffffff, 0xffffffff)).toBe("18446744073709551615");
    expect(inodeExactOfBigInt(2n ** 53n - 1n)).toBeUndefined();
    expect(inodeExactOfBigInt(TOP + 3n)).toBe("9223372036854775811");
    expect(inodeText(fields(TOP + 3n))).toBe("9223372036854775811");
    expect(inodeText(fields(1196075n))).toBe("1196075");
  });

  it("gives one identity for one inode number, whichever way it was read: the addon's halves, Node's bigint, or a number below 2^53", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (ino) => {
        const viaHalves = identityOf(fields(ino));
        expect(viaHalves).toEqual({ dev: 41, ino: ino.toString() });
        expect(identityOf({ dev: 41, inode: Number(ino), ...(inodeExactOfBigInt(ino) === undefined ? {} : { inodeExact: inodeExactOfBigInt(ino)! }) })).toEqual(viaHalves);
        // a neighbour (the nearest other number) is another object, however the doubles round
        expect(sameObject(viaHalves, identityOf(fields(ino === 0n ? 1n : ino - 1n)))).toBe(false);
      }),
    );
  });

  it("reads a real file's identity as stat(1) gives its inode number", () => {
    const f = join(dir, "plain");
    writeFileSync(f, "x");
    expect(identityOfPath(f)).toEqual({ dev: lstatSync(f).dev, ino: String(lstatSync(f, { bigint: true }).ino) });
  });

  it("compares a stored state exactly when it kept the exact text, and by its number when it was stored before it was kept", () => {
    const stored = fields(TOP + 2n);
    expect(sameStoredObject(stored, fields(TOP + 2n))).toBe(true);
    expect(sameStoredObject(stored, fields(TOP + 3n))).toBe(false);
    // an approved state from before: only the double, which is all that could be compared then
    const legacy = { dev: 41, inode: Number(TOP + 2n) };
    expect(sameStoredObject(legacy, fields(TOP + 3n))).toBe(true);
    expect(sameStoredObject(legacy, fields(TOP + 5000n))).toBe(false);
    // what is observed now always carries the text: a producer that lost it is not taken for the same
    expect(sameStoredObject(stored, { dev: 41, inode: stored.inode })).toBe(false);
    expect(sameStoredObject(fields(7n), fields(7n))).toBe(true);
    expect(sameStoredObject(fields(7n), fields(8n))).toBe(false);
  });

  it("reports a file renamed over by its neighbour as replaced, with both inode numbers in full", () => {
    const state = (ino: bigint): PresentState => ({ status: "present", path: "/srv/m/f1", type: "file", mode: 0o644, uid: 0, gid: 0, size: 7, mtimeMs: 1, nlink: 1, sha256: "a".repeat(64), ...fields(ino) });
    const changes = describeChange(state(TOP + 2n), state(TOP + 3n));
    expect(changes).toEqual([
      {
        kind: "inode",
        old: { dev: 41, inode: Number(TOP), inodeExact: "9223372036854775810" },
        new: { dev: 41, inode: Number(TOP), inodeExact: "9223372036854775811" },
        text: "replaced: inode 9223372036854775810 → 9223372036854775811 (renamed over or re-created)",
      },
    ]);
    expect(describeChange(state(TOP + 2n), state(TOP + 2n))).toEqual([]);
    expect(describeChange(state(5n), state(6n))[0]).toMatchObject({ old: { dev: 41, inode: 5 }, text: "replaced: inode 5 → 6 (renamed over or re-created)" });
  });
});
