// Attack regression: records deleted at the end of the period (or the whole period) leave a gap
// that only the record after the period shows; the report's verdict must still be "tampered".
import { afterAll, describe, expect, it } from "vitest";
import { periodOf } from "../../src/facts/period.ts";
import { buildReport } from "../../src/report/report-build.ts";
import { StateStore } from "../../src/store/store.ts";
import { raw, removeTempDirs, tempDir } from "../store/helpers.ts";
import { at, B, kept, recordRun, result } from "./report-helpers.ts";

afterAll(() => removeTempDirs());

function hourly(): string {
  const dir = tempDir("report-ends");
  const store = StateStore.open(dir);
  for (let h = -48; h < 48; h++) {
    const results = kept();
    if (h % 7 === 0) results[1] = result(B, "drift");
    recordRun(store, { at: at(h * 60), results });
  }
  store.close();
  return dir;
}

function reportOf(dir: string, from: string, to: string) {
  const store = StateStore.openReadOnly(dir);
  try {
    return buildReport(store, { period: periodOf(from, to, "UTC"), generator: "test", now: new Date("2026-04-01T00:00:00Z") });
  } finally {
    store.close();
  }
}

function deleteTimes(dir: string, fromIso: string, toIso: string): number {
  const db = raw(dir);
  const n = db.prepare("DELETE FROM ledger WHERE time >= ? AND time < ?").run(fromIso, toIso).changes;
  db.close();
  return n;
}

describe("records deleted at the period's edges", () => {
  it("the period's last records deleted (the next record shows the gap) make the report say tampered", () => {
    const dir = hourly();
    expect(reportOf(dir, "2026-03-01", "2026-03-01").integrity.verdict).toBe("intact");
    expect(deleteTimes(dir, "2026-03-01T20:00", "2026-03-02T00:00")).toBeGreaterThan(0);
    const r = reportOf(dir, "2026-03-01", "2026-03-01");
    expect(r.integrity).toMatchObject({ verdict: "tampered", tampering: { kind: "deleted" } });
  });

  it("every record of the period deleted makes the report say tampered, not 'no record in the period'", () => {
    const dir = hourly();
    expect(deleteTimes(dir, "2026-03-01T00:00", "2026-03-02T00:00")).toBeGreaterThan(0);
    const r = reportOf(dir, "2026-03-01", "2026-03-01");
    expect(r.integrity).toMatchObject({ verdict: "tampered", tampering: { kind: "deleted" } });
  });

  it("a record altered the day after the period is still not the period's", () => {
    const dir = hourly();
    const db = raw(dir);
    db.prepare("UPDATE ledger SET body = replace(body, '\"drift\"', '\"kept\"') WHERE seq = (SELECT seq FROM ledger WHERE kind = 'change' AND body LIKE '%\"to\":\"drift\"%' AND time >= '2026-03-02T05:00' ORDER BY seq LIMIT 1)").run();
    db.close();
    expect(reportOf(dir, "2026-03-01", "2026-03-01").integrity.verdict).toBe("intact");
  });
});
