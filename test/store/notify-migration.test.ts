// A store written by Covenant before it kept deficiencies (schema 4): read as it is by history
// and verify, and brought to schema 5 (and on, to the current one) by the next run, which opens a deficiency (with its
// `opened` event) for each promise whose last record is drift, failed or error.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { sealHead } from "../../src/store/ledger.ts";
import { SCHEMA_VERSION, StateStore, type ChangeBody } from "../../src/store/store.ts";
import { populated, raw, removeTempDirs, result, runBody } from "./helpers.ts";
import { at, finding } from "./notify-helpers.ts";

beforeAll(() => ensureBuilt());
afterAll(() => removeTempDirs());

/**
 * A schema-4 store: three promises over three runs, C-1/file:b drifted in run 2 and C-2/load:
 * in error in run 3 (their last records), as Covenant 4 left it: no notify tables, and both head
 * anchors sealed with schema 4.
 */
function schema4Store(): string {
  const { dir, store } = populated(2);
  const run = store.beginRun();
  store.recordResult(run, at(run), result("C-2/load:", "error", ["cannot read /proc/loadavg"]));
  store.finishRun(runBody(run, 3));
  store.close();
  const key = Buffer.from(readFileSync(join(dir, "host.key"), "utf8").trim(), "hex");
  const db = raw(dir);
  db.exec("DROP TABLE deficiencies; DROP TABLE outbox_events; DROP TABLE outbox_messages; DROP TABLE notify_groups; DROP TABLE watcher; UPDATE meta SET value = '4' WHERE key = 'schema'");
  const last = db.prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1").get() as { seq: number; mac: Buffer };
  const dbHead = JSON.parse(db.prepare("SELECT value FROM meta WHERE key = 'head'").pluck().get() as string) as { bands?: string };
  db.prepare("UPDATE meta SET value = ? WHERE key = 'head'").run(JSON.stringify(sealHead(key, last.seq, last.mac, { schema: 4, ...(dbHead.bands ? { bands: dbHead.bands } : {}) })));
  db.close();
  writeFileSync(join(dir, "ledger.head"), JSON.stringify(sealHead(key, last.seq, last.mac, { schema: 4, run: 3 })) + "\n");
  return dir;
}

describe("schema 4 to 5", () => {
  it("read-only commands read a schema-4 store as it is: no deficiencies yet, verify intact with a note", () => {
    const dir = schema4Store();
    const reader = StateStore.openReadOnly(dir);
    expect(reader.listDeficiencies({ status: "all" })).toEqual([]);
    expect(reader.notificationWorkingSet()).toEqual({ deficiencies: [], groups: [], events: [] });
    const report = reader.verify();
    reader.close();
    expect(report.tampering).toBeUndefined();
    expect(report.notes).toEqual(["the store keeps no deficiencies yet (schema 4): its next run adds them, opening one for each promise whose last record is drift, failed or error"]);
    expect(raw(dir).prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get()).toBe("4");
  });

  it("the next run migrates it and opens a deficiency for each deficient promise, from its latest change record", () => {
    const dir = schema4Store();
    const store = StateStore.open(dir);
    expect(raw(dir).prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get()).toBe(String(SCHEMA_VERSION));
    const changes = store.history({ kinds: ["change"] });
    const lastOf = (key: string) => changes.filter((e) => (e.body as ChangeBody).key === key).at(-1)!;
    const open = store.listDeficiencies();
    expect(open.map((d) => [d.key, d.outcome])).toEqual([
      ["C-1/file:b", "drift"],
      ["C-2/load:", "error"],
    ]);
    const b = open[0]!;
    const bRecord = lastOf("C-1/file:b");
    expect(b).toMatchObject({ status: "open", notice: false, reason: "mode is 0644, promised 0640", differences: ["mode is 0644, promised 0640"], openedRun: 2, openedRecord: bRecord.seq, lastRecord: bRecord.seq, openedAt: bRecord.time, control: { id: "C-1" } });
    expect(open[1]).toMatchObject({ openedRun: 3, openedRecord: lastOf("C-2/load:").seq, reason: "cannot read /proc/loadavg" });
    const ws = store.notificationWorkingSet();
    expect(ws.events).toHaveLength(2);
    expect(store.verify()).toMatchObject({ notes: [] });
    expect(store.verify().tampering).toBeUndefined();

    // and they live on as any other: the next run finds file:b kept
    const run = store.beginRun();
    store.recordResult(run, at(run), result("C-1/file:b", "kept"), finding("C-1"));
    store.finishRun(runBody(run, 3));
    expect(store.listDeficiencies().map((d) => d.key)).toEqual(["C-2/load:"]);
    expect(store.findDeficiency(b.id)).toMatchObject({ status: "resolved", resolvedBy: "kept" });
    store.close();
    expect(covenant(["verify", "--state", dir]).code).toBe(0);
  });
});
