import { describe, expect, it } from "vitest";
import { PromiseStop, PromiseTimeouts } from "../../src/evaluator/promise-timeouts.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("PromiseTimeouts: one timer for promises evaluated one at a time", () => {
  it("fires the armed timeout once its time has passed", async () => {
    const t = new PromiseTimeouts();
    let fired = 0;
    t.arm(20, () => fired++);
    await sleep(60);
    expect(fired).toBe(1);
    t.close();
  });

  it("does not fire a disarmed timeout, and fires the next one armed on the same timer at its own time", async () => {
    const t = new PromiseTimeouts();
    const fired: string[] = [];
    // the first promise's timeout is long: the timer set for it fires late for the second
    const first = t.arm(10_000, () => fired.push("first"));
    first();
    t.arm(30, () => fired.push("second"));
    await sleep(120);
    expect(fired).toEqual(["second"]);
    t.close();
  });

  it("sets the timer again when it fires before the armed deadline", async () => {
    const t = new PromiseTimeouts();
    const fired: number[] = [];
    const started = performance.now();
    const a = t.arm(20, () => fired.push(-1));
    a();
    // armed later than the timer set for the first: the timer fires early, finds the deadline not reached
    await sleep(5);
    t.arm(80, () => fired.push(performance.now() - started));
    await sleep(150);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(80);
    t.close();
  });

  it("waits for a deadline beyond setTimeout's longest delay without setting a timer every millisecond", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    const t = new PromiseTimeouts();
    let fired = 0;
    try {
      // timeout = 30d: more than 2^31 - 1 ms, which Node sets to 1 ms
      t.arm(30 * 24 * 3600 * 1000, () => fired++);
      await sleep(50);
    } finally {
      t.close();
      process.off("warning", onWarning);
    }
    expect(fired).toBe(0);
    expect(warnings).toEqual([]);
  });

  it("keeps no timer after close (a finished evaluation keeps no process alive)", async () => {
    const t = new PromiseTimeouts();
    let fired = 0;
    t.arm(20, () => fired++);
    t.close();
    await sleep(60);
    expect(fired).toBe(0);
  });
});

describe("PromiseStop: the signal made only when asked for", () => {
  it("is not aborted until abort(), and a signal made afterwards is aborted already", () => {
    const s = new PromiseStop();
    expect(s.aborted).toBe(false);
    s.abort();
    expect(s.aborted).toBe(true);
    expect(s.signal.aborted).toBe(true);
  });

  it("aborts a signal made before abort(), telling its listeners", () => {
    const s = new PromiseStop();
    const signal = s.signal;
    let told = 0;
    signal.addEventListener("abort", () => told++);
    expect(s.signal).toBe(signal);
    s.abort();
    s.abort();
    expect(signal.aborted).toBe(true);
    expect(told).toBe(1);
  });
});
