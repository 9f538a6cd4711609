// Explaining a past run: which promises it evaluated (its roster, stored once per set of keys),
// the outcome and the observation each had, rebuilt from the change records before its summary
// and proven against the summary's digest; and resolved deficiencies retired from the working
// tables with the summary that names them, which `verify` holds them to.
import { afterAll, describe, expect, it } from "vitest";
import { outcomesDigest, StateStore, type RunBody } from "../../src/store/store.ts";
import type { PromiseResult } from "../../src/evaluator/engine.ts";
import { raw, removeTempDirs, result, rewrite, runBody, tempDir, verified } from "./helpers.ts";

afterAll(() => removeTempDirs());

const time = (run: number) => `2026-11-23T10:${String(run).padStart(2, "0")}:00.500Z`;

/** One run recorded as src/run/record.ts records it: each result, then the summary with its digest and roster. */
function recordRun(store: StateStore, results: PromiseResult[], opts: { kind?: "run" | "watch"; dryRun?: boolean; digestOf?: PromiseResult[] } = {}): number {
  if (opts.kind === "watch") store.beat({ pid: 4242, startTicks: 777, started: time(0), lastBeat: time(0), policy: "p", intervalMs: 10_000 });
  const run = store.beginRun(opts.kind ?? "run");
  if (!opts.dryRun) for (const r of results) store.recordResult(run, time(run), r);
  const body: RunBody = { ...runBody(run, results.length), kind: opts.kind ?? "run", dryRun: opts.dryRun === true, outcomes: outcomesDigest(opts.digestOf ?? results) };
  store.finishRun(body, undefined, results.map((r) => r.key));
  return run;
}

const A = "C-1/file:/srv/a";
const B = "C-1/file:/srv/b";
const C = "C-2/file:/srv/c";

describe("explaining a past run", () => {
  it("gives every promise a run evaluated its outcome and observation, proven against the summary, whether or not the run wrote a record of it", () => {
    const dir = tempDir("explain");
    const store = StateStore.open(dir);
    const r1 = recordRun(store, [result(A, "kept"), result(B, "kept"), result(C, "kept")]);
    const r2 = recordRun(store, [result(A, "kept"), result(B, "drift", ["mode is 0644, promised 0640"]), result(C, "kept")]);
    const r3 = recordRun(store, [result(A, "kept"), result(B, "drift", ["mode is 0644, promised 0640"]), result(C, "kept")]);
    const w4 = recordRun(store, [result(B, "kept")], { kind: "watch" });
    const d5 = recordRun(store, [result(A, "drift", ["owner is bob"]), result(B, "kept"), result(C, "kept")], { dryRun: true });
    const explained = store.explainRuns([r1, r2, r3, w4, d5, 99]);
    expect([...explained.keys()].sort((a, b) => a - b)).toEqual([r1, r2, r3, w4, d5]);
    // run 3 wrote nothing of B: its drift is the one run 2 recorded, and the digest proves it
    const third = explained.get(r3)!;
    expect(third.proof).toEqual({ proven: true, digest: outcomesDigest([result(A, "kept"), result(B, "drift"), result(C, "kept")]) });
    const b3 = third.promises.find((p) => p.key === B)!;
    expect(b3).toMatchObject({ outcome: "drift", recordRun: r2, differences: ["mode is 0644, promised 0640"], reason: "mode is 0644, promised 0640" });
    expect(third.promises.map((p) => p.key)).toEqual([A, B, C]);
    // the watcher's run evaluated B alone
    expect(explained.get(w4)).toMatchObject({ kind: "watch", proof: { proven: true }, promises: [{ key: B, outcome: "kept", recordRun: w4 }] });
    // a dry run recorded no state: it cannot be explained promise by promise, and says why
    expect(explained.get(d5)!.proof).toEqual({ proven: false, why: expect.stringContaining("dry run") });
    expect(explained.get(r1)!.proof.proven).toBe(true);
    store.close();
  });

  it("stores each set of evaluated promises once, and the summary names it", () => {
    const dir = tempDir("explain");
    const store = StateStore.open(dir);
    const all = [result(A, "kept"), result(B, "kept"), result(C, "kept")];
    for (let i = 0; i < 3; i++) recordRun(store, all);
    recordRun(store, [result(B, "kept")], { kind: "watch" });
    recordRun(store, [result(B, "kept")], { kind: "watch" });
    recordRun(store, all);
    const rosters = store.history({ kinds: ["roster"] });
    expect(rosters.map((r) => (r.body as { keys: string[] }).keys)).toEqual([[A, B, C], [B]]);
    const summaries = store.history({ kinds: ["run"] }).map((e) => (e.body as RunBody).roster);
    expect(summaries).toEqual([rosters[0]!.seq, rosters[0]!.seq, rosters[0]!.seq, rosters[1]!.seq, rosters[1]!.seq, rosters[0]!.seq]);
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });

  it("a roster pointer lost or pointed elsewhere costs one more roster record, never a wrong one", () => {
    const dir = tempDir("explain");
    let store = StateStore.open(dir);
    const all = [result(A, "kept"), result(B, "kept")];
    recordRun(store, all);
    store.close();
    const db = raw(dir);
    const policyless = db.prepare("SELECT seq FROM ledger WHERE kind = 'change' LIMIT 1").pluck().get() as number;
    db.prepare("UPDATE meta SET value = ? WHERE key LIKE 'roster:%'").run(String(policyless));
    db.close();
    store = StateStore.open(dir);
    const run = recordRun(store, all);
    const rosters = store.history({ kinds: ["roster"] });
    expect(rosters).toHaveLength(2);
    expect(store.explainRuns([run]).get(run)!.proof.proven).toBe(true);
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });

  it("says when the history cannot prove a run: a result lost (the store failed mid-run), or a summary from before rosters", () => {
    const dir = tempDir("explain");
    const store = StateStore.open(dir);
    // the summary counts B's drift, but its record was never written
    const run = recordRun(store, [result(A, "kept"), result(B, "kept")], { digestOf: [result(A, "kept"), result(B, "drift")] });
    expect(store.explainRuns([run]).get(run)!.proof).toEqual({ proven: false, why: expect.stringContaining("do not hash to the digest") });
    const old = store.beginRun();
    store.recordResult(old, time(old), result(A, "kept"));
    store.finishRun(runBody(old, 1));
    expect(store.explainRuns([old]).get(old)!.proof).toEqual({ proven: false, why: expect.stringContaining("before Covenant kept which promises") });
    store.close();
  });

  it("verify finds a roster edited by someone holding the key, and a summary that counts other than its roster", () => {
    const dir = tempDir("explain");
    const store = StateStore.open(dir);
    recordRun(store, [result(A, "kept"), result(B, "kept")]);
    store.close();
    rewrite(dir, (r) => (r.kind === "roster" ? JSON.stringify({ ...(JSON.parse(r.body) as object), keys: [B, A] }) : undefined));
    expect(verified(dir)).toMatchObject({ kind: "altered", message: expect.stringMatching(/^roster record \d+ does not hold a roster/) });
    rewrite(dir, (r) => (r.kind === "roster" ? JSON.stringify({ hash: JSON.parse(r.body).hash, keys: [A, B] }) : r.kind === "run" ? JSON.stringify({ ...(JSON.parse(r.body) as object), promises: 3 }) : undefined));
    expect(verified(dir)).toMatchObject({ kind: "altered", message: expect.stringMatching(/counts 3 promises, but its roster \(record \d+\) lists 2$/) });
  });
});

describe("retiring resolved deficiencies", () => {
  /** Routing that sends nothing (no route matches): every event seen. */
  const route = (store: StateStore) => {
    const ws = store.notificationWorkingSet();
    store.savePlan({ messages: [], groups: [], dropped: [], routedEvents: ws.events });
  };

  it("retires a resolved deficiency with the next summary once routing has seen its events, and verify holds the store to it", () => {
    const dir = tempDir("retire");
    const store = StateStore.open(dir);
    recordRun(store, [result(A, "kept")]);
    recordRun(store, [result(A, "drift", ["mode is 0644, promised 0640"])]);
    const [opened] = store.listDeficiencies();
    recordRun(store, [result(A, "kept")]);
    // resolved, but routing has not seen the resolution yet: kept
    recordRun(store, [result(A, "kept")]);
    expect(store.listDeficiencies({ status: "all" }).map((d) => d.id)).toEqual([opened!.id]);
    route(store);
    const run = recordRun(store, [result(A, "kept")]);
    expect(store.listDeficiencies({ status: "all" })).toEqual([]);
    const summary = store.history({ kinds: ["run"] }).find((e) => e.run === run)!.body as RunBody;
    expect(summary.retired).toEqual([opened!.id]);
    expect(raw(dir).prepare("SELECT count(*) FROM outbox_events").pluck().get()).toBe(0);
    expect(store.verify().tampering).toBeUndefined();
    // an open deficiency is never retired, routed or not
    recordRun(store, [result(A, "drift", ["owner is bob"])]);
    route(store);
    recordRun(store, [result(A, "drift", ["owner is bob"])]);
    expect(store.listDeficiencies().map((d) => d.status)).toEqual(["open"]);
    store.close();
  });

  it("keeps a resolved deficiency with an event forged back to unrouted (with its event, for verify), and retires the others", () => {
    const dir = tempDir("retire-forged");
    const store = StateStore.open(dir);
    recordRun(store, [result(A, "drift", ["mode is 0644, promised 0640"]), result(B, "drift", ["mode is 0644, promised 0640"])]);
    recordRun(store, [result(A, "kept"), result(B, "kept")]);
    const [da, db] = store.listDeficiencies({ status: "all" });
    route(store);
    store.close();
    // A's resolution seen by routing, then an event of it forged back to unrouted (no seal of the host key's)
    raw(dir).prepare("UPDATE outbox_events SET routed = 0 WHERE deficiency = ?").run(da!.id);
    const again = StateStore.open(dir);
    const run = recordRun(again, [result(A, "kept"), result(B, "kept")]);
    const summary = again.history({ kinds: ["run"] }).find((e) => e.run === run)!.body as RunBody;
    // B retired; A kept, its forged event with it, for verify to report
    expect(summary.retired).toEqual([db!.id]);
    expect(again.listDeficiencies({ status: "all" }).map((d) => d.id)).toEqual([da!.id]);
    expect(raw(dir).prepare("SELECT count(*) FROM outbox_events WHERE deficiency = ?").pluck().get(da!.id)).toBeGreaterThan(0);
    again.close();
  });

  it("verify finds a retired deficiency, or its events, put back from an older copy", () => {
    const dir = tempDir("retire");
    const store = StateStore.open(dir);
    recordRun(store, [result(A, "drift", ["mode is 0644, promised 0640"])]);
    recordRun(store, [result(A, "kept")]);
    route(store);
    const db = raw(dir);
    const row = db.prepare("SELECT * FROM deficiencies").get() as Record<string, unknown>;
    const events = db.prepare("SELECT * FROM outbox_events").all() as Record<string, unknown>[];
    recordRun(store, [result(A, "kept")]);
    store.close();
    expect(verified(dir)).toBeUndefined();
    db.prepare("INSERT INTO outbox_events VALUES (@seq, @deficiency, @event, @run, @time, @routed, @seal)").run(events[0]!);
    expect(verified(dir)).toMatchObject({ kind: "altered", message: expect.stringContaining(`outbox events of the deficiency ${String(row["id"])}, retired by record`) });
    db.prepare("DELETE FROM outbox_events").run();
    db.prepare("INSERT INTO deficiencies VALUES (@id, @key, @status, @notice, @body, @opened_run, @updated_at, @seal)").run(row);
    expect(verified(dir)).toMatchObject({ kind: "altered", message: expect.stringMatching(/^the deficiency d-\w+ was retired by record \d+, but it is in the store: it was put back from an older copy$/) });
    db.close();
  });
});
