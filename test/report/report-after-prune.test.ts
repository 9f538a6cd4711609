// Attack probe: a report over a period that starts at or after a prune's cut (a legitimate prune)
// must not call the store tampered; one over a period whose records were pruned says so plainly.
import { afterAll, describe, expect, it } from "vitest";
import { periodOf } from "../../src/facts/period.ts";
import { buildReport } from "../../src/report/report-build.ts";
import { StateStore } from "../../src/store/store.ts";
import { raw, removeTempDirs, tempDir } from "../store/helpers.ts";
import { at, B, kept, recordRun, result } from "./report-helpers.ts";

afterAll(() => removeTempDirs());

function pruned(): string {
  const dir = tempDir("report-prune");
  const store = StateStore.open(dir);
  for (let h = -48; h < 48; h++) {
    const results = kept();
    if (h % 7 === 0) results[1] = result(B, "drift");
    recordRun(store, { at: at(h * 60), results });
  }
  const db = raw(dir);
  const last = db.prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1").get() as { seq: number; mac: Buffer };
  db.close();
  const evidence = { manifestSha256: "0".repeat(64), fingerprint: "test", firstRecord: 1, lastRecord: last.seq, from: "2026-02-01", to: "2026-03-31", lastMac: last.mac.toString("hex") };
  store.prune({ before: new Date("2026-03-01T00:00:00Z"), evidence });
  expect(store.verify().tampering).toBeUndefined();
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

describe("a report after a prune", () => {
  it("over the period just after the cut is intact", () => {
    const dir = pruned();
    const r = reportOf(dir, "2026-03-01", "2026-03-01");
    expect(r.integrity.tampering).toBeUndefined();
    expect(r.integrity.verdict).toBe("intact");
  });
  it("over the whole store is intact", () => {
    const r = reportOf(pruned(), "2026-01-01", "2026-03-31");
    expect(r.integrity.tampering).toBeUndefined();
  });
  it("over a later period is intact", () => {
    const r = reportOf(pruned(), "2026-03-02", "2026-03-02");
    expect(r.integrity.tampering).toBeUndefined();
  });
});

describe("tampering after a prune, as the report sees it", () => {
  it("a period reaching into the pruned part says where its records are", () => {
    const r = reportOf(pruned(), "2026-02-27", "2026-03-01");
    expect(r.integrity.verdict).toBe("intact");
    expect(r.integrity.notes.join("\n")).toMatch(/was pruned on .*evidence pack of 2026-02-01 to 2026-03-31/);
  });

  it("the record after the cut deleted is found", () => {
    const dir = pruned();
    const db = raw(dir);
    const cut = (JSON.parse(db.prepare("SELECT value FROM meta WHERE key = 'checkpoint'").pluck().get() as string) as { cut: { seq: number } }).cut.seq;
    db.prepare("DELETE FROM ledger WHERE seq = ?").run(cut + 1);
    db.close();
    expect(reportOf(dir, "2026-03-01", "2026-03-01").integrity).toMatchObject({ verdict: "tampered", tampering: { kind: "deleted" } });
  });

  it("a record put back below the cut, in the period, is found", () => {
    const dir = pruned();
    const db = raw(dir);
    const row = db.prepare("SELECT * FROM ledger WHERE seq = (SELECT max(seq) FROM ledger)").get() as Record<string, unknown>;
    db.prepare("INSERT INTO ledger (seq, kind, run, time, body, mac) VALUES (?, ?, ?, ?, ?, ?)").run(db.prepare("SELECT min(seq) + 1 FROM ledger l WHERE NOT EXISTS (SELECT 1 FROM ledger m WHERE m.seq = l.seq + 1)").pluck().get(), row["kind"], row["run"], "2026-02-28T12:00:00.000Z", row["body"], row["mac"]);
    db.close();
    expect(reportOf(dir, "2026-02-28", "2026-03-01").integrity.verdict).toBe("tampered");
  });

  it("a checkpoint the key did not seal is no checkpoint: the records missing from the start are found", () => {
    const dir = pruned();
    const db = raw(dir);
    db.prepare("UPDATE meta SET value = replace(value, '\"seal\":\"', '\"seal\":\"0') WHERE key = 'checkpoint'").run();
    db.close();
    expect(reportOf(dir, "2026-03-01", "2026-03-01").integrity).toMatchObject({ verdict: "tampered" });
  });
});
