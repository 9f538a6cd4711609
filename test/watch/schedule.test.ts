// When the watcher next evaluates each promise (src/watch/schedule.ts): one interval after it was
// last evaluated, whatever made that evaluation.
import { describe, expect, it } from "vitest";
import { Schedule } from "../../src/watch/schedule.ts";

describe("the watcher's schedule", () => {
  it("makes each key due one interval after the start, then one interval after each evaluation", () => {
    const s = new Schedule(new Map([["a", 10_000], ["b", 60_000]]), 1_000);
    expect(s.due(10_999)).toEqual([]);
    expect(s.due(11_000)).toEqual(["a"]);
    expect(s.nextAt()).toBe(11_000);
    s.evaluated(["a"], 11_500);
    expect(s.due(20_000)).toEqual([]);
    expect(s.due(61_000)).toEqual(["a", "b"]);
    // an event's evaluation counts as well: the scheduled one moves on
    s.evaluated(["b"], 30_000);
    expect(s.due(61_000)).toEqual(["a"]);
    expect(s.nextAt()).toBe(21_500);
  });

  it("ignores keys it does not schedule, and has nothing due when it schedules nothing", () => {
    const s = new Schedule(new Map(), 0);
    s.evaluated(["x"], 5);
    expect(s.due(Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect(s.nextAt()).toBeUndefined();
  });
});
