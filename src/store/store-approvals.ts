// The state store's baselines (BaselineStore) and approved integrity states (IntegrityStore,
// schema 7; approved-states.ts): read on every path of every integrity promise, so each read is
// one function call on the store's statements (or a row kept from the prefetch), nothing made per call.
import { CannotObserve, type ApprovedEntry, type ApprovedState, type Baseline } from "../evaluator/contract.js";
import type { ApprovedCopy } from "../integrity/approved-copy.js";
import type { ApprovedStates } from "./approved-states.js";
import { operationalError, StoreError } from "./errors.js";
import { KEYED } from "./keyed-digests.js";
import { guarded } from "./opening.js";
import type { ApprovalBody, BaselineBody } from "./records.js";
import { sealBaseline, sealMatches } from "./seals.js";
import type { StoreCore } from "./store-core.js";

function isKeyed(digest: string): boolean {
  return digest.startsWith(KEYED);
}

/** The approved baseline of `path`; one whose seal does not match is marked tampered. */
export function baselineOf(s: StoreCore, path: string): Baseline | undefined {
  const r = s.baselineRow(path);
  if (!r) return undefined;
  const b: Baseline = { algorithm: r.algorithm, digest: r.digest, size: r.size, mode: r.mode, uid: r.uid, gid: r.gid, mtimeMs: r.mtime_ms, approvedAt: r.approved_at };
  if (isKeyed(r.digest)) b.keyed = true;
  if (!sealMatches(r.seal, sealBaseline(s.key, r))) b.tampered = true;
  return b;
}

/** Records an approved baseline, sealed, and its approval in the chain (in one transaction); a keyed one holds no digest of the content. */
export function setBaseline(s: StoreCore, path: string, given: Baseline): void {
  try {
    s.db.transaction(() => writeBaseline(s, path, given, s.currentRun)).immediate();
  } catch (err) {
    const failure = operationalError(err, `cannot record the baseline of ${path} in the store`);
    if (failure) throw new CannotObserve(failure.message);
    throw err;
  }
}

/** The baseline row and its approval record; inside a transaction. */
function writeBaseline(s: StoreCore, path: string, given: Baseline, run: number): void {
  const b = given.keyed && !isKeyed(given.digest) ? { ...given, digest: s.keyDigest(given.digest) } : given;
  const row = { path, algorithm: b.algorithm, digest: b.digest, size: b.size, mode: b.mode, uid: b.uid, gid: b.gid, mtime_ms: b.mtimeMs, approved_at: b.approvedAt };
  s.reads?.forget("baselines", path);
  s.w.setBaseline.run(path, b.algorithm, b.digest, b.size, b.mode, b.uid, b.gid, b.mtimeMs, b.approvedAt, sealBaseline(s.key, row));
  const body: BaselineBody = { path, algorithm: b.algorithm, digest: b.digest, approvedAt: b.approvedAt };
  if (isKeyed(b.digest)) body.keyed = true;
  s.append("baseline", run, b.approvedAt, body);
}

export function listBaselines(s: StoreCore): { path: string; algorithm: string; digest: string; approvedAt: string }[] {
  return (s.db.prepare("SELECT path, algorithm, digest, approved_at FROM baselines ORDER BY path").all() as { path: string; algorithm: string; digest: string; approved_at: string }[]).map(
    (r) => ({ path: r.path, algorithm: r.algorithm, digest: r.digest, approvedAt: r.approved_at }),
  );
}

function approvals(s: StoreCore): ApprovedStates {
  if (!s.approvedStates) throw new StoreError(`the store in ${s.dir} was written by an older Covenant and keeps no approved integrity states yet: its next run adds them`);
  return s.approvedStates;
}

export function approvedOf(s: StoreCore, hostPath: string): ApprovedState | undefined {
  if (!s.approvedStates) return undefined;
  const states = s.approvedStates;
  const kept = s.reads?.takeApproved(hostPath);
  if (kept !== undefined) return states.decode(kept ?? undefined);
  // the message made only when it is needed: this is read once per path of every integrity promise
  try {
    return states.get(hostPath);
  } catch {
    return guarded(s.dir, `cannot read the store ${s.dbPath}`, () => states.get(hostPath));
  }
}

export function approvedCopyOf(s: StoreCore, hostPath: string, record: number): { copy: ApprovedCopy } | { none: string } {
  if (!s.approvedStates) return { none: "no approved copy kept" };
  return s.read(() => approvals(s).copy(hostPath, record));
}

export function approvedBelowOf(s: StoreCore, hostPath: string): string[] {
  if (!s.approvedStates) return [];
  return s.read(() => approvals(s).below(hostPath));
}

/** The approved states written and removed, and their record (approved-states.ts); rows the run kept from its prefetch are read again after. */
function approveRows(s: StoreCore, ...args: Parameters<ApprovedStates["approve"]>): number {
  const [entries, removed] = args;
  for (const e of entries) s.reads?.forget("approved", e.hostPath);
  for (const p of removed) s.reads?.forget("approved", p);
  return approvals(s).approve(...args);
}

/** A run approves the paths it sees first: one `approval` record for them, in the run. */
export function recordFirstSeen(s: StoreCore, promise: string, entries: { hostPath: string; entry: ApprovedEntry }[], at: string): void {
  try {
    approveRows(s, entries, [], { how: "first-seen", promise, at }, (kind, body) => s.append(kind, s.currentRun, at, body));
  } catch (err) {
    const failure = operationalError(err, `cannot record the approved integrity states of ${promise} in the store`);
    if (failure) throw new CannotObserve(failure.message);
    throw err;
  }
}

/** The approvals waiting for their change record (StateStore.recordRepaired); inside the caller's transaction. */
export function writeApprovals(s: StoreCore): void {
  for (const { promise, entries, at } of s.pendingApprovals.splice(0)) approveRows(s, entries, [], { how: "repaired", promise, at }, (kind, body) => s.append(kind, s.currentRun, at, body));
}

/**
 * `covenant integrity init` and `covenant approve`: the states approved and removed, and the
 * approval record saying who and why, in one transaction, inside the command's run (the
 * evaluation that follows records what the approval closed). Returns the record number.
 */
export function approveStates(
  s: StoreCore,
  entries: { hostPath: string; entry: ApprovedEntry }[],
  removed: string[],
  body: Omit<ApprovalBody, "paths" | "sample" | "digest" | "removed">,
  baselines: { path: string; baseline: Baseline }[],
): number {
  const run = s.recordRun;
  let record = 0;
  s.anchored("the approval", () =>
    s.db
      .transaction(() => {
        for (const b of baselines) writeBaseline(s, b.path, b.baseline, run);
        record = approveRows(s, entries, removed, body, (kind, b) => s.append(kind, run, body.at, b));
        return s.w.last.get() as { seq: number; mac: Buffer };
      })
      .immediate(),
  );
  return record;
}
