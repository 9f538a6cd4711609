// The watcher's loop on its own (src/watch/loop.ts), with no directory to watch: what it asks to
// evaluate and when. The token bucket's pace, paths of events merged per promise until its
// evaluation (and dropped for a whole one), a busy lock's keys asked again with their paths, a
// stalled evaluation stopping the heartbeat, and work run alone between two evaluations.
import { afterEach, describe, expect, it } from "vitest";
import { startWatchLoop, type WatchLoop, type WatchLoopOptions } from "../../src/watch/loop.ts";
import type { WatchSet } from "../../src/watch/watch-set.ts";

const empty: WatchSet = { targets: [], roots: [], affected: () => [], affectedWithin: () => [] };
const loops: WatchLoop[] = [];
afterEach(async () => {
  for (const l of loops.splice(0)) await l.stop();
});

type Call = { keys: string[]; why: string; focus: Record<string, readonly string[]> };

function loop(over: Partial<WatchLoopOptions> & { evaluate: WatchLoopOptions["evaluate"] }): WatchLoop {
  const l = startWatchLoop({ keys: ["a", "b"], every: new Map([["a", 3_600_000], ["b", 3_600_000]]), set: empty, coalesceMs: 5, heartbeatMs: 20, rescanMs: 3_600_000, beat: () => undefined, onProblem: () => undefined, onFailure: () => undefined, ...over });
  loops.push(l);
  return l;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the watcher's loop", () => {
  it("paces evaluations with its bucket: a burst at once, then at the refill rate", async () => {
    const calls: number[] = [];
    const l = loop({ pace: { burst: 3, perSecond: 10 }, evaluate: async () => (calls.push(Date.now()), "done") });
    await l.ready;
    const t0 = Date.now();
    // the start-up evaluation took one token; ask for eight more, one after another
    for (let i = 0; i < 8; i++) {
      l.ask("a", "schedule");
      while (calls.length < i + 2) await sleep(2);
    }
    const took = Date.now() - t0;
    // two more at once (the burst of 3), then six at 10 a second: at least ~500 ms
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(3_000);
  });

  it("gathers the paths events name per promise until its evaluation; any other reason asks for it whole", async () => {
    const calls: Call[] = [];
    let release: (() => void) | undefined;
    const l = loop({
      evaluate: async (keys, why, _b, focus) => {
        calls.push({ keys, why, focus: Object.fromEntries(focus) });
        // the first (start-up) evaluation is held while events come
        if (calls.length === 1) await new Promise<void>((r) => (release = r));
        return "done";
      },
    });
    await l.ready;
    while (!release) await sleep(2);
    l.ask("a", "event", ["/x/1"]);
    l.ask("a", "event", ["/x/2"]);
    l.ask("b", "event", ["/y/1"]);
    l.ask("b", "rescan");
    l.ask("b", "event", ["/y/2"]);
    release!();
    while (calls.length < 2) await sleep(2);
    expect(calls[1]!.keys).toEqual(["a", "b"]);
    expect(calls[1]!.focus).toEqual({ a: ["/x/1", "/x/2"] });
  });

  it("evaluations of what events named do not put off a promise's whole evaluation on its schedule", async () => {
    const calls: Call[] = [];
    const l = loop({ every: new Map([["a", 300], ["b", 3_600_000]]), evaluate: async (keys, why, _b, focus) => (calls.push({ keys, why, focus: Object.fromEntries(focus) }), "done") });
    await l.ready;
    const started = Date.now();
    // events name a path of `a` every 100 ms for 2.5 s
    while (Date.now() - started < 2_500) {
      l.ask("a", "event", ["/x/1"]);
      await sleep(100);
    }
    // the schedule still asked for `a` whole (ticks are once a second; `every` 300 ms)
    expect(calls.filter((c) => c.keys.includes("a") && c.focus["a"] === undefined && c.why !== "start").length).toBeGreaterThanOrEqual(1);
  });

  it("keys a busy lock turned away are asked again with their paths", async () => {
    const calls: Call[] = [];
    const l = loop({ evaluate: async (keys, why, _b, focus) => (calls.push({ keys, why, focus: Object.fromEntries(focus) }), calls.length === 2 ? "busy" : "done") });
    await l.ready;
    while (calls.length < 1) await sleep(2);
    l.ask("a", "event", ["/x/1"]);
    while (calls.length < 3) await sleep(5);
    expect(calls[2]).toMatchObject({ keys: ["a"], why: "event", focus: { a: ["/x/1"] } });
  });

  it("an evaluation stalled past its limit stops the heartbeat, and says so once", async () => {
    let beats = 0;
    const failures: string[] = [];
    const l = loop({ stallAfterMs: 60, beat: () => beats++, onFailure: (e) => failures.push((e as Error).message), evaluate: () => new Promise(() => undefined) });
    await l.ready;
    await sleep(40);
    const before = beats;
    await sleep(300);
    expect(beats - before).toBeLessThanOrEqual(2);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/past its timeout: the heartbeat stops/);
    loops.splice(0); // its evaluation never ends: stop() would wait for it
  });

  describe("exclusive work", () => {
    /** An evaluation that says when it begins and ends, and is held open until released. */
    function heldEvaluations() {
      const log: string[] = [];
      const holds: (() => void)[] = [];
      const evaluate: WatchLoopOptions["evaluate"] = async (keys, why) => {
        log.push(`begin ${why} ${keys.join(",")}`);
        await new Promise<void>((r) => holds.push(r));
        log.push(`end ${why}`);
        return "done";
      };
      return { log, holds, evaluate };
    }

    it("waits for the evaluation under way and holds the next one until it is done", async () => {
      const e = heldEvaluations();
      const l = loop({ evaluate: e.evaluate });
      await l.ready;
      while (e.holds.length < 1) await sleep(2);
      // the start-up evaluation is under way; an event asks for the next while the work waits
      let release: (() => void) | undefined;
      const done = l.exclusive(async () => {
        e.log.push("work begins");
        await new Promise<void>((r) => (release = r));
        e.log.push("work ends");
        return 42;
      }, 5_000);
      l.ask("a", "event", ["/x/1"]);
      await sleep(30);
      expect(e.log).toEqual(["begin start a,b"]);
      e.holds.shift()!();
      while (!release) await sleep(2);
      // the work runs; the evaluation the event asked for does not begin beside it
      await sleep(50);
      expect(e.log).toEqual(["begin start a,b", "end start", "work begins"]);
      release();
      expect(await done).toEqual({ done: 42 });
      while (e.holds.length < 1) await sleep(2);
      expect(e.log).toEqual(["begin start a,b", "end start", "work begins", "work ends", "begin event a"]);
      e.holds.shift()!();
    });

    it("gives up without running the work when the evaluation under way outlasts the wait", async () => {
      const e = heldEvaluations();
      const l = loop({ evaluate: e.evaluate });
      await l.ready;
      while (e.holds.length < 1) await sleep(2);
      let ran = false;
      const t0 = Date.now();
      expect(await l.exclusive(async () => (ran = true), 100)).toEqual({ not: "busy" });
      expect(Date.now() - t0).toBeLessThan(1_000);
      e.holds.shift()!();
      await sleep(50);
      expect(ran).toBe(false);
      // the loop goes on: the next evaluation is not held by work that never ran
      l.ask("b", "schedule");
      while (e.holds.length < 1) await sleep(2);
      expect(e.log.at(-1)).toBe("begin schedule b");
      e.holds.shift()!();
    });

    it("is told the loop stopped when it stops first, and stop waits for work under way", async () => {
      const e = heldEvaluations();
      const l = loop({ evaluate: e.evaluate });
      await l.ready;
      while (e.holds.length < 1) await sleep(2);
      let ran = false;
      const waitingWork = l.exclusive(async () => (ran = true), 60_000);
      const stopped = l.stop();
      e.holds.shift()!();
      await stopped;
      expect(await waitingWork).toEqual({ not: "stopped" });
      expect(ran).toBe(false);
      expect(await l.exclusive(async () => (ran = true), 60_000)).toEqual({ not: "stopped" });
      expect(ran).toBe(false);

      // work under way when the loop is stopped: stop resolves only once it is done
      const f = heldEvaluations();
      const m = loop({ evaluate: f.evaluate });
      await m.ready;
      while (f.holds.length < 1) await sleep(2);
      f.holds.shift()!();
      let release: (() => void) | undefined;
      const under = m.exclusive(() => new Promise<string>((r) => (release = () => r("done"))), 5_000);
      while (!release) await sleep(2);
      let stopEnded = false;
      const stopping = m.stop().then(() => (stopEnded = true));
      await sleep(50);
      expect(stopEnded).toBe(false);
      release();
      await stopping;
      expect(await under).toEqual({ done: "done" });
    });
  });
});
