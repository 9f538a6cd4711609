// A run's recording path in the state store: its number allocated (beginRun), each promise's result
// recorded when its state changed (recordChange: the hot path, one indexed read for a promise whose
// state did not change), and its summary with the policy, roster and learnt bands (finishRun).
import { hexDigest } from "../text/digest.js";
import type { PromiseResult } from "../evaluator/engine.js";
import type { Outcome } from "../evaluator/outcomes.js";
import { compactMaskedStore, remaskApprovedCopies, remaskNote, type Remasked } from "./approved-remask.js";
import { checkpoint } from "./database.js";
import type { Finding } from "./deficiencies.js";
import { operationalError, StoreError } from "./errors.js";
import { GENESIS } from "./ledger.js";
import { guarded } from "./opening.js";
import { hashPolicy, policyBody } from "./policies.js";
import type { ChangeBody, RunBody, RunKind } from "./records.js";
import { recordedFindings } from "./recorded-findings.js";
import { rosterBody } from "./rosters.js";
import { sealCurrent, sealMatches } from "./seals.js";
import { writeApprovals } from "./store-approvals.js";
import type { StoreCore } from "./store-core.js";
import { readHeartbeat } from "./store-watcher.js";
import { readMeta, writeMeta } from "./meta.js";

/** The part of a result that is its state: two runs with the same state write no history. */
export function stateOf(r: PromiseResult): string {
  const what = [...new Set(r.differences.map((d) => `${d.subject ?? ""}|${d.attribute}${d.significant !== undefined ? `|${d.significant}` : ""}`))].sort();
  // one call, not a Hash object: every promise of every run is judged by it (bench/run)
  return hexDigest("sha256", `${r.outcome}\n${what.join("\n")}`).slice(0, 32);
}

/** The most findings (and differences) a change record keeps: what it says is held to it (hub integrity approvals compare states so). */
export const MAX_DIFFERENCES = 50;

/**
 * Allocates the next run number, durably, before anything of the run is recorded, and then
 * writes the head anchor file naming it: a run erased from the store (its log removed after it
 * was killed) is found missing. The counter is synced before the anchor that names it, so a
 * power cut cannot leave the anchor ahead of the store. A run of the watcher (`kind` "watch")
 * needs its heartbeat first: `verify` holds a history with watcher runs to having one.
 */
export function beginRun(s: StoreCore, kind: RunKind): number {
  if (kind === "watch" && readHeartbeat(s).heartbeat === undefined) throw new StoreError(`the watcher must beat before it runs: the store in ${s.dir} holds no heartbeat of it that Covenant wrote`);
  const run = guarded(s.dir, `cannot record the run in ${s.dir}`, () => {
    s.db.pragma("synchronous = FULL");
    try {
      return s.db
        .transaction(() => {
          s.checkKeyInForce();
          const last = Number(readMeta(s.db, "last_run") ?? 0);
          writeMeta(s.db, "last_run", String(last + 1));
          return last + 1;
        })
        .immediate();
    } finally {
      s.db.pragma("synchronous = NORMAL");
    }
  });
  s.currentRun = run;
  s.kinds.set(run, kind);
  const end = s.w.last.get() as { seq: number; mac: Buffer } | undefined;
  s.writeFileHead(end?.seq ?? 0, end?.mac ?? GENESIS, run);
  return run;
}

/**
 * Records one promise's result: a history record when its state changed (or the gate
 * changed the host, which is always worth a record), its current state, and with them its
 * deficiency and the outbox event that says so (deficiencies.ts; `finding` says what the policy
 * says of it, and is used only when a record is written). Returns whether a history record
 * was written.
 */
export function recordResult(s: StoreCore, run: number, time: string, r: PromiseResult, finding?: Finding | (() => Finding | undefined)): boolean {
  return guarded(s.dir, `cannot record the result of ${r.key} in the store ${s.dbPath}`, () => recordChange(s, run, time, r, finding));
}

/** `finding` may be a function: it is called only when a record is written (a run whose states do not change never builds one) */
function recordChange(s: StoreCore, run: number, time: string, r: PromiseResult, lazyFinding?: Finding | (() => Finding | undefined)): boolean {
  const state = stateOf(r);
  const stored = s.currentRow(r.key);
  // a row that does not carry its seal was written outside Covenant: not a state to compare
  // with (it could hide this change), so the result is recorded afresh and says why
  const forged = stored !== undefined && !sealMatches(stored.seal, sealCurrent(s.key, stored));
  const before = forged ? undefined : stored;
  const changedHost = r.changes.some((c) => c.status === "applied" || c.status === "failed");
  const write = !before || before.state !== state || changedHost;
  if (!write) {
    if (s.pendingApprovals.length > 0) s.db.transaction(() => writeApprovals(s)).immediate();
    return false; // one indexed read and no write: the run's summary proves it was tested
  }
  const finding = typeof lazyFinding === "function" ? lazyFinding() : lazyFinding;
  const differences = r.differences.slice(0, MAX_DIFFERENCES).map((d) => d.reason);
  if (r.differences.length > MAX_DIFFERENCES) differences.push(`and ${r.differences.length - MAX_DIFFERENCES} more`);
  const body: ChangeBody = {
    key: r.key,
    control: r.control,
    type: r.type,
    promiser: r.promiser,
    from: (before?.outcome as Outcome | undefined) ?? null,
    to: r.outcome,
    reason: r.reason,
    differences,
    changes: r.changes.map((c) => `${c.status}: ${c.description}${c.detail ? ` (${c.detail})` : ""}`),
  };
  if (r.findings && r.findings.length > 0) body.findings = recordedFindings(r.findings, MAX_DIFFERENCES);
  const notes = r.notes.slice(0, MAX_DIFFERENCES);
  if (forged) {
    const note = "the stored current state of this promise was changed outside Covenant (its seal did not match): recorded afresh";
    notes.push(note);
    r.notes.push(note); // the run's report shows it too
  }
  const row = { key: r.key, control: r.control, outcome: r.outcome, state, since: before && before.state === state ? before.since : time, run, reason: r.reason };
  s.db
    .transaction(() => {
      const prior = s.notify?.deficiencies.openFor(r.key);
      if (prior?.forged) {
        const note = "a deficiency of this promise was changed outside Covenant (its seal did not match): it is passed over";
        notes.push(note);
        r.notes.push(note);
      }
      if (notes.length > 0) body.notes = notes;
      s.reads?.forget("current", r.key);
      // the repair's approval first, as its own record, then the change it approves the end of
      writeApprovals(s);
      const { seq } = s.append("change", run, time, body);
      s.w.setCurrent.run({ ...row, seal: sealCurrent(s.key, row) });
      s.notify?.afterChange({ run, time, seq, result: r, stateChanged: before?.state !== state, differences, changes: body.changes, finding, findings: body.findings }, prior?.open);
    })
    .immediate();
  s.written.set(run, (s.written.get(run) ?? 0) + 1);
  return true;
}

/**
 * The run's summary, with the number of change records this process wrote for the run (verify
 * counts them: a record dropped as it was written is found), and this run's learnt bands, in
 * one transaction; then the head anchor file, and a checkpoint that leaves every record in
 * state.db itself. The summary says the run's kind, as beginRun was given it (a body that says
 * another is a bug). Given the policy files the run checked (`body.policy` their hash), the
 * summary names the `policy` record that holds them, written first in the same transaction when
 * the store has none of that hash yet. Returns the summary's record number.
 */
export function finishRun(s: StoreCore, body: Omit<RunBody, "changed" | "policyRecord" | "roster" | "retired">, policy?: readonly { path: string; text: string }[], keys?: Iterable<string>): number {
  const kind = s.kinds.get(body.run) ?? "run";
  if (body.kind !== undefined && body.kind !== kind) throw new Error(`run ${body.run} began as a ${kind} run, not a ${body.kind} run`);
  const { run: _run, kind: _kind, ...rest } = body;
  if (policy !== undefined && hashPolicy(policy) !== body.policy) throw new Error(`run ${body.run}'s summary names policy ${body.policy}, not the hash of the files given`);
  const full: RunBody = { run: body.run, kind, ...rest, changed: s.written.get(body.run) ?? 0 };
  const learnt = s.learnt;
  let remasked: Remasked | undefined;
  const { seq, mac, digest } = guarded(s.dir, `cannot record the run's summary in the store ${s.dbPath}`, () =>
    s.db
      .transaction(() => {
        const bands = learnt?.writeWithSummary(body.dryRun);
        if (bands?.note) full.notes = [...(full.notes ?? []), bands.note];
        if (policy !== undefined) full.policyRecord = s.policies.recordOf(body.policy) ?? s.append("policy", body.run, body.finished, policyBody(policy, body.started), bands?.digest).seq;
        // a dry run records no promise's state: a roster of it would explain nothing
        if (keys !== undefined && !body.dryRun) full.roster = rosterRecord(s, body.run, body.finished, keys, bands?.digest);
        // a dry run records nothing of the promises, and so retires nothing either
        const retired = body.dryRun ? [] : (s.notify?.retireResolved() ?? []);
        if (retired.length > 0) full.retired = retired;
        // copies an older Covenant kept with secrets in clear, masked once (approved-remask.ts)
        remasked = body.dryRun || !s.approvedStates ? undefined : remaskApprovedCopies(s.db, s.key, (line) => s.keyLine(line), new Date());
        const note = remasked && remaskNote(remasked);
        if (note) full.notes = [...(full.notes ?? []), note];
        return { ...s.append("run", body.run, body.finished, full, bands?.digest), digest: bands?.digest };
      })
      .immediate(),
  );
  if (learnt && digest !== undefined) learnt.committed(digest, body.dryRun);
  s.summarised.add(body.run);
  s.kinds.delete(body.run);
  s.writeFileHead(seq, mac, body.run);
  if (remasked?.compact) compactMaskedStore(s.db, new Date(), (err) => operationalError(err, `cannot compact the store ${s.dbPath}`)?.message);
  // every record in state.db itself: a copy of that one file is the whole store
  guarded(s.dir, `cannot checkpoint the store ${s.dbPath}`, () => checkpoint(s.db));
  return seq;
}

/** The roster record of these keys: the one the store has, or one written now (inside the summary's transaction). */
function rosterRecord(s: StoreCore, run: number, time: string, keys: Iterable<string>, bands: string | undefined): number {
  const roster = rosterBody(keys);
  const known = s.rosters.recordOf(roster.hash);
  if (known !== undefined) return known;
  const { seq } = s.append("roster", run, time, roster, bands);
  s.rosters.remember(roster.hash, seq);
  return seq;
}
