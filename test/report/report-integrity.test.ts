// What the report vouches for: the chain over the period (a record altered in it is found; one
// altered long before it is not the period's), the host's clock (steps back and jumps flagged),
// and the period's days read in a time zone.
import { afterAll, describe, expect, it } from "vitest";
import { periodOf } from "../../src/facts/period.ts";
import { buildReport } from "../../src/report/report-build.ts";
import { StateStore } from "../../src/store/store.ts";
import { raw, removeTempDirs, tempDir } from "../store/helpers.ts";
import { at, B, kept, recordRun, result } from "./report-helpers.ts";

afterAll(() => removeTempDirs());

const NOW = new Date("2026-04-01T00:00:00Z");

/** Hourly runs from 2026-02-27 00:00Z to 2026-03-02 23:00Z, B drifting now and then (so that change records are written). */
function hourly(dir = tempDir("report-int")): string {
  const store = StateStore.open(dir);
  for (let h = -48; h < 48; h++) {
    const results = kept();
    if (h % 7 === 0) results[1] = result(B, "drift");
    recordRun(store, { at: at(h * 60), results });
  }
  store.close();
  return dir;
}

function reportOf(dir: string, from = "2026-03-01", to = "2026-03-01", tz = "UTC") {
  const store = StateStore.openReadOnly(dir);
  try {
    return buildReport(store, { period: periodOf(from, to, tz), generator: "test", now: NOW });
  } finally {
    store.close();
  }
}

function changeAt(dir: string, fromIso: string, toIso: string): number {
  const db = raw(dir);
  const seq = db.prepare(`SELECT seq FROM ledger WHERE kind = 'change' AND body LIKE '%"to":"drift"%' AND time >= ? AND time < ? ORDER BY seq LIMIT 1`).pluck().get(fromIso, toIso) as number;
  db.close();
  return seq;
}

describe("integrity over the period", () => {
  it("is intact for an untouched store, and names the head it vouches for", () => {
    const r = reportOf(hourly());
    expect(r.integrity).toMatchObject({ verdict: "intact" });
    expect(r.integrity.head).toEqual({ seq: r.integrity.lastRecord, mac: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(r.integrity.storeHead!.seq).toBeGreaterThan(r.integrity.lastRecord!);
  });

  it("finds a record altered in the period, and says which", () => {
    const dir = hourly();
    const seq = changeAt(dir, "2026-03-01T05:00", "2026-03-01T23:00");
    const db = raw(dir);
    db.prepare("UPDATE ledger SET body = replace(body, '\"drift\"', '\"kept\"') WHERE seq = ?").run(seq);
    db.close();
    const r = reportOf(dir);
    expect(r.integrity.verdict).toBe("tampered");
    expect(r.integrity.tampering).toMatchObject({ kind: "altered", seq });
    // the altered record proves nothing: its drift is not taken as kept
    expect(r.controls.find((c) => c.id === "C-1")!.operation.verdicts.kept).toBeLessThan(24);
  });

  it("a record altered days before the period is not the period's: the chain from the record before its first is", () => {
    const dir = hourly();
    const seq = changeAt(dir, "2026-02-27T00:00", "2026-02-27T23:00");
    const db = raw(dir);
    db.prepare("UPDATE ledger SET body = replace(body, '\"drift\"', '\"kept\"') WHERE seq = ?").run(seq);
    db.close();
    expect(reportOf(dir).integrity.verdict).toBe("intact");
    expect(reportOf(dir, "2026-02-27", "2026-03-01").integrity.verdict).toBe("tampered");
  });

  it("a period reaching the store's end is held to the head anchors: records cut off the end are found", () => {
    const dir = hourly();
    const db = raw(dir);
    const last = db.prepare("SELECT max(seq) FROM ledger").pluck().get() as number;
    db.prepare("DELETE FROM ledger WHERE seq = ?").run(last);
    db.close();
    expect(reportOf(dir, "2026-03-01", "2026-03-03").integrity).toMatchObject({ verdict: "tampered", tampering: { kind: "deleted" } });
  });
});

describe("the host's clock", () => {
  it("flags a step back and a jump, and says the times are the host's", () => {
    const dir = tempDir("report-clock");
    const store = StateStore.open(dir);
    for (let h = 0; h < 10; h++) recordRun(store, { at: at(h * 60), results: kept() });
    recordRun(store, { at: at(5 * 60 + 30), results: kept() }); // the clock set back 4.5 hours
    for (let h = 20; h < 24; h++) recordRun(store, { at: at(h * 60), results: kept() }); // a 14.5-hour jump
    store.close();
    const r = reportOf(dir);
    expect(r.clock.source).toBe("host");
    // (runs that change no state write only their summary, timed when they finished: a second after they began)
    const finished = (minutes: number) => new Date(Date.parse(at(minutes)) + 1000).toISOString();
    expect(r.clock.backwardSteps).toEqual([expect.objectContaining({ at: finished(5 * 60 + 30), previousAt: finished(9 * 60) })]);
    expect(r.clock.backwardSteps[0]!.deltaMs).toBeLessThan(0);
    expect(r.clock.jumpThresholdMs).toBe(2 * 3_600_000);
    expect(r.clock.jumps).toHaveLength(1);
    expect(r.clock.jumps[0]!.at).toBe(finished(20 * 60));
  });

  it("a clock set back to before the period is a step back in it", () => {
    const dir = tempDir("report-clock");
    const store = StateStore.open(dir);
    for (let h = 0; h < 5; h++) recordRun(store, { at: at(h * 60), results: kept() });
    recordRun(store, { at: at(-3 * 24 * 60), results: kept() }); // three days back
    for (let h = 5; h < 8; h++) recordRun(store, { at: at(h * 60), results: kept() });
    store.close();
    const r = reportOf(dir);
    expect(r.clock.backwardSteps).toHaveLength(1);
    expect(r.clock.backwardSteps[0]!.at.startsWith("2026-02-26")).toBe(true);
    expect(r.summary.runs.operational).toBe(8);
  });
});

describe("the period's days", () => {
  it("are read in the time zone: the same store gives other evaluations in Tokyo than in UTC", () => {
    const dir = hourly();
    const utc = reportOf(dir, "2026-03-01", "2026-03-01", "UTC");
    const tokyo = reportOf(dir, "2026-03-01", "2026-03-01", "Asia/Tokyo");
    expect(utc.period).toMatchObject({ start: "2026-03-01T00:00:00.000Z", end: "2026-03-02T00:00:00.000Z", timeZone: "UTC" });
    expect(tokyo.period).toMatchObject({ start: "2026-02-28T15:00:00.000Z", end: "2026-03-01T15:00:00.000Z", timeZone: "Asia/Tokyo" });
    expect(utc.summary.runs.operational).toBe(24);
    expect(tokyo.summary.runs.operational).toBe(24);
    // the runs at 15:00Z to 23:00Z on 2026-02-28 are Tokyo's 2026-03-01, not UTC's
    expect(tokyo.controls[0]!.timeline).toEqual([expect.objectContaining({ day: "2026-03-01", evaluations: 24 })]);
  });

  it("a configured cadence finds the gaps a learned one would not", () => {
    const dir = hourly();
    const store = StateStore.openReadOnly(dir);
    const r = buildReport(store, { period: periodOf("2026-03-01", "2026-03-01", "UTC"), generator: "test", now: NOW, expectedEveryMs: 10 * 60_000 });
    store.close();
    const c1 = r.controls.find((c) => c.id === "C-1")!;
    expect(c1.operation.expected).toEqual({ everyMs: 600_000, source: "configured", count: 144 });
    expect(c1.operation.gaps).toHaveLength(24);
    expect(c1.operation.gaps[0]!.text).toBe("control not operating from 2026-03-01T00:00:00.000Z to 2026-03-01T01:00:00.000Z");
  });
});
