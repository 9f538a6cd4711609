// The zone a period's days are read in: --tz, else the calendar of the newest policy version the
// store holds (checked again from its stored text), else the host's.
import { afterAll, describe, expect, it } from "vitest";
import { reportPeriod } from "../../src/cli/report-period.ts";
import { PeriodError } from "../../src/facts/period.ts";
import { hashPolicy, StateStore } from "../../src/store/store.ts";
import { removeTempDirs, runBody, tempDir } from "../store/helpers.ts";

afterAll(() => removeTempDirs());

function storeWith(...policies: string[]): StateStore {
  const store = StateStore.open(tempDir("period"));
  for (const text of policies) {
    const files = [{ path: "/etc/covenant/p.promise", text }];
    store.finishRun({ ...runBody(store.beginRun(), 0), policy: hashPolicy(files) }, files);
  }
  return store;
}

const control = 'control "C-1" {\n  title = "x"\n  file "/srv/ledger/gl.dat" { mode = 0640 }\n}\n';
const paris = `calendar {\n  timezone = "Europe/Paris"\n}\n${control}`;
const tokyo = `calendar {\n  timezone = "Asia/Tokyo"\n}\n${control}`;

describe("reportPeriod", () => {
  it("takes --tz first, then the newest stored policy's calendar", () => {
    const store = storeWith(paris, tokyo);
    expect(reportPeriod(store, "2026-01-01", "2026-01-31", "UTC")).toMatchObject({ timeZone: "UTC", zoneFrom: "--tz", period: { startMs: Date.UTC(2026, 0, 1), endMs: Date.UTC(2026, 1, 1) } });
    const p = reportPeriod(store, "2026-01-01", "2026-01-31");
    expect(p).toMatchObject({ timeZone: "Asia/Tokyo", zoneFrom: "policy calendar" });
    expect(p.period.startMs).toBe(Date.UTC(2025, 11, 31, 15));
    store.close();
  });

  it("falls back to the host's zone with no policy, with no calendar zone, or with a stored policy that no longer checks", () => {
    const host = Intl.DateTimeFormat().resolvedOptions().timeZone;
    for (const store of [storeWith(), storeWith(control), storeWith(paris.replace('title = "x"', "title = "))]) {
      expect(reportPeriod(store, "2026-01-01", "2026-01-02")).toMatchObject({ timeZone: host, zoneFrom: "host" });
      store.close();
    }
  });

  it("says a bad date or zone as a PeriodError", () => {
    const store = storeWith();
    expect(() => reportPeriod(store, "2026-01-32", "2026-02-01")).toThrow(PeriodError);
    expect(() => reportPeriod(store, "2026-01-01", "2026-02-01", "Nowhere/Else")).toThrow(PeriodError);
    store.close();
  });
});
