// Who holds a file where inode numbers exceed 2^53: an overlay mount with xino over a lower and an
// upper layer on two tmpfs (as test/probes/file-identity-overlay.test.ts: the lower layer's files
// are numbered 2^63 + n, where a double's step is 2048, so neighbours round to one double). A
// process holding or locking one file must not be named at its neighbour, and one holding a former
// version that its neighbour replaced must be named, by both engines of the descriptor scan alike;
// nor is a process in another mount namespace whose namespace's number rounds to the watcher's.
// Needs root (mount); skipped, saying why, where the mount is not permitted or the numbers stay small.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { holding } from "../helpers/holding.ts";
import { mountXinoOverlay, writePairs } from "../helpers/xino-overlay.ts";
import { fdScan } from "../../src/native/fd-scan.ts";
import type { ScanEngine } from "../../src/probes/fd-scan.ts";
import { scanHolders, targetsOf } from "../../src/probes/file-holders.ts";
import { inodeNumber } from "../../src/probes/file-identity.ts";
import { locksOnFile, locksUnder, read as readLocks, splitDevice, type FileLock } from "../../src/probes/locks.ts";

const NAMES = ["held", "gone", "lock", "ns"];
const overlay = mountXinoOverlay("covenant-xino-holders-", (lower) => writePairs(lower, NAMES), "held1");
const { merged, skipped } = overlay;
const children: ChildProcess[] = [];

/** Ends the children (each leads its own process group: flock's `sleep`, which keeps its lock, ends too), then the overlay. */
function cleanUp(): void {
  for (const c of children.splice(0)) {
    try {
      process.kill(-c.pid!, "SIGKILL");
    } catch {
      c.kill("SIGKILL");
    }
  }
  overlay.cleanUp();
}
afterAll(cleanUp);

/** The premise: the two files' inode numbers differ, yet are one double. */
function neighbours(a: string, b: string): void {
  const [x, y] = [a, b].map((p) => inodeNumber(lstatSync(p, { bigint: true })));
  expect(x).not.toBe(y);
  expect(Number(x)).toBe(Number(y));
}

const engines: ScanEngine[] = fdScan() ? ["native", "js"] : ["js"];
const roots = { proc: "/proc", etc: "/etc" };

describe.skipIf(skipped !== undefined)(`holders above 2^53 through an overlay with xino${skipped ? ` (skipped: ${skipped})` : ""}`, () => {
  it.each(engines)("%s: a process holding a file open is its holder, not its neighbour's", async (engine) => {
    const [held, neighbour] = [join(merged, "held1"), join(merged, "held2")];
    neighbours(held, neighbour);
    const child = await holding(held, children);
    const scan = await scanHolders(roots, targetsOf([held, neighbour]), { engine });
    expect(scan.engine).toBe(engine);
    expect(scan.holders.get(held)!.filter((h) => h.pid === child.pid)).toEqual([expect.objectContaining({ pid: child.pid, via: "open" })]);
    expect(scan.holders.get(neighbour)!.filter((h) => h.pid === child.pid)).toEqual([]);
  });

  it("a process holding a former version that its neighbour replaced is named, matched by name, by both engines", async () => {
    const [path, neighbour] = [join(merged, "gone1"), join(merged, "gone2")];
    // copied up (the numbers stay): the file held then has no link left once replaced
    for (const p of [path, neighbour]) chmodSync(p, 0o640);
    neighbours(path, neighbour);
    const child = await holding(path, children);
    renameSync(neighbour, path);
    const held = statSync(`/proc/${child.pid}/fd/0`, { bigint: true });
    expect(held.nlink).toBe(0n);
    expect(readFileSync(path, "utf8")).toBe("gone 2\n");
    for (const engine of engines) {
      const scan = await scanHolders(roots, targetsOf([path]), { engine });
      expect(scan.holders.get(path)!.filter((h) => h.pid === child.pid), engine).toEqual([expect.objectContaining({ pid: child.pid, via: "open", deleted: true })]);
    }
  });

  it.each(engines)("%s: a process in another mount namespace, whose namespace's inode number rounds to the watcher's, is not matched by a former name", async (engine) => {
    // The kernel numbers namespaces below 2^32, so a fixture /proc: its ns/mnt links lead to two
    // neighbours (the watcher's, "self", to ns1), and so the comparison is shown exact. Process 101
    // is in ns2's namespace, 102 in the watcher's; each has a descriptor whose link text is the
    // watched path's deleted form and which reaches a file with no links left (a real one, held by
    // a real process: the link text's path is a link to that process's descriptor).
    neighbours(join(merged, "ns1"), join(merged, "ns2"));
    const dir = join(overlay.base, `ns-${engine}`);
    const watched = join(dir, "watched.dat");
    const gone = join(dir, "gone.dat");
    mkdirSync(dir);
    writeFileSync(gone, "");
    const child = await holding(gone, children);
    unlinkSync(gone);
    symlinkSync(`/proc/${child.pid}/fd/0`, `${watched} (deleted)`);
    const proc = join(dir, "proc");
    const namespace = (who: string, ns: string) => {
      mkdirSync(join(proc, who, "ns"), { recursive: true });
      symlinkSync(join(merged, ns), join(proc, who, "ns", "mnt"));
    };
    namespace("self", "ns1");
    for (const [pid, ns] of [["101", "ns2"], ["102", "ns1"]] as const) {
      namespace(pid, ns);
      mkdirSync(join(proc, pid, "fd"));
      writeFileSync(join(proc, pid, "stat"), `${pid} (app) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0\n`);
      writeFileSync(join(proc, pid, "status"), "Name:\tapp\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n");
      writeFileSync(join(proc, pid, "cmdline"), `app\0${pid}\0`);
      symlinkSync(`${watched} (deleted)`, join(proc, pid, "fd", "3"));
    }
    writeFileSync(join(proc, "locks"), "");
    expect(statSync(join(proc, "101", "fd", "3")).nlink).toBe(0);
    const scan = await scanHolders({ proc, etc: "/etc" }, targetsOf([watched]), { engine });
    expect(scan.holders.get(watched)!.map((h) => [h.pid, h.deleted])).toEqual([[102, true]]);
  });

  it("a lock on a file is on it, not on its neighbour: /proc/locks's 20-digit inode kept whole", async () => {
    const [locked, neighbour] = [join(merged, "lock1"), join(merged, "lock2")];
    neighbours(locked, neighbour);
    const child = spawn("flock", ["--exclusive", locked, "sleep", "60"], { stdio: "ignore", detached: true });
    children.push(child);
    const st = lstatSync(locked, { bigint: true });
    const ino = inodeNumber(st).toString();
    const { major, minor } = splitDevice(Number(st.dev));
    // this mount's locks (another overlay's lower files have the same numbers)
    const ours = (locks: FileLock[]) => locks.filter((l) => l.major === major && l.minor === minor);
    let all = readLocks({ proc: "/proc" });
    for (let i = 0; i < 100 && !(all.ok && ours(all.value).length > 0); i++) {
      await new Promise((r) => setTimeout(r, 20));
      all = readLocks({ proc: "/proc" });
    }
    if (!all.ok) throw new Error(all.error.message);
    expect(ours(all.value).map((l) => [l.pid, l.inodeExact])).toEqual([[child.pid, ino]]);
    expect(locksOnFile(all.value, locked)).toMatchObject({ ok: true, value: [{ pid: child.pid, inodeExact: ino }] });
    expect(locksOnFile(all.value, neighbour)).toMatchObject({ ok: true, value: [] });
    const under = locksUnder(all.value, [merged]);
    expect(under.ok && under.value.map((l) => [l.path, l.pid])).toEqual([[locked, child.pid]]);
    for (const engine of engines) {
      const scan = await scanHolders(roots, targetsOf([locked, neighbour]), { engine });
      expect(scan.holders.get(locked)!.filter((h) => h.via === "lock").map((h) => h.pid), engine).toEqual([child.pid]);
      expect(scan.holders.get(neighbour), engine).toEqual([]);
    }
  });
});
