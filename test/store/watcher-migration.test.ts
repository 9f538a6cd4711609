// A store written by Covenant before the watcher (schema 5, run summaries without a kind): read as
// it is by history and verify, and brought to schema 6 by the next run, which adds the empty
// heartbeat table and changes no record. Its summaries still verify, byte for byte, and read as
// runs of `covenant run`.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { GENESIS, macOf, sealHead, type LedgerRow } from "../../src/store/ledger.ts";
import { HistoryBrokenError, runKindOf, SCHEMA_VERSION, StateStore, type RunBody } from "../../src/store/store.ts";
import { populated, raw, removeTempDirs, result, runBody } from "./helpers.ts";
import { at, finding } from "./notify-helpers.ts";

beforeAll(() => ensureBuilt());
afterAll(() => removeTempDirs());

const keyOf = (dir: string) => Buffer.from(readFileSync(join(dir, "host.key"), "utf8").trim(), "hex");

/**
 * A schema-5 store as Covenant 5 left it: three runs, a deficiency open (C-2/load: in error), no
 * heartbeat table, run summaries without `kind`, chained and anchored with schema 5 by the key.
 */
function schema5Store(): string {
  const { dir, store } = populated(2);
  const run = store.beginRun();
  store.recordResult(run, at(run), result("C-2/load:", "error", ["cannot read /proc/loadavg"]), finding("C-2"));
  store.finishRun(runBody(run, 3));
  store.close();
  const key = keyOf(dir);
  const db = raw(dir);
  db.exec("DROP TABLE watcher; UPDATE meta SET value = '5' WHERE key = 'schema'");
  // the summaries as Covenant 5 wrote them, and the chain over them
  let prev = GENESIS;
  for (const r of db.prepare("SELECT * FROM ledger ORDER BY seq").all() as LedgerRow[]) {
    let body = r.body;
    if (r.kind === "run") {
      const { kind: _kind, ...old } = JSON.parse(body) as RunBody;
      body = JSON.stringify(old);
    }
    const mac = macOf(key, prev, { kind: r.kind, run: r.run, time: r.time, body });
    db.prepare("UPDATE ledger SET body = ?, mac = ? WHERE seq = ?").run(body, mac, r.seq);
    prev = mac;
  }
  const last = db.prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1").get() as { seq: number; mac: Buffer };
  const dbHead = JSON.parse(db.prepare("SELECT value FROM meta WHERE key = 'head'").pluck().get() as string) as { bands?: string };
  db.prepare("UPDATE meta SET value = ? WHERE key = 'head'").run(JSON.stringify(sealHead(key, last.seq, last.mac, { schema: 5, ...(dbHead.bands ? { bands: dbHead.bands } : {}) })));
  db.close();
  writeFileSync(join(dir, "ledger.head"), JSON.stringify(sealHead(key, last.seq, last.mac, { schema: 5, run: 3 })) + "\n");
  return dir;
}

const schemaOf = (dir: string) => raw(dir).prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get();
const ledgerOf = (dir: string) => raw(dir).prepare("SELECT seq, kind, run, time, body, hex(mac) AS mac FROM ledger ORDER BY seq").all();

describe("schema 5 to 6", () => {
  it("read-only commands read a schema-5 store as it is: no watcher, intact, its summaries runs of `covenant run`", () => {
    const dir = schema5Store();
    const reader = StateStore.openReadOnly(dir);
    expect(reader.watcherStatus()).toEqual({ state: "none" });
    const report = reader.verify();
    const summaries = reader.history({ kinds: ["run"] });
    reader.close();
    expect(report.tampering).toBeUndefined();
    expect(report).toMatchObject({ runs: [1, 2, 3], watchRuns: 0, notes: [] });
    expect(summaries.map((e) => [e.verified, (e.body as RunBody).kind, runKindOf(e.body as RunBody)])).toEqual([
      [true, undefined, "run"],
      [true, undefined, "run"],
      [true, undefined, "run"],
    ]);
    expect(StateStore.watcherStatusOf(dir)).toEqual({ state: "none" });
    expect(schemaOf(dir)).toBe("5");
    const history = covenant(["history", "--state", dir]);
    expect(history.code).toBe(0);
    expect(history.out).toContain("run 3: 3 promises tested");
    expect(history.out).not.toContain("(watch)");
  });

  it("the next run adds the empty heartbeat table and changes no record; the old summaries verify unchanged", () => {
    const dir = schema5Store();
    const before = ledgerOf(dir);
    const store = StateStore.open(dir);
    expect(schemaOf(dir)).toBe(String(SCHEMA_VERSION));
    expect(raw(dir).prepare("SELECT count(*) FROM watcher").pluck().get()).toBe(0);
    expect(ledgerOf(dir)).toEqual(before);
    expect(store.watcherStatus()).toEqual({ state: "none" });
    expect(store.listDeficiencies().map((d) => d.key)).toEqual(["C-1/file:b", "C-2/load:"]);
    expect(store.verify().tampering).toBeUndefined();

    // the next run's summary says its kind; the old ones go on reading as runs
    const run = store.beginRun();
    store.recordResult(run, at(run), result("C-2/load:", "kept"), finding("C-2"));
    store.finishRun(runBody(run, 3));
    const kinds = store.history({ kinds: ["run"] }).map((e) => [(e.body as RunBody).kind, runKindOf(e.body as RunBody)]);
    expect(kinds).toEqual([
      [undefined, "run"],
      [undefined, "run"],
      [undefined, "run"],
      ["run", "run"],
    ]);
    expect(ledgerOf(dir).slice(0, before.length)).toEqual(before);
    store.close();
    const v = covenant(["verify", "--state", dir]);
    expect(v.out).toContain("intact:");
    expect(v.code).toBe(0);
  });

  it("the heartbeat table dropped from a store whose anchors say schema 6: refused by run, reported by verify", () => {
    const { dir, store } = populated(1);
    store.close();
    raw(dir).exec("DROP TABLE watcher");
    expect(() => StateStore.open(dir)).toThrow(HistoryBrokenError);
    expect(() => StateStore.open(dir)).toThrow("its table `watcher` is missing");
    expect(covenant(["verify", "--state", dir]).out).toContain("its table `watcher` is missing");
    // and set back to schema 5 with it, to pass for a store that never had one
    raw(dir).exec("UPDATE meta SET value = '5' WHERE key = 'schema'");
    expect(() => StateStore.open(dir)).toThrow(/has lost its watcher heartbeat table, which its sealed head anchor says it had/);
    const reader = StateStore.openReadOnly(dir);
    expect(reader.verify().tampering).toMatchObject({ kind: "altered", message: `the store says schema 5, but its sealed head anchor was written with schema ${SCHEMA_VERSION}: its tables were set back to escape their seals` });
    reader.close();
  });
});
