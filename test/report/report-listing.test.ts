// A report for reading lists a bounded number of episodes and repairs per control (`--list N`):
// every episode still open at the period's end, then the longest, then the most recent; the
// figures stay over every one, and the model says how many of how many are listed. Built from a
// real store whose promise flaps all day, and `--control` narrowing the pass to the same result.
import { afterAll, describe, expect, it } from "vitest";
import { periodOf } from "../../src/facts/period.ts";
import { buildReport } from "../../src/report/report-build.ts";
import fc from "fast-check";
import { EpisodeBook, RepairBook } from "../../src/report/report-books.ts";
import { episodesToList } from "../../src/report/report-listing.ts";
import type { Episode, EvidenceReport, Repair } from "../../src/report/report-model.ts";
import { StateStore } from "../../src/store/store.ts";
import { removeTempDirs, tempDir } from "../store/helpers.ts";
import { A, at, B, C, kept, recordRun, result } from "./report-helpers.ts";

afterAll(() => removeTempDirs());

function episode(openedRecord: number, durationMs: number | undefined): Episode {
  const e: Episode = { id: `d-${openedRecord}`, promise: A, type: "file", promiser: "/srv/a", outcome: "drift", notice: false, opened: at(openedRecord), openedRecord, repaired: false, reason: "r", told: [] };
  if (durationMs !== undefined) Object.assign(e, { resolved: at(openedRecord + 1), resolvedRecord: openedRecord + 1, resolvedBy: "kept", durationMs });
  return e;
}

describe("which episodes are listed", () => {
  // 300 resolved episodes, the longest opened at record 7 (duration 7,000 s) and the others shorter; three still open
  const resolved = Array.from({ length: 300 }, (_, i) => episode(i + 1, i === 6 ? 7_000_000 : 1000 * ((i * 37) % 100)));
  const open = [episode(400, undefined), episode(5, undefined), episode(250, undefined)];
  const all = [...resolved, ...open];

  it("lists every one when the limit is not reached, in the order they opened", () => {
    expect(episodesToList(all, undefined).map((e) => e.openedRecord)).toEqual([...all].sort((a, b) => a.openedRecord - b.openedRecord).map((e) => e.openedRecord));
    expect(episodesToList(all.slice(0, 20), 20)).toHaveLength(20);
  });

  it("lists the open ones, then the longest for half the room left, then the most recent", () => {
    const listed = episodesToList(all, 11);
    expect(listed).toHaveLength(11);
    const records = listed.map((e) => e.openedRecord);
    expect(records).toEqual([...records].sort((a, b) => a - b));
    for (const o of open) expect(listed).toContain(o);
    // room for 8 after the open ones: the 4 longest, then the 4 most recent not yet chosen
    const longest = [...resolved].sort((a, b) => b.durationMs! - a.durationMs! || b.openedRecord - a.openedRecord).slice(0, 4);
    expect(longest[0]!.openedRecord).toBe(7);
    for (const e of longest) expect(listed).toContain(e);
    const recent = resolved.filter((e) => !longest.includes(e)).sort((a, b) => b.openedRecord - a.openedRecord).slice(0, 4);
    for (const e of recent) expect(listed).toContain(e);
  });

  it("never leaves an open episode out, even past the limit", () => {
    expect(episodesToList(all, 2)).toEqual([...open].sort((a, b) => a.openedRecord - b.openedRecord));
    expect(episodesToList(all, 0)).toHaveLength(3);
  });

  it("lists the most recent repairs, in time order, and counts every one", () => {
    const repairs: Repair[] = Array.from({ length: 50 }, (_, i) => ({ at: at(i), record: i + 1, promise: A, changes: [] }));
    const bounded = new RepairBook(5);
    const every = new RepairBook(undefined);
    for (const r of repairs) [bounded, every].forEach((b) => b.add(r));
    expect(bounded.listed().map((r) => r.record)).toEqual([46, 47, 48, 49, 50]);
    expect(bounded.total).toBe(50);
    expect(every.listed()).toHaveLength(50);
  });
});

describe("what a control keeps of its episodes as the pass goes", () => {
  /** Episodes as the pass gives them: resolved ones as they resolve (any order of opening), the open ones last. */
  const episodes = fc
    .array(fc.record({ opened: fc.integer({ min: 1, max: 5000 }), duration: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }), notice: fc.boolean() }), { maxLength: 300 })
    .map((xs) => {
      const seen = new Set<number>();
      const unique = xs.filter((x) => !seen.has(x.opened) && seen.add(x.opened));
      const made = unique.map((x) => ({ ...episode(x.opened, x.notice ? 0 : x.duration), notice: x.notice && x.duration !== undefined }));
      return [...made.filter((e) => e.resolved !== undefined), ...made.filter((e) => e.resolved === undefined)];
    });

  it("lists, from only what it keeps, exactly what listing every one would; the counts and durations are over every one", () => {
    fc.assert(
      fc.property(episodes, fc.integer({ min: 0, max: 40 }), (all, limit) => {
        const forgotten = new Set<Episode>();
        const book = new EpisodeBook(limit, (e) => forgotten.add(e));
        for (const e of all) book.add(e);
        expect(book.listed(limit)).toEqual(episodesToList(all, limit));
        for (const e of book.listed(limit)) expect(forgotten.has(e)).toBe(false);
        expect(book.total).toBe(all.length);
        expect(book.deficiencies).toBe(all.filter((e) => !e.notice).length);
        expect(book.openAtEnd).toBe(all.filter((e) => e.resolved === undefined).length);
        expect([...book.durations].sort((a, b) => a - b)).toEqual(all.filter((e) => !e.notice && e.durationMs !== undefined).map((e) => e.durationMs!).sort((a, b) => a - b));
        // what it forgot is never more than it was given, and it keeps at most the open ones and twice the limit
        expect(all.length - forgotten.size).toBeLessThanOrEqual(all.filter((e) => e.resolved === undefined).length + 2 * limit);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps every one when every one is listed", () => {
    const book = new EpisodeBook(undefined, () => {
      throw new Error("nothing is forgotten when every episode is listed");
    });
    const all = Array.from({ length: 120 }, (_, i) => episode(i + 1, i));
    for (const e of all) book.add(e);
    expect(book.listed(undefined)).toHaveLength(120);
  });
});

/** Two days in UTC, a run every 10 minutes: A drifts every other run and is repaired the next; B drifts at the end and stays so. */
function flapping(): StateStore {
  const store = StateStore.open(tempDir("report-listing"));
  for (let i = 0; i < 288; i++) {
    const results = kept();
    if (i % 4 === 1) results[0] = result(A, "drift");
    if (i % 4 === 2) results[0] = result(A, "repaired");
    if (i >= 280) results[1] = result(B, "drift");
    if (i % 3 === 0) results[2] = result(C, "repaired");
    recordRun(store, { at: at(i * 10), results });
  }
  return store;
}

describe("a control over the limit, from a real store", () => {
  const store = flapping();
  const build = (extra: Partial<Parameters<typeof buildReport>[1]> = {}): EvidenceReport => buildReport(store, { period: periodOf("2026-03-01", "2026-03-02", "UTC"), generator: "test", now: new Date("2026-04-01T00:00:00Z"), ...extra });
  const every = build();
  const listed = build({ list: 10 });

  it("says how many of how many it lists, and lists the open one", () => {
    const c = listed.controls.find((x) => x.id === "C-1")!;
    const all = every.controls.find((x) => x.id === "C-1")!;
    expect(all.operation.listing).toEqual({ limit: null, episodes: { total: 73, listed: 73, deficiencies: 73, openAtEnd: 1 }, repairs: { total: 72, listed: 72 } });
    expect(c.operation.listing).toEqual({ limit: 10, episodes: { total: 73, listed: 10, deficiencies: 73, openAtEnd: 1 }, repairs: { total: 72, listed: 10 } });
    expect(c.operation.episodes).toHaveLength(10);
    expect(c.operation.episodes.filter((e) => e.resolved === undefined).map((e) => e.promise)).toEqual([B]);
    expect(c.operation.repairs.map((r) => r.record)).toEqual(all.operation.repairs.slice(-10).map((r) => r.record));
    for (const e of c.operation.episodes) expect(all.operation.episodes).toContainEqual(e);
  });

  it("keeps every figure over all of them", () => {
    expect(listed.summary).toEqual(every.summary);
    for (const [i, c] of listed.controls.entries()) expect(c.operation.remediation).toEqual(every.controls[i]!.operation.remediation);
    expect(every.summary.episodes).toBe(73);
    expect(every.summary.openAtEnd).toBe(1);
  });

  it("counts notices apart from deficiencies", () => {
    const c2 = every.controls.find((x) => x.id === "C-2")!;
    expect(c2.operation.listing.episodes).toEqual({ total: 96, listed: 96, deficiencies: 0, openAtEnd: 0 });
  });

  it("gives the same control when `--control` narrows the pass", () => {
    const narrowed = build({ controls: ["C-1"], sample: { size: 5, seed: "s" } });
    const full = build({ sample: { size: 5, seed: "s" } });
    expect(narrowed.controls).toEqual([full.controls.find((x) => x.id === "C-1")]);
    expect(narrowed.sample!.controls).toEqual(full.sample!.controls.filter((x) => x.control === "C-1"));
  });
});
