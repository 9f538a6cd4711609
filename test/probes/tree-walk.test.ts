import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stat, type FileStat } from "../../src/probes/files.ts";
import { walkTree, type WalkRecord } from "../../src/probes/tree-walk.ts";

const dir = mkdtempSync(join(tmpdir(), "covenant-tree-walk-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The walk the native one replaces: sorted names, depth first, each entry stat'ed by its path. */
function pathWalk(root: string, maxDepth: number, depth = 1, out: { hostPath: string; stat?: FileStat; tooDeep?: true }[] = []) {
  for (const n of readdirSync(root).sort()) {
    const p = join(root, n);
    const s = stat(p);
    if (!s.ok) throw new Error(s.error.message);
    out.push({ hostPath: p, stat: s.value });
    if (s.value.type !== "directory") continue;
    if (depth < maxDepth) pathWalk(p, maxDepth, depth + 1, out);
    else out.push({ hostPath: p, tooDeep: true });
  }
  return out;
}

function walk(root: string, maxDepth: number): WalkRecord[] | undefined {
  const w = walkTree(root, maxDepth);
  return w && [...w];
}

function asPathWalk(records: WalkRecord[]) {
  return records.map((r) => (r.kind === "entry" ? { hostPath: r.hostPath, stat: r.stat } : r.kind === "too-deep" ? { hostPath: r.hostPath, tooDeep: true } : r));
}

describe("walkTree (native/safe_walk.c)", () => {
  const root = join(dir, "tree");
  mkdirSync(join(root, "a/b/c/d"), { recursive: true });
  for (const name of ["z", "B", "a1", "é", "\uE000", "😀", "ab"]) writeFileSync(join(root, name), name);
  writeFileSync(join(root, "a/b/one"), "1");
  writeFileSync(join(root, "a/b/c/d/deep"), "deep");
  symlinkSync("/etc", join(root, "to-etc"));
  symlinkSync("../../a", join(root, "a/b/loop"));
  execFileSync("mkfifo", [join(root, "a/fifo")]);

  it("finds what a walk by paths finds, in the same order, with the same metadata and link targets", () => {
    for (const depth of [1, 2, 3, 16]) {
      const walked = walk(root, depth);
      expect(walked).toBeDefined();
      expect(asPathWalk(walked!)).toEqual(pathWalk(root, depth));
    }
    const link = walk(root, 1)!.find((r) => r.hostPath === join(root, "to-etc"));
    expect(link).toMatchObject({ kind: "entry", stat: { type: "symlink", linkTarget: readlinkSync(join(root, "to-etc")) } });
  });

  it("gives each entry's change time as fs.Stats does", () => {
    const f = walk(root, 1)!.find((r) => r.hostPath === join(root, "z"));
    expect(f).toMatchObject({ kind: "entry", ctimeMs: lstatSync(join(root, "z")).ctimeMs });
  });

  it("never follows a link: not below the root, not in the root's own path", () => {
    // the link to /etc is an entry, never entered
    expect(walk(root, 16)!.some((r) => r.hostPath.startsWith(join(root, "to-etc/")))).toBe(false);
    const viaLink = join(dir, "via");
    symlinkSync(root, viaLink);
    // a link as the last component is not a directory to O_NOFOLLOW | O_DIRECTORY (ENOTDIR); before it, ELOOP
    expect(walk(viaLink, 16)).toEqual([{ kind: "list-error", hostPath: viaLink, code: expect.stringMatching(/^(ELOOP|ENOTDIR)$/) }]);
    expect(walk(join(viaLink, "a"), 16)).toEqual([{ kind: "list-error", hostPath: join(viaLink, "a"), code: "ELOOP" }]);
  });

  it("reports a root that is missing or unreadable instead of an empty tree", () => {
    expect(walk(join(dir, "missing"), 4)).toEqual([{ kind: "list-error", hostPath: join(dir, "missing"), code: "ENOENT" }]);
    expect(walk(join(root, "z"), 4)).toEqual([{ kind: "list-error", hostPath: join(root, "z"), code: "ENOTDIR" }]);
  });

  it("refuses bad arguments with a clear error", () => {
    expect(() => walk("relative", 4)).toThrow(/walkTree/);
    expect(() => walk(root, 0)).toThrow(/walkTree/);
    expect(() => walk(`${root}\0x`, 4)).toThrow(/walkTree/);
  });
});
