// Attack regression: a period ending on 9999-12-31 (the day after it is in year 10000, whose ISO
// name sorts before any date) once made the report's day loop run until memory ran out.
import { afterAll, describe, expect, it } from "vitest";
import { periodOf } from "../../src/facts/period.ts";
import { buildReport } from "../../src/report/report-build.ts";
import { StateStore } from "../../src/store/store.ts";
import { removeTempDirs, tempDir } from "../store/helpers.ts";
import { at, kept, recordRun } from "./report-helpers.ts";

afterAll(() => removeTempDirs());

describe("a period at the calendar's end", () => {
  it("9999-12-31 is one day, reported at once", () => {
    const dir = tempDir("report-far");
    const store = StateStore.open(dir);
    recordRun(store, { at: at(0), results: kept() });
    const r = buildReport(store, { period: periodOf("9999-12-31", "9999-12-31", "UTC"), generator: "test", now: new Date("2026-04-01T00:00:00Z") });
    store.close();
    expect(r.controls.every((c) => c.timeline.length === 1)).toBe(true);
    expect(r.summary.runs.operational).toBe(0);
  });
});
