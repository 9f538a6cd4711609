// Covenant's own inotify reader at work (native/inotify.c, src/watch/dir-watcher.ts through
// events.ts), on real files and the real kernel: one watch per directory, a real queue overflow
// (reading paused while more events come than fs.inotify.max_queued_events holds), the watch
// limit simulated by a cap (sysctls are the host's, not a test's), and what errors the kernel gives.
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { inotifyAddon } from "../../src/native/inotify.ts";
import { blindReason, problemOf, watchEvents, type Batch, type Blindness, type EventSource } from "../../src/watch/events.ts";
import { watchSet, type WatchTarget } from "../../src/watch/watch-set.ts";

const sources: EventSource[] = [];
afterEach(async () => {
  for (const s of sources.splice(0)) await s.close();
});

const tree = () => mkdtempSync(join(tmpdir(), "covenant-dirwatch-"));

async function until(what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function watching(targets: WatchTarget[], maxWatches?: number) {
  const batches: Batch[] = [];
  const blind: Blindness[] = [];
  const problems: string[] = [];
  let overflows = 0;
  const source = watchEvents(watchSet(targets), {
    coalesceMs: 10,
    onBatch: (b) => batches.push(b),
    onProblem: (p) => problems.push(`${p.kind}: ${p.message}`),
    onOverflow: () => overflows++,
    onBlind: (b) => blind.push(b),
    ...(maxWatches !== undefined ? { maxWatches } : {}),
  });
  sources.push(source);
  return { source, batches, blind, problems, overflows: () => overflows, saw: (path: string) => batches.some((b) => b.paths.includes(path)) };
}

/** The inotify watches this process holds, as the kernel counts them. */
function inotifyWatches(): number {
  let n = 0;
  const dir = "/proc/self/fdinfo";
  for (const fd of readdirSync(dir)) {
    try {
      n += (readFileSync(join(dir, fd), "utf8").match(/^inotify wd:/gm) ?? []).length;
    } catch {
      // a descriptor closed meanwhile
    }
  }
  return n;
}

describe("one watch per directory", () => {
  it("a tree of 20 directories and 2,000 files takes 21 watches (and its parent's), not one per file", () => {
    const dir = tree();
    for (let d = 0; d < 20; d++) {
      mkdirSync(join(dir, `d${d}`));
      for (let f = 0; f < 100; f++) closeSync(openSync(join(dir, `d${d}`, `f${f}`), "w"));
    }
    const before = inotifyWatches();
    const w = watching([{ key: "C/directory:tree", type: "directory", pattern: dir, depth: 4 }]);
    expect(w.source.watches()).toBe(22);
    expect(inotifyWatches() - before).toBe(22);
  });
});

describe("overflow", () => {
  it("a real IN_Q_OVERFLOW (reading paused while 30,000 events come) is told, and the watches are still in place after", async () => {
    const dir = tree();
    const ledger = join(dir, "ledger.dat");
    writeFileSync(ledger, "x");
    const w = watching([{ key: "C/file:ledger", type: "file", pattern: ledger, depth: 0 }]);
    w.source.pause(true);
    // two events a file (IN_CREATE, IN_CLOSE_WRITE), each distinct: the kernel merges only identical neighbours
    for (let i = 0; i < 15_000; i++) closeSync(openSync(join(dir, `flood${i}`), "w"));
    chmodSync(ledger, 0o600); // its event comes after the queue is full: lost
    w.source.pause(false);
    await until("the overflow is told", () => w.overflows() > 0);
    expect(w.problems.some((p) => p.startsWith("overflow: inotify's event queue overflowed (fs.inotify.max_queued_events)"))).toBe(true);
    expect(w.saw(ledger)).toBe(false);
    // still watching once the queue is drained
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(ledger, "changed");
    await until("a change after the overflow is seen", () => w.saw(ledger));
  });
});

describe("the watch limit", () => {
  it("directories refused a watch are told with fs.inotify.max_user_watches and their paths, and no longer once they are watched", async () => {
    const dir = tree();
    const spool = join(dir, "spool");
    for (const d of ["a", "b", "c", "d"]) mkdirSync(join(spool, d), { recursive: true });
    // the spool's parent, the spool, and one of its four subdirectories
    const w = watching([{ key: "C/directory:spool", type: "directory", pattern: spool, depth: 3 }], 3);
    expect(w.source.watches()).toBe(3);
    expect(w.blind).toHaveLength(1);
    expect(w.blind[0]!.unwatched).toEqual([join(spool, "b"), join(spool, "c"), join(spool, "d")]);
    expect(w.blind[0]!.reason).toMatch(/^inotify's watch limit is reached \(fs\.inotify\.max_user_watches\).*; 3 directories are not watched \(.*\/spool\/b, .*\/spool\/c, .*\/spool\/d\): changes there are found only by the periodic rescan$/);
    expect(w.problems[0]).toMatch(/^watch-limit: /);
    // a watch freed (a watched directory removed) goes to one refused before, which is scanned
    writeFileSync(join(spool, "b", "made-while-unwatched"), "x");
    rmSync(join(spool, "a"), { recursive: true });
    await until("b is watched once a's watch is freed", () => w.blind.at(-1)!.unwatched.length === 2);
    await until("what b holds is told", () => w.saw(join(spool, "b", "made-while-unwatched")));
    rmSync(join(spool, "c"), { recursive: true });
    rmSync(join(spool, "d"), { recursive: true });
    await until("nothing unwatched", () => w.blind.at(-1)!.unwatched.length === 0);
    expect(w.blind.at(-1)!.reason).toBe("");
  });

  it("says what each of the kernel's errors means (the errno code the reader gives)", () => {
    const a = inotifyAddon()!;
    const h = a.open(() => undefined);
    try {
      const dir = tree();
      writeFileSync(join(dir, "file"), "x");
      const mask = a.IN_CREATE | a.IN_ONLYDIR | a.IN_DONT_FOLLOW;
      expect(() => a.addWatch(h, join(dir, "missing"), mask)).toThrow(expect.objectContaining({ code: "ENOENT" }));
      expect(() => a.addWatch(h, join(dir, "file"), mask)).toThrow(expect.objectContaining({ code: "ENOTDIR" }));
      expect(a.addWatch(h, dir, mask)).toBeGreaterThan(0);
    } finally {
      a.close(h);
    }
    expect(problemOf(Object.assign(new Error("x"), { code: "ENOSPC" })).kind).toBe("watch-limit");
    expect(problemOf(Object.assign(new Error("x"), { code: "EMFILE" })).kind).toBe("instance-limit");
    expect(blindReason([], new Error("x"))).toBe("");
  });
});

describe("roots that come and go", () => {
  it("a file's directory renamed away and made again (its own parent unwatched) is watched again", async () => {
    const dir = tree();
    const files = join(dir, "files");
    mkdirSync(files);
    const ledger = join(files, "ledger.conf");
    writeFileSync(ledger, "x");
    const w = watching([{ key: "C/file:ledger", type: "file", pattern: ledger, depth: 0 }]);
    renameSync(files, join(dir, "old"));
    await new Promise((r) => setTimeout(r, 100));
    mkdirSync(files);
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(ledger, "again");
    await until("the re-created file is seen", () => w.saw(ledger));
    // and not the old directory, which now lies elsewhere
    const before = w.batches.length;
    writeFileSync(join(dir, "old", "ledger.conf"), "elsewhere");
    await new Promise((r) => setTimeout(r, 150));
    expect(w.batches.slice(before).flatMap((b) => b.paths)).not.toContain(join(dir, "old", "ledger.conf"));
  });

  it("a file promise whose directory does not exist yet sees the file once the directories are made", async () => {
    const dir = tree();
    const ledger = join(dir, "x", "y", "ledger.conf");
    const w = watching([{ key: "C/file:ledger", type: "file", pattern: ledger, depth: 0 }]);
    mkdirSync(join(dir, "x", "y"), { recursive: true });
    writeFileSync(ledger, "x");
    await until("the file made in directories that did not exist is seen", () => w.saw(ledger));
  });
});
