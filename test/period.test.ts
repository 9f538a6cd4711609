import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { inPeriod, periodOf, PeriodError } from "../src/facts/period.js";

describe("periodOf", () => {
  it("reads whole days in the calendar's time zone, both ends included", () => {
    const p = periodOf("2026-03-29", "2026-03-29", "Europe/Paris");
    expect(new Date(p.startMs).toISOString()).toBe("2026-03-28T23:00:00.000Z");
    // the day the clocks go forward has 23 hours
    expect((p.endMs - p.startMs) / 3_600_000).toBe(23);
    expect(inPeriod(p, "2026-03-29T21:59:59.999Z")).toBe(true);
    expect(inPeriod(p, "2026-03-29T22:00:00.000Z")).toBe(false);
  });

  it("finds the first instant of a day whose midnight a clock change skips", () => {
    // Havana moves its clocks at midnight: 2026-11-01 begins at 00:00 after falling back
    const p = periodOf("2026-03-08", "2026-03-08", "America/Havana");
    expect(p.endMs - p.startMs).toBeLessThanOrEqual(24 * 3_600_000);
    expect(new Date(p.startMs).toISOString()).toBe("2026-03-08T05:00:00.000Z");
  });

  it("refuses dates that are not on the calendar, backwards periods and unknown zones", () => {
    expect(() => periodOf("2026-02-30", "2026-03-01")).toThrow(PeriodError);
    expect(() => periodOf("2026-3-1", "2026-03-01")).toThrow(/YYYY-MM-DD/);
    expect(() => periodOf("2026-03-02", "2026-03-01")).toThrow(/before/);
    expect(() => periodOf("2026-03-01", "2026-03-01", "Mars/Olympus")).toThrow(/time zone/);
  });

  it("tiles time: consecutive days meet without gap or overlap, in any zone", () => {
    const zones = ["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/Havana", "Pacific/Apia"];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3650 }), fc.constantFrom(...zones), (n, zone) => {
        const day = (k: number) => new Date(Date.UTC(2020, 0, 1 + k)).toISOString().slice(0, 10);
        const a = periodOf(day(n), day(n), zone);
        const b = periodOf(day(n + 1), day(n + 1), zone);
        const both = periodOf(day(n), day(n + 1), zone);
        expect(a.endMs).toBe(b.startMs);
        expect(both.startMs).toBe(a.startMs);
        expect(both.endMs).toBe(b.endMs);
        expect(a.endMs - a.startMs).toBeGreaterThanOrEqual(22 * 3_600_000);
        expect(a.endMs - a.startMs).toBeLessThanOrEqual(26 * 3_600_000);
      }),
      { numRuns: 300 },
    );
  });
});
