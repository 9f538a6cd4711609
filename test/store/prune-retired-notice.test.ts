// Attack probe: a notice (a repair made at once) retired by a run's summary, whose summary a prune
// then removed while it kept the notice's change record (the promise's last), put back from an
// older copy of the store with its event.
import { afterAll, describe, expect, it } from "vitest";
import { outcomesDigest, StateStore, type RunBody } from "../../src/store/store.ts";
import type { PromiseResult } from "../../src/evaluator/engine.ts";
import { raw, removeTempDirs, result, runBody, tempDir, verified } from "./helpers.ts";

afterAll(() => removeTempDirs());

const A = "C-1/file:/srv/a";
const B = "C-1/file:/srv/b";
const time = (run: number) => `2026-11-${String(10 + run).padStart(2, "0")}T10:00:00.500Z`;

function recordRun(store: StateStore, results: PromiseResult[]): number {
  const run = store.beginRun();
  for (const r of results) store.recordResult(run, time(run), r);
  const day = String(10 + run).padStart(2, "0");
  const body: RunBody = { ...runBody(run, results.length), started: `2026-11-${day}T10:00:00.000Z`, finished: `2026-11-${day}T10:00:01.000Z`, outcomes: outcomesDigest(results) };
  store.finishRun(body, undefined, results.map((r) => r.key));
  return run;
}

const route = (store: StateStore) => {
  const ws = store.notificationWorkingSet();
  store.savePlan({ messages: [], groups: [], dropped: [], routedEvents: ws.events });
};

describe("a retired notice after a prune", () => {
  it("put back from an older copy is found", () => {
    const dir = tempDir("retired-notice");
    const store = StateStore.open(dir);
    recordRun(store, [result(A, "kept"), result(B, "kept")]);
    recordRun(store, [result(A, "repaired"), result(B, "kept")]);
    route(store);
    const db = raw(dir);
    const rows = db.prepare("SELECT * FROM deficiencies").all() as Record<string, unknown>[];
    const events = db.prepare("SELECT * FROM outbox_events").all() as Record<string, unknown>[];
    expect(rows).toHaveLength(1);
    recordRun(store, [result(B, "kept")]); // retires A's notice
    expect(store.listDeficiencies({ status: "all" })).toEqual([]);
    recordRun(store, [result(B, "kept")]);
    recordRun(store, [result(B, "kept")]);
    const last = db.prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1").get() as { seq: number; mac: Buffer };
    store.prune({ before: new Date("2026-11-14T00:00:00Z"), evidence: { manifestSha256: "0".repeat(64), fingerprint: "t", firstRecord: 1, lastRecord: last.seq, from: "2026-11-01", to: "2026-11-30", lastMac: last.mac.toString("hex") } });
    store.close();
    expect(verified(dir)).toBeUndefined();
    for (const row of rows) db.prepare("INSERT INTO deficiencies VALUES (@id, @key, @status, @notice, @body, @opened_run, @updated_at, @seal)").run(row);
    for (const e of events) db.prepare("INSERT INTO outbox_events VALUES (@seq, @deficiency, @event, @run, @time, @routed, @seal)").run(e);
    db.close();
    expect(verified(dir)).toMatchObject({ kind: "altered", message: expect.stringMatching(/^the deficiency d-\w+ was retired by record \d+, but it is in the store: it was put back from an older copy$/) });
  });
});
