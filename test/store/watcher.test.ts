// The watcher's heartbeat in the store: written without the run lock, sealed, checked by verify,
// and judged with a clock and a /proc given by the test; and the kind of each run's summary.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { runKindOf, staleAfterMs, StateStore, StoreError, type Beat, type RunBody } from "../../src/store/store.ts";
import { judgeHeartbeat, type Heartbeat } from "../../src/store/watcher.ts";
import { acquireRunLock, runWaiting, waitForRunLock, type LockHolder } from "../../src/store/run-lock.ts";
import { populated, raw, removeTempDirs, result, runBody, tempDir } from "./helpers.ts";

beforeAll(() => ensureBuilt());
afterAll(() => removeTempDirs());

const T0 = Date.parse("2026-11-23T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

/** A /proc holding one process, `pid`, started `ticks` clock ticks after boot (the fields readStat parses). */
function fakeProc(pid: number, ticks: number): string {
  const root = tempDir("proc");
  mkdirSync(join(root, String(pid)));
  const fields = ["S", "1", ...Array.from({ length: 17 }, () => "0"), String(ticks), "0", "0"];
  writeFileSync(join(root, String(pid), "stat"), `${pid} (covenant) ${fields.join(" ")}\n`);
  return root;
}

function beat(over: Partial<Beat> = {}): Beat {
  return { pid: 4242, startTicks: 777, started: iso(T0 - 3_600_000), lastBeat: iso(T0), policy: "ab".repeat(32), intervalMs: 10_000, ...over };
}

const ownTicks = () => Number(readFileSync(`/proc/${process.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19]);

describe("the watcher's status", () => {
  it("none before any watcher beat; running while it beats; stale once too old; stopped when it said so", () => {
    const { store } = populated(1);
    const proc = fakeProc(4242, 777);
    expect(store.watcherStatus(T0, proc)).toEqual({ state: "none" });
    store.beat(beat());
    const heartbeat: Heartbeat = { ...beat(), state: "running" };
    expect(store.watcherStatus(T0 + 1_000, proc)).toEqual({ state: "running", heartbeat, ageMs: 1_000, staleAfterMs: 40_000 });
    // every 10 s: stale after max(30 s, 10 s + 30 s) = 40 s
    expect(store.watcherStatus(T0 + 40_000, proc).state).toBe("running");
    const stale = store.watcherStatus(T0 + 40_001, proc);
    expect(stale).toMatchObject({ state: "stale", ageMs: 40_001, reason: "its last beat was at 2026-11-23T12:00:00.000Z, 40s ago (it beats every 10s; stale after 40s); its process (pid 4242) is still there, hung or stopped" });
    // a beat "in the future" (the clock set back since): fresh
    expect(store.watcherStatus(T0 - 60_000, proc)).toMatchObject({ state: "running", ageMs: 0 });

    expect(store.stopWatcher({ pid: 4242, startTicks: 1 }, iso(T0 + 5_000))).toBe(false);
    expect(store.stopWatcher({ pid: 4242, startTicks: 777 }, iso(T0 + 5_000))).toBe(true);
    // stopped cleanly: neither its age nor its process matters any more
    expect(store.watcherStatus(T0 + 86_400_000, tempDir("noproc"))).toMatchObject({ state: "stopped", heartbeat: { state: "stopped", lastBeat: iso(T0 + 5_000), pid: 4242 } });
    // a new watcher's first beat makes it running again
    store.beat(beat({ pid: 4243, lastBeat: iso(T0 + 60_000) }));
    expect(store.watcherStatus(T0 + 61_000, fakeProc(4243, 777)).state).toBe("running");
    store.close();
  });

  it("stale at once when its process is gone, or its pid is another process's (another start time)", () => {
    const { store } = populated(1);
    store.beat(beat());
    expect(store.watcherStatus(T0 + 1_000, tempDir("emptyproc"))).toMatchObject({ state: "stale", reason: "its process (pid 4242) is gone; its last beat was at 2026-11-23T12:00:00.000Z" });
    expect(store.watcherStatus(T0 + 1_000, fakeProc(4242, 778))).toMatchObject({ state: "stale", reason: expect.stringContaining("(pid 4242) is gone") });
    store.close();
  });

  it("stale after three intervals, never sooner than an interval and 30 s", () => {
    expect(staleAfterMs(1_000)).toBe(31_000);
    expect(staleAfterMs(15_000)).toBe(45_000);
    expect(staleAfterMs(60_000)).toBe(180_000);
    const proc = fakeProc(4242, 777);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3_600_000 }), fc.integer({ min: -86_400_000, max: 86_400_000 }), (intervalMs, age) => {
        const h: Heartbeat = { ...beat({ intervalMs }), state: "running" };
        const s = judgeHeartbeat(h, T0 + age, proc);
        return s.state === (age > Math.max(3 * intervalMs, intervalMs + 30_000) ? "stale" : "running");
      }),
    );
  });

  it("StateStore.watcherStatusOf reads it read-only, beside a store open for writing", () => {
    const { dir, store } = populated(1);
    store.beat(beat({ pid: process.pid, startTicks: ownTicks(), lastBeat: new Date().toISOString() }));
    expect(StateStore.watcherStatusOf(dir).state).toBe("running");
    store.close();
  });

  it("a beat is a heartbeat or a bug: nonsense is refused before anything is written", () => {
    const { dir, store } = populated(1);
    for (const bad of [{ pid: 0 }, { intervalMs: 0 }, { intervalMs: 1.5 }, { startTicks: -1 }, { lastBeat: "yesterday" }]) expect(() => store.beat(beat(bad))).toThrow("not a heartbeat");
    expect(raw(dir).prepare("SELECT count(*) FROM watcher").pluck().get()).toBe(0);
    store.close();
    const reader = StateStore.openReadOnly(dir);
    expect(() => reader.beat(beat())).toThrow("read-only");
    reader.close();
  });
});

describe("the heartbeat's seal", () => {
  for (const [what, sql] of [
    ["its last beat moved forward (a dead watcher made to look alive)", "UPDATE watcher SET beat = '2099-01-01T00:00:00.000Z'"],
    ["its pid changed to a live process's", "UPDATE watcher SET pid = 1"],
    ["stopped by hand", "UPDATE watcher SET state = 'stopped'"],
    ["its seal removed", "UPDATE watcher SET seal = x''"],
  ] as const) {
    it(`${what}: verify reports it, and the status passes the row over`, () => {
      const { dir, store } = populated(1);
      store.beat(beat());
      store.close();
      raw(dir).exec(sql);
      const reader = StateStore.openReadOnly(dir);
      expect(reader.verify().tampering).toEqual({ kind: "altered", seq: 0, message: "the watcher's heartbeat was changed outside Covenant: its seal does not match" });
      const status = reader.watcherStatus(T0, fakeProc(4242, 777));
      expect(status).toEqual({ state: "none", untrusted: "the watcher's heartbeat was changed outside Covenant (its seal does not match): it is passed over; `covenant verify` reports it" });
      expect(reader.untrusted).toEqual([status.state === "none" ? status.untrusted : ""]);
      reader.close();
      const v = covenant(["verify", "--state", dir]);
      expect(v.code).toBe(1);
      expect(v.out).toContain("TAMPERED: the watcher's heartbeat was changed outside Covenant: its seal does not match (altered)");
    });
  }

  it("the watcher's next beat writes a sealed row again", () => {
    const { dir, store } = populated(1);
    store.beat(beat());
    raw(dir).exec("UPDATE watcher SET pid = 1");
    expect(store.watcherStatus(T0).state).toBe("none");
    store.beat(beat({ lastBeat: iso(T0 + 10_000) }));
    expect(store.watcherStatus(T0 + 10_000, fakeProc(4242, 777)).state).toBe("running");
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });

  it("a heartbeat deleted from a store whose history holds runs of the watcher is reported", () => {
    const { dir, store } = populated(1);
    store.beat(beat());
    const run = store.beginRun("watch");
    store.recordResult(run, iso(T0), result("C-1/file:a", "drift", ["mode is 0644, promised 0640"]));
    store.finishRun(runBody(run, 1));
    store.close();
    raw(dir).exec("DELETE FROM watcher");
    const reader = StateStore.openReadOnly(dir);
    expect(reader.verify().tampering).toMatchObject({ kind: "deleted", message: expect.stringMatching(/^the history holds a run of the watcher \(run 2, record \d+\), but the store holds no heartbeat of it: it was deleted$/) });
    reader.close();
  });
});

describe("a beat takes no run lock", () => {
  it("waits for another process's write transaction (SQLite's busy timeout) and then writes", async () => {
    const { dir, store } = populated(1);
    // a second process holds the database's write lock for 600 ms, as a run writing a record would (for far less)
    const holder = `
      const Database = require("better-sqlite3");
      const db = new Database(process.argv[1]);
      db.prepare("BEGIN IMMEDIATE").run();
      process.stdout.write("held\\n");
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600);
      db.prepare("COMMIT").run();
      db.close();`;
    const child = spawn(process.execPath, ["-e", holder, join(dir, "state.db")], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    const start = Date.now();
    store.beat(beat());
    const waited = Date.now() - start;
    await new Promise((resolve) => child.once("exit", resolve));
    expect(waited).toBeGreaterThan(300);
    expect(waited).toBeLessThan(5_000);
    expect(store.watcherStatus(T0, fakeProc(4242, 777)).state).toBe("running");
    store.close();
  });
});

describe("run kinds", () => {
  it("each summary says whether `covenant run` or the watcher made it; verify counts the watcher's; history shows them", () => {
    const { dir, store } = populated(1);
    expect(() => store.beginRun("watch")).toThrow(StoreError);
    expect(() => store.beginRun("watch")).toThrow("the watcher must beat before it runs");
    store.beat(beat());
    const run = store.beginRun("watch");
    store.recordResult(run, iso(T0), result("C-1/file:a", "drift", ["mode is 0644, promised 0640"]));
    expect(() => store.finishRun({ ...runBody(run, 1), kind: "run" })).toThrow(`run ${run} began as a watch run, not a run run`);
    store.finishRun(runBody(run, 1));
    const summaries = store.history({ kinds: ["run"] }).map((e) => e.body as RunBody);
    expect(summaries.map((b) => [b.run, b.kind, runKindOf(b)])).toEqual([
      [1, "run", "run"],
      [2, "watch", "watch"],
    ]);
    expect(store.verify()).toMatchObject({ runs: [1, 2], watchRuns: 1 });
    expect(store.verify().tampering).toBeUndefined();
    store.close();
    const history = covenant(["history", "--state", dir]);
    expect(history.code).toBe(0);
    expect(history.out).toContain("run 1: 3 promises tested");
    expect(history.out).toContain("run 2 (watch): 1 promise tested");
    const v = covenant(["verify", "--state", dir]);
    expect(v.code).toBe(0);
    expect(v.out).toContain("2 runs (1 of them the watcher's)");
  });
});

describe("the run lock's holder and a bounded wait", () => {
  it("the lock names its kind; one written without a kind is a run's", () => {
    const dir = tempDir("lock");
    const lock = acquireRunLock(dir, "/proc", "watch");
    expect(lock.ok).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, "run.lock"), "utf8"))).toMatchObject({ pid: process.pid, kind: "watch" });
    expect(acquireRunLock(dir)).toMatchObject({ ok: false, holder: { pid: process.pid, kind: "watch" } });
    if (lock.ok) lock.release();
    writeFileSync(join(dir, "run.lock"), JSON.stringify({ pid: process.pid, startTicks: ownTicks(), startedAt: "then" }));
    expect(acquireRunLock(dir)).toMatchObject({ ok: false, holder: { kind: "run", startedAt: "then" } });
  });

  it("waits as long as the holder found allows, looking again on a timer, then gives the holder", async () => {
    const dir = tempDir("lock");
    const held = acquireRunLock(dir, "/proc", "watch");
    const seen: LockHolder[] = [];
    let start = Date.now();
    const r = await waitForRunLock(dir, { waitMs: (h) => (h.kind === "watch" ? 400 : 0), pollMs: 50, onHeld: (h) => seen.push(h) });
    const took = Date.now() - start;
    expect(r).toMatchObject({ ok: false, holder: { kind: "watch", pid: process.pid } });
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(2_000);
    // a poll every 50 ms: a handful of looks, not a busy loop
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.length).toBeLessThan(20);
    // the lock let go meanwhile: taken as soon as it is seen free
    setTimeout(() => held.ok && held.release(), 200);
    start = Date.now();
    const taken = await waitForRunLock(dir, { waitMs: () => 5_000, pollMs: 50 });
    expect(taken.ok).toBe(true);
    expect(Date.now() - start).toBeLessThan(1_000);
    if (taken.ok) taken.release();
  });

  it("a run waiting for the lock says so while it waits, and only then: the watcher lets it in before its next evaluation", async () => {
    const dir = tempDir("lock");
    const held = acquireRunLock(dir, "/proc", "watch");
    expect(runWaiting(dir)).toBe(false);
    const looks: boolean[] = [];
    const waiting = waitForRunLock(dir, { waitMs: () => 5_000, pollMs: 20, onHeld: () => looks.push(runWaiting(dir)) });
    await new Promise((r) => setTimeout(r, 150));
    expect(runWaiting(dir)).toBe(true);
    if (held.ok) held.release();
    const taken = await waiting;
    expect(taken.ok).toBe(true);
    expect(looks.slice(1).every(Boolean)).toBe(true);
    // taken: it no longer says it waits
    expect(runWaiting(dir)).toBe(false);
    if (taken.ok) taken.release();
    // a mark left by a waiter that died (a pid no process has) is not a waiter
    writeFileSync(join(dir, "run.lock.wait"), JSON.stringify({ pid: 2 ** 22 + 7, startTicks: 1, startedAt: "then", kind: "run" }));
    expect(runWaiting(dir)).toBe(false);
  });
});
