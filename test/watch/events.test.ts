// inotify events as batches of promises (src/watch/events.ts), on real files: writes, chmod,
// chown, replacement by rename, `sed -i`, delete and re-create, a new subdirectory, a symlink
// retargeted, and a burst of writes coalesced into one batch.
import { execFileSync } from "node:child_process";
import { appendFileSync, chmodSync, chownSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { problemOf, watchEvents, type Batch, type EventSource } from "../../src/watch/events.ts";
import { watchSet, type WatchTarget } from "../../src/watch/watch-set.ts";

const sources: EventSource[] = [];
afterEach(async () => {
  for (const s of sources.splice(0)) await s.close();
});

/** Watches `targets` and collects batches; `next()` waits for the next one (or fails after 2 s). */
async function watching(targets: WatchTarget[], coalesceMs = 10) {
  const batches: Batch[] = [];
  let wake: (() => void) | undefined;
  const source = watchEvents(watchSet(targets), {
    coalesceMs,
    onBatch: (b) => {
      batches.push(b);
      wake?.();
    },
    onProblem: (p) => {
      throw new Error(p.message);
    },
  });
  sources.push(source);
  await source.ready;
  let taken = 0;
  return {
    batches,
    async next(): Promise<Batch> {
      const deadline = Date.now() + 2000;
      while (batches.length <= taken) {
        if (Date.now() > deadline) throw new Error(`no batch within 2 s (have ${batches.length})`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return batches[taken++]!;
    },
    /** the first batch, from the one last found on, whose paths include `path` */
    async seen(path: string): Promise<Batch> {
      const deadline = Date.now() + 2000;
      for (;;) {
        const found = batches.slice(taken).findIndex((b) => b.paths.includes(path));
        if (found >= 0) {
          // that batch may name other paths a later call asks for: it stays the first looked at
          taken += found;
          return batches[taken]!;
        }
        if (Date.now() > deadline) throw new Error(`no batch naming ${path} within 2 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    /** resolves when no batch comes for `ms` */
    async quiet(ms = 150): Promise<void> {
      const before = batches.length;
      await new Promise((r) => setTimeout(r, ms));
      expect(batches.slice(before)).toEqual([]);
    },
  };
}

const tree = () => mkdtempSync(join(tmpdir(), "covenant-events-"));

describe("events from a watched file", () => {
  it("a write, chmod, chown, a replacement by rename, sed -i, a delete and a re-create each give a batch for the file's promise", async () => {
    const dir = tree();
    const f = join(dir, "ledger.conf");
    writeFileSync(f, "a\n");
    const key = "C/file:ledger";
    const w = await watching([{ key, type: "file", pattern: f, depth: 0 }]);
    const steps: [string, () => void][] = [
      ["write", () => appendFileSync(f, "b\n")],
      ["chmod", () => chmodSync(f, 0o600)],
      ["chown", () => chownSync(f, 1, 1)],
      ["rename over it", () => (writeFileSync(`${f}.new`, "new\n"), renameSync(`${f}.new`, f))],
      ["write after the rename", () => appendFileSync(f, "c\n")],
      ["sed -i", () => execFileSync("sed", ["-i", "s/new/NEW/", f])],
      ["delete", () => unlinkSync(f)],
      ["re-create", () => writeFileSync(f, "again\n")],
      ["write after the re-create", () => appendFileSync(f, "d\n")],
    ];
    for (const [what, act] of steps) {
      act();
      const b = await w.next().catch((e: Error) => {
        throw new Error(`${what}: ${e.message}`);
      });
      expect(b.keys, what).toEqual([key]);
      expect(b.paths, what).toContain(f);
    }
    // the temporary file of the rename is a sibling no promise watches: it gives no batch of its own
    await w.quiet();
  });

  it("a file that does not exist yet is seen when it is created", async () => {
    const dir = tree();
    const f = join(dir, "later.conf");
    const w = await watching([{ key: "C/file:later", type: "file", pattern: f, depth: 0 }]);
    writeFileSync(f, "x");
    expect((await w.next()).keys).toEqual(["C/file:later"]);
  });

  it("coalesces a burst of 1,000 writes into few batches, every one naming the promise", async () => {
    const dir = tree();
    const f = join(dir, "burst.dat");
    writeFileSync(f, "");
    const w = await watching([{ key: "C/file:burst", type: "file", pattern: f, depth: 0 }], 20);
    for (let i = 0; i < 1000; i++) appendFileSync(f, `${i}\n`);
    await w.next();
    await new Promise((r) => setTimeout(r, 200));
    expect(w.batches.length).toBeLessThan(20);
    for (const b of w.batches) expect(b.keys).toEqual(["C/file:burst"]);
  });
});

describe("events inside a watched directory", () => {
  it("a new subdirectory and files in it, and a symlink retargeted, are seen under a recursive directory promise", async () => {
    const dir = tree();
    mkdirSync(join(dir, "a"));
    writeFileSync(join(dir, "a", "g"), "g");
    const key = "C/directory:tree";
    const w = await watching([{ key, type: "directory", pattern: dir, depth: 4 }]);
    mkdirSync(join(dir, "new"));
    writeFileSync(join(dir, "new", "h"), "h");
    expect((await w.seen(join(dir, "new"))).keys).toEqual([key]);
    await w.seen(join(dir, "new", "h"));
    // a file written in the new subdirectory: inotify watches it too
    await new Promise((r) => setTimeout(r, 100));
    appendFileSync(join(dir, "new", "h"), "more");
    expect((await w.seen(join(dir, "new", "h"))).keys).toEqual([key]);
    symlinkSync(join(dir, "a", "g"), join(dir, "link"));
    await w.seen(join(dir, "link"));
    await new Promise((r) => setTimeout(r, 50));
    unlinkSync(join(dir, "link"));
    symlinkSync("/etc/passwd", join(dir, "link"));
    expect((await w.seen(join(dir, "link"))).keys).toEqual([key]);
    rmSync(join(dir, "new"), { recursive: true });
    expect((await w.seen(join(dir, "new"))).keys).toEqual([key]);
  });

  it("a directory without recurse sees its entries, not deeper ones", async () => {
    const dir = tree();
    mkdirSync(join(dir, "sub"));
    const w = await watching([{ key: "C/directory:flat", type: "directory", pattern: dir, depth: 0 }]);
    writeFileSync(join(dir, "sub", "deep"), "x");
    await w.quiet();
    writeFileSync(join(dir, "top"), "x");
    expect((await w.next()).keys).toEqual(["C/directory:flat"]);
  });
});

describe("the watcher's problems", () => {
  it("names the kernel setting when inotify's limits are reached", () => {
    expect(problemOf(Object.assign(new Error("ENOSPC: System limit for number of file watchers reached"), { code: "ENOSPC" }))).toMatchObject({ kind: "watch-limit", message: expect.stringContaining("fs.inotify.max_user_watches") });
    expect(problemOf(Object.assign(new Error("EMFILE"), { code: "EMFILE" }))).toMatchObject({ kind: "instance-limit", message: expect.stringContaining("fs.inotify.max_user_instances") });
    expect(problemOf(new Error("boom"))).toEqual({ kind: "error", message: "the file watcher failed: boom" });
  });
});
