// The watcher's loop on its own (src/watch/loop.ts), with no directory to watch: what it asks to
// evaluate and when. The token bucket's pace, paths of events merged per promise until its
// evaluation (and dropped for a whole one), a busy lock's keys asked again with their paths, and a
// stalled evaluation stopping the heartbeat.
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
});
