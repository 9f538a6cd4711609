// Retention: pruning whole runs older than a date once an evidence pack holds them, leaving a
// sealed checkpoint so that what remains still verifies; and every way of tampering across it.
import { afterAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GENESIS, macOf, sealHead, type LedgerRow } from "../../src/store/ledger.ts";
import { outcomesDigest, SCHEMA_VERSION, StateStore, type PruneBody, type PruneEvidence, type RunBody } from "../../src/store/store.ts";
import type { PromiseResult } from "../../src/evaluator/engine.ts";
import { keyOf, raw, removeTempDirs, result, runBody, tempDir, verified } from "./helpers.ts";
import { at, finding, group, message } from "./notify-helpers.ts";

afterAll(() => removeTempDirs());

const A = "C-1/file:/srv/a";
const B = "C-1/file:/srv/b";
const C = "C-2/file:/srv/c";
const POLICY = [{ path: "/etc/covenant/p.promise", text: "file \"/srv/a\" { mode = 0640 }\n" }];

/** One run recorded as src/run/record.ts records it: each result (with its finding), then the summary with its policy, digest and roster. */
function recordRun(store: StateStore, results: PromiseResult[]): number {
  const run = store.beginRun();
  for (const r of results) store.recordResult(run, at(run), r, finding(r.control));
  const body: RunBody = { ...runBody(run, results.length), policy: hashOf(), outcomes: outcomesDigest(results) };
  store.finishRun(body, POLICY, results.map((r) => r.key));
  return run;
}

function hashOf(): string {
  // the hash a summary names for POLICY (policies.ts hashPolicy), as finishRun checks it
  const h = createHash("sha256");
  for (const f of POLICY) h.update(f.path).update("\0").update(f.text).update("\0");
  return h.digest("hex");
}

const kept = () => [result(A, "kept"), result(B, "kept"), result(C, "kept")];
const bDrifts = () => [result(A, "kept"), result(B, "drift", ["mode is 0644, promised 0640"]), result(C, "kept")];

/** A pack that holds records `first` to `last`. */
function pack(first: number, last: number): PruneEvidence {
  return { manifestSha256: "ab".repeat(32), fingerprint: "SHA256:test", firstRecord: first, lastRecord: last, from: "2026-11-01", to: "2026-11-23" };
}

/** Runs 1-3 all kept, 4 B drifts (stays open and acknowledged), 5-6 unchanged: cut before run 4 by default. */
function history(): { dir: string; store: StateStore } {
  const dir = tempDir("prune");
  const store = StateStore.open(dir);
  recordRun(store, kept());
  recordRun(store, [result(A, "drift", ["owner is bob"]), result(B, "kept"), result(C, "kept")]);
  recordRun(store, kept());
  recordRun(store, bDrifts());
  store.acknowledge(store.listDeficiencies()[0]!.id, { at: at(4, 30), reason: "CHG-1", by: "alice", user: "root", loginUid: null });
  recordRun(store, bDrifts());
  recordRun(store, bDrifts());
  return { dir, store };
}

/** Before run 4 began: runs 1 to 3 go. */
const BEFORE_4 = new Date("2026-11-23T10:03:30.000Z");

const lastSeq = (dir: string) => raw(dir).prepare("SELECT max(seq) FROM ledger").pluck().get() as number;

describe("prune", () => {
  it("removes whole runs before the date, keeps what later records name, and what remains verifies, with the checkpoint in verify's report", () => {
    const { dir, store } = history();
    const total = lastSeq(dir);
    const explainedBefore = store.explainRuns([4, 5, 6]);
    const out = store.prune({ before: BEFORE_4, evidence: pack(1, total) });
    expect(out.cut.run).toBe(3);
    expect(out.runs).toBe(3);
    expect(out.record).toBe(total + 1);
    expect(out.bytesAfter).toBeGreaterThan(0);
    expect(out.notVacuumed).toBeUndefined();
    // kept: the policy and roster records the later summaries name, the last change of each promise (A's repair in run 3, C's first observation)
    const rows = raw(dir).prepare("SELECT seq, kind, run FROM ledger ORDER BY seq").all() as { seq: number; kind: string; run: number }[];
    const below = rows.filter((r) => r.seq <= out.cut.seq);
    expect(below.map((r) => r.kind).sort()).toEqual(["change", "change", "change", "policy", "roster"]);
    // A's deficiency (opened in run 2, resolved in run 3: no notifications routed its events) is retired with its records
    expect(out.deficiencies).toBe(1);
    expect(store.listDeficiencies({ status: "all" }).map((d) => d.key)).toEqual([B]);
    expect(below.every((r) => r.run <= 3)).toBe(true);
    expect(out.kept).toBe(5);
    expect(out.removedCount + out.kept).toBe(out.cut.seq);
    const report = store.verify();
    expect(report.tampering).toBeUndefined();
    expect(report.checkpoint).toMatchObject({ seq: out.cut.seq, run: 3, evidence: pack(1, total), kept: 5, removed: out.removedCount });
    // runs 1-3 are gone whole: not interrupted, though their kept change records remain, and not silent
    expect(report.interrupted).toEqual([]);
    expect(report.silentCount).toBe(0);
    expect(report.runs).toEqual([4, 5, 6]);
    // later runs are still explained and proven, as before
    const explained = store.explainRuns([4, 5, 6]);
    for (const run of [4, 5, 6]) {
      expect(explained.get(run)!.proof).toEqual(explainedBefore.get(run)!.proof);
      expect(explained.get(run)!.proof.proven).toBe(true);
    }
    // the open deficiency and its acknowledgement, and the current state, still agree with the history
    expect(store.listDeficiencies()).toHaveLength(1);
    store.close();
    expect(verified(dir)).toBeUndefined();
    // and a run continues the history
    const again = StateStore.open(dir);
    recordRun(again, kept());
    expect(again.verify().tampering).toBeUndefined();
    expect(again.explainRuns([7]).get(7)!.proof.proven).toBe(true);
    again.close();
  });

  it("a deficiency opened and acknowledged before the cut, still open after it: its change and ack records are kept, and it still verifies", () => {
    const { dir, store } = history();
    const [open] = store.listDeficiencies();
    const out = store.prune({ before: new Date("2026-11-23T10:04:30.000Z"), evidence: pack(1, lastSeq(dir)) });
    expect(out.cut.run).toBe(4);
    const below = raw(dir).prepare("SELECT seq, kind FROM ledger WHERE seq <= ? ORDER BY seq").all(out.cut.seq) as { seq: number; kind: string }[];
    expect(below.map((r) => r.seq)).toEqual(expect.arrayContaining([open!.openedRecord, open!.ack!.record]));
    expect(below.find((r) => r.seq === open!.ack!.record)!.kind).toBe("ack");
    expect(store.verify().tampering).toBeUndefined();
    expect(store.listDeficiencies()).toEqual([open]);
    expect(store.explainRuns([5, 6]).get(5)!.proof.proven).toBe(true);
    // the next run resolves it, over the kept records
    recordRun(store, kept());
    expect(store.listDeficiencies()).toEqual([]);
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });

  it("history marks every remaining record verified, names the checkpoint, and shows the prune record", () => {
    const { dir, store } = history();
    const out = store.prune({ before: BEFORE_4, evidence: pack(1, lastSeq(dir)) });
    const read = store.readHistory();
    expect(read.entries.every((e) => e.verified)).toBe(true);
    expect(read.end).toBeUndefined();
    expect(read.checkpoint).toMatchObject({ cut: { seq: out.cut.seq, run: 3 } });
    const prune = read.entries.find((e) => e.kind === "prune")!;
    expect(prune.body as PruneBody).toMatchObject({ cut: { seq: out.cut.seq, run: 3 }, kept: 5, evidence: { firstRecord: 1 } });
    store.close();
  });

  it("a dry run says what would go and changes nothing", () => {
    const { dir, store } = history();
    const before = raw(dir).prepare("SELECT count(*) FROM ledger").pluck().get();
    const out = store.prune({ before: BEFORE_4, evidence: pack(1, lastSeq(dir)), dryRun: true });
    expect(out).toMatchObject({ dryRun: true, runs: 3, cut: { run: 3 } });
    expect(out.record).toBeUndefined();
    expect(raw(dir).prepare("SELECT count(*) FROM ledger").pluck().get()).toBe(before);
    expect(store.verify().checkpoint).toBeUndefined();
    store.close();
  });

  it("refuses a pack that does not hold every record it would remove, and a date before any run", () => {
    const { dir, store } = history();
    const dry = store.prune({ before: BEFORE_4, evidence: pack(1, lastSeq(dir)), dryRun: true });
    expect(() => store.prune({ before: BEFORE_4, evidence: pack(2, lastSeq(dir)) })).toThrow(/holds records 2 to .*removes records 1 to/);
    expect(() => store.prune({ before: BEFORE_4, evidence: pack(1, dry.cut.seq - 1) })).toThrow(/make a pack whose period covers them/);
    expect(() => store.prune({ before: new Date("2026-01-01T00:00:00Z"), evidence: pack(1, 100) })).toThrow(/no run finished before/);
    expect(store.verify().checkpoint).toBeUndefined();
    store.close();
  });

  it("a second prune moves the checkpoint forward and lets go of what is no longer named", () => {
    const { dir, store } = history();
    const firstTotal = lastSeq(dir);
    const first = store.prune({ before: BEFORE_4, evidence: pack(1, firstTotal) });
    const firstCheckpoint = raw(dir).prepare("SELECT value FROM meta WHERE key = 'checkpoint'").pluck().get() as string;
    recordRun(store, kept()); // run 7: B repaired, its deficiency resolved
    recordRun(store, kept());
    // a pack from the first checkpoint on is enough
    expect(() => store.prune({ before: new Date("2026-11-23T10:07:30.000Z"), evidence: pack(first.cut.seq + 2, lastSeq(dir)) })).toThrow(/removes records/);
    const second = store.prune({ before: new Date("2026-11-23T10:07:30.000Z"), evidence: pack(first.cut.seq + 1, lastSeq(dir)) });
    expect(second.cut.run).toBe(7);
    expect(second.from).toBe(first.cut.seq + 1);
    const report = store.verify();
    expect(report.tampering).toBeUndefined();
    expect(report.checkpoint).toMatchObject({ run: 7, earlier: [pack(1, firstTotal)] });
    // the first prune record is below the new cut: gone, and the new one is the only one
    expect(store.history({ kinds: ["prune"] })).toHaveLength(1);
    expect(store.explainRuns([8]).get(8)!.proof.proven).toBe(true);
    // nothing at or below the cut but what the new checkpoint keeps
    const below = raw(dir).prepare("SELECT count(*) FROM ledger WHERE seq <= ?").pluck().get(second.cut.seq);
    expect(below).toBe(second.kept);
    store.close();
    expect(verified(dir)).toBeUndefined();
    // the first checkpoint (sealed with the key) put back in place of the second: the records after its cut are missing
    const db = raw(dir);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'checkpoint'").run(firstCheckpoint);
    db.close();
    expect(verified(dir)).toMatchObject({ kind: "deleted" });
  });

  it("removes settled messages with their delivery records, and verify still holds the rest", () => {
    const { dir, store } = history();
    const ws = store.notificationWorkingSet();
    const m = message("m-1", ws.deficiencies);
    store.savePlan({ messages: [{ channel: "mail", message: m, dueAt: 1 }], groups: [group([m.id], {})], dropped: [], routedEvents: ws.events });
    store.recordDelivery(m.id, { at: at(6, 30), status: "sent" });
    recordRun(store, bDrifts()); // run 7: the last; the cut is the end of the history
    const end = lastSeq(dir);
    const headBefore = readFileSync(join(dir, "ledger.head"), "utf8");
    const out = store.prune({ before: new Date("2026-11-23T10:07:30.000Z"), evidence: pack(1, end) });
    const headAfter = readFileSync(join(dir, "ledger.head"), "utf8");
    expect(out.cut.seq).toBe(end);
    expect(out.record).toBe(end + 1);
    // killed between the commit and moving ledger.head: the anchor still names the cut, gone from
    // the store but vouched for by the checkpoint
    writeFileSync(join(dir, "ledger.head"), headBefore);
    expect(store.verify().tampering).toBeUndefined();
    // an anchor naming a record the prune removed that is not the cut is still found
    const key = keyOf(dir);
    writeFileSync(join(dir, "ledger.head"), JSON.stringify(sealHead(key, end - 1, Buffer.alloc(32, 7), { schema: SCHEMA_VERSION, run: 7 })) + "\n");
    expect(store.verify().tampering).toMatchObject({ kind: "altered", message: expect.stringContaining("does not match the head anchor file ledger.head") });
    writeFileSync(join(dir, "ledger.head"), headAfter);
    expect(out.messages).toBe(1);
    expect(store.listOutbox()).toHaveLength(0);
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });
});

describe("tampering across a checkpoint", () => {
  function pruned(): { dir: string; cut: number; kept: number[] } {
    const { dir, store } = history();
    const out = store.prune({ before: BEFORE_4, evidence: pack(1, lastSeq(dir)) });
    store.close();
    const kept = raw(dir).prepare("SELECT seq FROM ledger WHERE seq <= ? ORDER BY seq").pluck().all(out.cut.seq) as number[];
    return { dir, cut: out.cut.seq, kept };
  }

  it("a pruned record put back (with the MAC it had) is found", () => {
    const { dir, store } = history();
    const copy = raw(dir).prepare("SELECT * FROM ledger WHERE seq = 1").get() as LedgerRow;
    store.prune({ before: BEFORE_4, evidence: pack(1, lastSeq(dir)) });
    store.close();
    const db = raw(dir);
    db.prepare("INSERT INTO ledger (seq, kind, run, time, body, mac) VALUES (?, ?, ?, ?, ?, ?)").run(copy.seq, copy.kind, copy.run, copy.time, copy.body, copy.mac);
    db.close();
    expect(verified(dir)).toMatchObject({ kind: "inserted", seq: 1, message: expect.stringContaining("not one it kept") });
  });

  it("a deficiency the prune retired, put back from an older copy, is found", () => {
    const { dir, store } = history();
    const saved = raw(dir).prepare("SELECT * FROM deficiencies WHERE status = 'resolved'").get() as Record<string, unknown>;
    expect(saved).toBeDefined();
    store.prune({ before: BEFORE_4, evidence: pack(1, lastSeq(dir)) });
    store.close();
    const db = raw(dir);
    const columns = Object.keys(saved);
    db.prepare(`INSERT INTO deficiencies (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`).run(...columns.map((c) => saved[c]));
    db.close();
    // the checkpoint lists the deficiencies retired up to its cut: the prune record is named as what retired it
    expect(verified(dir)).toMatchObject({ kind: "altered", message: expect.stringContaining(`the deficiency ${String(saved["id"])} was retired by record`) });
  });

  it("a kept record altered is found", () => {
    const { dir, kept } = pruned();
    const db = raw(dir);
    db.prepare("UPDATE ledger SET body = replace(body, '\"kept\"', '\"waived\"') WHERE seq = ?").run(kept.find((s) => (db.prepare("SELECT kind FROM ledger WHERE seq = ?").pluck().get(s) as string) === "change"));
    db.close();
    expect(verified(dir)).toMatchObject({ kind: "altered", message: expect.stringContaining("kept by the checkpoint, was altered") });
  });

  it("a record after the cut deleted is found, as before any prune", () => {
    const { dir, cut } = pruned();
    const db = raw(dir);
    db.prepare("DELETE FROM ledger WHERE seq = ?").run(cut + 1);
    db.close();
    expect(verified(dir)).toMatchObject({ kind: "deleted", seq: cut + 1, message: `record ${cut + 1} was deleted` });
  });

  it("a kept record deleted is found", () => {
    const { dir, kept } = pruned();
    const db = raw(dir);
    db.prepare("DELETE FROM ledger WHERE seq = ?").run(kept[0]);
    db.close();
    expect(verified(dir)).toMatchObject({ kind: "deleted", seq: kept[0], message: expect.stringContaining("was deleted") });
  });

  it("the checkpoint altered or removed is found", () => {
    const { dir } = pruned();
    const db = raw(dir);
    const text = db.prepare("SELECT value FROM meta WHERE key = 'checkpoint'").pluck().get() as string;
    db.prepare("UPDATE meta SET value = ? WHERE key = 'checkpoint'").run(text.replace(/"run":3/, '"run":5'));
    expect(verified(dir)).toMatchObject({ kind: "deleted", seq: 1, message: expect.stringMatching(/^records 1 to \d+ are missing and no checkpoint Covenant sealed accounts for them/) });
    db.prepare("DELETE FROM meta WHERE key = 'checkpoint'").run();
    expect(verified(dir)).toMatchObject({ kind: "deleted", seq: 1, message: expect.stringMatching(/^records 1 to \d+ are missing and no checkpoint Covenant sealed accounts for them$/) });
    db.close();
  });

  it("records deleted from the start without any checkpoint are found", () => {
    const { dir, store } = history();
    store.close();
    const db = raw(dir);
    db.prepare("DELETE FROM ledger WHERE seq <= 5").run();
    db.close();
    expect(verified(dir)).toMatchObject({ kind: "deleted", seq: 1, message: "records 1 to 5 are missing and no checkpoint Covenant sealed accounts for them" });
  });

  it("the records put back and the checkpoint removed (the history whole again) is found by the prune record", () => {
    const { dir, store } = history();
    const before = raw(dir).prepare("SELECT * FROM ledger ORDER BY seq").all() as LedgerRow[];
    const out = store.prune({ before: BEFORE_4, evidence: pack(1, lastSeq(dir)) });
    store.close();
    const db = raw(dir);
    db.prepare("DELETE FROM meta WHERE key = 'checkpoint'").run();
    const put = db.prepare("INSERT OR IGNORE INTO ledger (seq, kind, run, time, body, mac) VALUES (?, ?, ?, ?, ?, ?)");
    for (const r of before.filter((r) => r.seq <= out.cut.seq)) put.run(r.seq, r.kind, r.run, r.time, r.body, r.mac);
    db.close();
    expect(verified(dir)).toMatchObject({ kind: "deleted", message: expect.stringContaining("left a checkpoint, but the store holds none") });
  });

  it("a kept record given a MAC that chains from the start, as if nothing had been pruned before it, is found", () => {
    const { dir } = pruned();
    const key = keyOf(dir);
    const db = raw(dir);
    const first = db.prepare("SELECT * FROM ledger ORDER BY seq LIMIT 1").get() as LedgerRow;
    const forgedMac = macOf(key, GENESIS, { kind: first.kind, run: first.run, time: first.time, body: first.body });
    db.prepare("UPDATE ledger SET mac = ? WHERE seq = ?").run(forgedMac, first.seq);
    db.close();
    expect(verified(dir)).toMatchObject({ kind: "altered", seq: first.seq });
  });
});
