import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyOfLock, lockInode, locksOnFile, locksUnder, parse, read, splitDevice } from "../../src/probes/locks.ts";

describe("locks parser", () => {
  it("reads every kind of line the kernel prints", () => {
    const text = [
      "1: POSIX  ADVISORY  WRITE 3773 fe:00:1474579 0 EOF",
      "1: -> POSIX  ADVISORY  WRITE 3800 fe:00:1474579 0 EOF",
      "2: FLOCK  ADVISORY  READ 1234 08:01:123 0 EOF",
      "3: OFDLCK ADVISORY  READ -1 00:2f:456 100 199",
      "4: LEASE  ACTIVE    READ 99 08:01:77 0 EOF",
      "5: POSIX  MANDATORY WRITE 42 103:02:9 0 EOF",
      "6: SOMETHING ADVISORY WRITE 1 08:01:1 0 EOF",
      "7: POSIX ADVISORY WRITE notapid 08:01:1 0 EOF",
      "garbage",
    ].join("\n");
    const r = parse(text);
    expect(r.locks.map((l) => [l.id, l.kind, l.blocked, l.access, l.pid, `${l.major}:${l.minor}:${l.inode}`, l.start, l.end, l.mandatory])).toEqual([
      [1, "posix", false, "write", 3773, "254:0:1474579", 0, Infinity, false],
      [1, "posix", true, "write", 3800, "254:0:1474579", 0, Infinity, false],
      [2, "flock", false, "read", 1234, "8:1:123", 0, Infinity, false],
      [3, "ofd", false, "read", -1, "0:47:456", 100, 199, false],
      [4, "lease", false, "read", 99, "8:1:77", 0, Infinity, false],
      [5, "posix", false, "write", 42, "259:2:9", 0, Infinity, true],
    ]);
    expect(r.skipped.map((s) => `${s.line} ${s.reason}`)).toEqual([
      "7 unknown lock type `SOMETHING`",
      "8 malformed pid, device, inode or range",
      "9 expected a lock number such as `1:`",
    ]);
  });

  it("keeps a 20-digit inode number whole (overlayfs with xino: 2^63 and up, where neighbours round to one double)", () => {
    const r = parse(["1: FLOCK  ADVISORY  WRITE 10 00:2d:9223372036854775809 0 EOF", "2: FLOCK  ADVISORY  WRITE 11 00:2d:9223372036854775808 0 EOF", "3: FLOCK  ADVISORY  WRITE 12 00:2d:7 0 EOF", "4: FLOCK  ADVISORY  WRITE 13 00:2d:18446744073709551616 0 EOF"].join("\n"));
    expect(r.locks.map(lockInode)).toEqual(["9223372036854775809", "9223372036854775808", "7"]);
    // the key `observe locks` shows for a lock on no named path: every digit, the two told apart
    expect(r.locks.map(keyOfLock).slice(0, 2)).toEqual([`${r.locks[0]!.major}:${r.locks[0]!.minor}:9223372036854775809`, `${r.locks[1]!.major}:${r.locks[1]!.minor}:9223372036854775808`]);
    expect(r.locks.map((l) => l.inodeExact)).toEqual(["9223372036854775809", "9223372036854775808", undefined]);
    // the premise: as numbers, the two would be one file
    expect(r.locks[0]!.inode).toBe(r.locks[1]!.inode);
    expect(r.skipped.map((s) => `${s.line} ${s.reason}`)).toEqual(["4 malformed pid, device, inode or range"]); // past 2^64 - 1
  });

  it("splits device numbers as glibc does (inverse of makedev)", () => {
    const makedev = (major: number, minor: number) =>
      Number((BigInt(major & 0xfff) << 8n) | (BigInt(major & ~0xfff) << 32n) | BigInt(minor & 0xff) | (BigInt(minor & ~0xff) << 12n));
    expect(splitDevice(makedev(254, 0))).toEqual({ major: 254, minor: 0 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xfffff }), fc.integer({ min: 0, max: 0xfffff }), (major, minor) => {
        expect(splitDevice(makedev(major, minor))).toEqual({ major, minor });
      }),
    );
  });

  it("reads this machine's table from a fixture", () => {
    const r = read({ proc: "test/fixtures/proc/debian12-vm" });
    expect(r.ok && r.skipped).toEqual([]);
  });
});

describe("locks on the live host, against lslocks", () => {
  const dir = mkdtempSync(join(tmpdir(), "covenant-locks-"));
  const flockFile = join(dir, "journal.dat");
  const fcntlFile = join(dir, "ledger.dat");
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    writeFileSync(flockFile, "x");
    writeFileSync(fcntlFile, "y".repeat(100));
    // detached: each child leads its own process group, so that cleanup also ends `sleep`
    children.push(spawn("flock", ["--exclusive", flockFile, "sleep", "60"], { stdio: "ignore", detached: true }));
    const py = "import fcntl,sys,time\nf=open(sys.argv[1],'r+')\nfcntl.lockf(f,fcntl.LOCK_EX,10,20)  # 10 bytes from byte 20\nprint('locked',flush=True)\ntime.sleep(60)";
    const child = spawn("python3", ["-c", py, fcntlFile], { stdio: ["ignore", "pipe", "ignore"], detached: true });
    children.push(child);
    await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
    // flock(1) takes its lock right after starting
    for (let i = 0; i < 50 && !execFileSync("lslocks", ["-n", "-o", "PATH"], { encoding: "utf8" }).includes(flockFile); i++) await new Promise((r) => setTimeout(r, 50));
  });

  afterAll(() => {
    for (const c of children) if (c.pid) process.kill(-c.pid, "SIGTERM");
  });

  function lslocks(path: string) {
    const out = JSON.parse(execFileSync("lslocks", ["--json", "-o", "PID,TYPE,MODE,START,END,PATH"], { encoding: "utf8" })) as { locks: { pid: number; type: string; mode: string; start: number; end: number; path: string }[] };
    return out.locks.filter((l) => l.path === path);
  }

  it("finds the flock and the fcntl byte-range lock, with their holders, as lslocks does", () => {
    const all = read({ proc: "/proc" });
    if (!all.ok) throw new Error(all.error.message);
    for (const [path, kind] of [
      [flockFile, "flock"],
      [fcntlFile, "posix"],
    ] as const) {
      const mine = locksOnFile(all.value, path);
      if (!mine.ok) throw new Error(mine.error.message);
      const theirs = lslocks(path);
      expect(mine.value.map((l) => [l.pid, l.kind, l.access])).toEqual(theirs.map((l) => [l.pid, l.type.toLowerCase(), l.mode.toLowerCase()]));
      expect(mine.value.length).toBe(1);
      expect(mine.value[0]!.kind).toBe(kind);
    }
    const range = locksOnFile(all.value, fcntlFile);
    expect(range.ok && [range.value[0]!.start, range.value[0]!.end]).toEqual([20, 29]);
  });

  it("resolves the locks below a directory to their paths", () => {
    const all = read({ proc: "/proc" });
    if (!all.ok) throw new Error(all.error.message);
    const under = locksUnder(all.value, [dir]);
    expect(under.ok && under.value.map((l) => l.path).sort()).toEqual([fcntlFile, flockFile].sort());
  });

  it("says what it did not search: deep directories and dangling links", async () => {
    const { mkdirSync: mk, symlinkSync: ln } = await import("node:fs");
    const deep = join(dir, "d1", "d2", "d3");
    mk(deep, { recursive: true });
    ln("/nonexistent/target", join(dir, "dangling"));
    const r = locksUnder([], [dir], 2);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.skipped.map((s) => s.reason).sort()).toEqual(["dangling symbolic link", "not searched: deeper than 2 levels"]);
  });

  it("reads offsets past 2^53 as the end of the file", () => {
    expect(parse("1: POSIX ADVISORY WRITE 1 08:01:1 0 9223372036854775807").locks[0]!.end).toBe(Infinity);
  });

  it("reports a missing file as an error, not as unlocked", () => {
    expect(locksOnFile([], join(dir, "nope"))).toMatchObject({ ok: false, error: { code: "not-found" } });
  });
});
