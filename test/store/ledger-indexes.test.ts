// Schema 8: the fleet hub's waivers (read by every run), the policy versions (looked up by a run
// of a changed policy) and the outbox's unrouted events (asked of every resolved deficiency by a
// run's summary) each have a partial index of their own, so that neither read walks the whole
// history. A schema-7 store is read as it is by read-only commands (same answers, no index made),
// and gains the indexes at its next run, changing no record.
import Database from "better-sqlite3";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { WAIVERS_SQL, type WaiverBody } from "../../src/store/hub-decisions.ts";
import { sealHead } from "../../src/store/ledger.ts";
import { POLICY_BY_HASH_SQL } from "../../src/store/policies.ts";
import { RETIRABLE_SQL } from "../../src/store/deficiencies.ts";
import { SCHEMA_VERSION, StateStore } from "../../src/store/store.ts";
import { keyOf, populated, raw, removeTempDirs } from "./helpers.ts";

afterAll(removeTempDirs);

const waiver = (n: number, over: Partial<WaiverBody> = {}): WaiverBody => ({ decision: `d-${n}`, control: `C-${n}`, reason: "vendor fix due", approvedBy: "alice (hub)", until: "2027-01-31", givenAt: "2026-11-23T09:00:00.000Z", at: "2026-11-23T09:00:01.000Z", hub: "ab".repeat(16), ...over });

/** A store with waivers among its other records (one a body that does not read as a waiver), and a policy record. */
function storeWithWaivers(): string {
  const { dir, store } = populated(2);
  store.applyHubDecision("d-1", (w) => w.waiver(waiver(1)));
  const run = store.beginRun();
  store.applyHubDecision("d-2", (w) => w.waiver(waiver(2, { from: "2026-12-01" })));
  store.finishRun({ run, host: "h", started: "2026-11-23T11:00:00.000Z", finished: "2026-11-23T11:00:01.000Z", policy: "", dryRun: false, promises: 0, counts: {}, outcomes: "d" });
  store.applyHubDecision("d-3", (w) => w.waiver({ decision: "d-3", control: "C-3", at: "2026-11-23T12:00:00.000Z" } as WaiverBody));
  store.applyHubDecision("d-4", (w) => w.waiver(waiver(4)));
  store.close();
  return dir;
}

/** The store as schema 7 left it: no partial indexes, its anchors sealed with schema 7. */
function asSchema7(dir: string): void {
  const key = keyOf(dir);
  const db = raw(dir);
  db.exec("DROP INDEX ledger_waivers; DROP INDEX ledger_policies; DROP INDEX outbox_unrouted; UPDATE meta SET value = '7' WHERE key = 'schema'");
  const last = db.prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1").get() as { seq: number; mac: Buffer };
  const dbHead = JSON.parse(db.prepare("SELECT value FROM meta WHERE key = 'head'").pluck().get() as string) as { bands?: string };
  db.prepare("UPDATE meta SET value = ? WHERE key = 'head'").run(JSON.stringify(sealHead(key, last.seq, last.mac, { schema: 7, ...(dbHead.bands ? { bands: dbHead.bands } : {}) })));
  const run = Number(db.prepare("SELECT value FROM meta WHERE key = 'last_run'").pluck().get());
  db.close();
  writeFileSync(join(dir, "ledger.head"), JSON.stringify(sealHead(key, last.seq, last.mac, { schema: 7, run })) + "\n");
}

const indexesOf = (dir: string) => raw(dir).prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ledger' ORDER BY name").pluck().all();
const ledgerOf = (dir: string) => raw(dir).prepare("SELECT seq, kind, run, time, body, hex(mac) AS mac FROM ledger ORDER BY seq").all();

describe("the ledger's partial indexes (schema 8)", () => {
  it("a run's waivers are read through their index, not the history, and are the waiver records in order", () => {
    const dir = storeWithWaivers();
    expect(SCHEMA_VERSION).toBe(8);
    const db = new Database(join(dir, "state.db"), { readonly: true });
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${WAIVERS_SQL}`).all() as { detail: string }[]).map((r) => r.detail);
    const policyPlan = (db.prepare(`EXPLAIN QUERY PLAN ${POLICY_BY_HASH_SQL}`).all("x") as { detail: string }[]).map((r) => r.detail);
    const retirablePlan = (db.prepare(`EXPLAIN QUERY PLAN ${RETIRABLE_SQL}`).all() as { detail: string }[]).map((r) => r.detail);
    db.close();
    expect(plan).toEqual(["SEARCH ledger USING INDEX ledger_waivers (kind=?)"]);
    // the retirable ids from the indexes alone; a row is read only for an id found
    expect(retirablePlan).toEqual(["SEARCH deficiencies USING PRIMARY KEY (id=?)", "LIST SUBQUERY 2", "SEARCH d USING COVERING INDEX deficiencies_status (status=?)", "CORRELATED SCALAR SUBQUERY 1", "SEARCH e USING COVERING INDEX outbox_unrouted (deficiency=?)"]);
    expect(policyPlan).toEqual(["SEARCH ledger USING INDEX ledger_policies (kind=?)"]);
    const store = StateStore.open(dir);
    try {
      // the one that does not read as a waiver is passed over, as before
      expect(store.hubWaivers()).toEqual([waiver(1), waiver(2, { from: "2026-12-01" }), waiver(4)]);
      expect(store.hubDecisionAnswer("d-3")).toBeGreaterThan(0);
    } finally {
      store.close();
    }
  });

  it("a schema-7 store: read as it is by a reader (same waivers, nothing made), given the indexes by its next run, no record changed", () => {
    const dir = storeWithWaivers();
    const before = StateStore.open(dir);
    const waivers = before.hubWaivers();
    before.close();
    asSchema7(dir);
    const ledger = ledgerOf(dir);
    const reader = StateStore.openReadOnly(dir);
    try {
      expect(reader.verify().tampering).toBeUndefined();
      expect(reader.hubWaivers()).toEqual(waivers);
    } finally {
      reader.close();
    }
    expect(indexesOf(dir)).toEqual(["ledger_run"]);
    expect(raw(dir).prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get()).toBe("7");
    const store = StateStore.open(dir);
    try {
      expect(store.hubWaivers()).toEqual(waivers);
      expect(indexesOf(dir)).toEqual(["ledger_policies", "ledger_run", "ledger_waivers"]);
      expect(raw(dir).prepare("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'outbox_unrouted'").pluck().get()).toBe(1);
      expect(raw(dir).prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get()).toBe("8");
      expect(ledgerOf(dir)).toEqual(ledger);
      expect(store.verify().tampering).toBeUndefined();
    } finally {
      store.close();
    }
  });

  it("an index dropped from a store that says schema 8 is tampering: a run refuses to open it", () => {
    const dir = storeWithWaivers();
    raw(dir).exec("DROP INDEX ledger_waivers");
    expect(() => StateStore.open(dir)).toThrow(/its index `ledger_waivers` is missing/);
    expect(() => StateStore.openReadOnly(dir)).toThrow(/its index `ledger_waivers` is missing/);
    const other = storeWithWaivers();
    raw(other).exec("DROP INDEX outbox_unrouted");
    expect(() => StateStore.open(other)).toThrow(/its index `outbox_unrouted` is missing/);
  });
});
