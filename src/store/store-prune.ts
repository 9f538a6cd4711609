// Pruning the state store's history (prune.ts plans and removes, checkpoint.ts seals what remains)
// and what the fleet hub holds of it (hub-position.ts), which a prune of an enrolled host is held to.
import { statSync } from "node:fs";
import { join } from "node:path";
import { checkpointDigest, readCheckpoint, sealCheckpoint, writeCheckpoint } from "./checkpoint.js";
import { checkpoint } from "./database.js";
import { operationalError, StoreError } from "./errors.js";
import { readHubPosition, writeHubPosition, type HubPoint } from "./hub-position.js";
import type { RecordKind } from "./ledger.js";
import { guarded } from "./opening.js";
import { addCounts, coverageProblem, planPrune, removePruned, retiredThrough } from "./prune.js";
import type { PruneBody, PruneEvidence } from "./records.js";
import type { StoreCore } from "./store-core.js";
import { verifyHistory } from "./store-reads.js";

/** What a prune removed and kept (or, dry, would), and the store's size on disk before and after. */
export interface PruneOutcome {
  dryRun: boolean;
  before: string;
  cut: { seq: number; run: number; time: string };
  /** the first record removed from: 1, or the one after the previous checkpoint */
  from: number;
  removed: Partial<Record<RecordKind, number>>;
  removedCount: number;
  /** runs whose summary went */
  runs: number;
  kept: number;
  /** settled outbox messages removed with their delivery records */
  messages: number;
  /** resolved deficiencies retired with their records */
  deficiencies: number;
  /** the prune record (not in a dry run) */
  record?: number;
  /** bytes of state.db and its log before, and after the VACUUM */
  bytesBefore: number;
  bytesAfter?: number;
  /** why the file was not compacted, when it was not */
  notVacuumed?: string;
}

export interface PruneRequest {
  before: Date;
  evidence: PruneEvidence;
  dryRun?: boolean;
  now?: Date;
  hubMustHold?: { host: string };
}

/** Bytes on disk of state.db and its write-ahead log. */
function storeBytes(dir: string): number {
  let n = 0;
  for (const f of ["state.db", "state.db-wal"]) {
    try {
      n += statSync(join(dir, f)).size;
    } catch {
      // no log: nothing to add
    }
  }
  return n;
}

/** What the fleet hub holds of this host (hub-position.ts), as host id `host`; undefined before its first acknowledgement. */
export function hubPositionOf(s: StoreCore, host: string): (HubPoint & { at: string }) | undefined {
  return s.read(() => s.db.transaction(() => readHubPosition(s.db, s.keysNow().all, host))());
}

/** Stores what the hub acknowledged; only forward unless `back` (the hub holds less than before). Returns whether it was written. */
export function setHubPositionOf(s: StoreCore, host: string, p: HubPoint, opts: { back?: boolean; at?: Date }): boolean {
  return guarded(s.dir, `cannot record what the hub holds in the store ${s.dbPath}`, () =>
    s.db
      .transaction(() => {
        s.checkKeyInForce();
        return writeHubPosition(s.db, s.key, s.keysNow().all, host, p, (opts.at ?? new Date()).toISOString(), opts.back === true);
      })
      .immediate(),
  );
}

/** Why a prune through record `cut` would remove records the hub does not hold yet; inside the prune's transaction. */
function hubShortOf(s: StoreCore, host: string, cut: number): string | undefined {
  const held = readHubPosition(s.db, s.keysNow().all, host);
  if (held && held.seq >= cut) return undefined;
  return `this host is enrolled with a hub, which holds ${held ? `records up to ${held.seq}` : "none of its records"}, but this prune removes records up to ${cut}: run \`covenant push\` first, so that the hub holds every record removed (nothing is pruned)`;
}

/**
 * Removes the history before `before`, whole runs only, once `evidence` (a pack the caller has
 * checked) holds every record removed; leaves a sealed checkpoint and a `prune` record, moves
 * the anchors, then compacts the file (prune.ts, checkpoint.ts). Under the run lock, never
 * alongside a run. A history that does not verify is not pruned. `dryRun`: the plan, nothing
 * written.
 */
export function pruneHistory(s: StoreCore, req: PruneRequest): PruneOutcome {
  const before = req.before.toISOString();
  const bytesBefore = storeBytes(s.dir);
  // verified before the write transaction, so that the watcher's beats (the one writer the run
  // lock does not keep out, and which touches no record) wait only for the prune's writes; the
  // transaction then checks that the end of the chain is still the one verified
  const verified = verifyHistory(s);
  if (verified.tampering) throw new StoreError(`the history in ${s.dir} does not verify (${verified.tampering.message}): nothing is pruned from a history that cannot be vouched for; \`covenant verify\` reports it`);
  const { outcome, written } = guarded(s.dir, `cannot record the prune in the store ${s.dbPath}`, () => s.db.transaction(() => writePrune(s, req, verified.head, before, bytesBefore)).immediate());
  if (written) anchorPrune(s, written, outcome);
  if (!outcome.dryRun) {
    try {
      // the space the removed records held goes back to the file system; VACUUM is atomic (it
      // fails whole, on a full disk, leaving the store as it was) and needs about the store's size free
      s.db.exec("VACUUM");
      checkpoint(s.db);
    } catch (err) {
      const failure = operationalError(err, `cannot compact the store ${s.dbPath}`);
      if (!failure) throw err;
      outcome.notVacuumed = failure.message;
    }
    outcome.bytesAfter = storeBytes(s.dir);
  }
  return outcome;
}

/** The prune's transaction: its plan checked against the evidence (and the hub), then, unless dry, the checkpoint sealed, the record appended and the records removed. */
function writePrune(s: StoreCore, req: PruneRequest, head: { seq: number; mac: string } | undefined, before: string, bytesBefore: number): { outcome: PruneOutcome; written?: { seq: number; mac: Buffer } } {
  const end = s.w.last.get() as { seq: number; mac: Buffer } | undefined;
  if (end?.seq !== head?.seq || end?.mac.toString("hex") !== head?.mac) throw new StoreError(`the history in ${s.dir} changed while it was verified: nothing is pruned; try again`);
  const cp = readCheckpoint(s.db, s.keys);
  const previous = cp.state === "sealed" ? cp.checkpoint : undefined;
  const plan = planPrune(s.db, req.before.getTime(), before, previous);
  const problem = coverageProblem(s.db, plan, req.evidence) ?? (req.hubMustHold ? hubShortOf(s, req.hubMustHold.host, plan.cut.seq) : undefined);
  if (problem) throw new StoreError(problem);
  const { mac: cutMac, ...cut } = plan.cut;
  const outcome: PruneOutcome = { dryRun: req.dryRun === true, before, cut, from: plan.from, removed: plan.removed, removedCount: plan.removedCount, runs: plan.runs, kept: plan.kept.length, messages: plan.messages.length, deficiencies: plan.retired.length, bytesBefore };
  if (req.dryRun) return { outcome };
  const at = (req.now ?? new Date()).toISOString();
  const { text } = sealCheckpoint(s.key, {
    cut: { ...cut, mac: cutMac.toString("hex") },
    before,
    kept: plan.kept,
    removed: addCounts(previous?.removed ?? {}, plan.removed),
    messages: (previous?.messages ?? 0) + plan.messages.length,
    evidence: req.evidence,
    earlier: previous ? [...previous.earlier, previous.evidence] : [],
    at,
    retired: retiredThrough(s.db, plan, previous),
  });
  writeCheckpoint(s.db, text);
  const body: PruneBody = { before, cut: { seq: cut.seq, run: cut.run }, removed: plan.removed, kept: plan.kept.length, messages: plan.messages.length, deficiencies: plan.retired.length, evidence: req.evidence, checkpoint: checkpointDigest(text) };
  // appended before the removal, chained to the last record as it is: when the cut is the
  // end of the history (nothing recorded since the cut run), the prune record follows it
  const written = s.append("prune", 0, at, body);
  s.reads = undefined;
  removePruned(s.db, plan);
  outcome.record = written.seq;
  return { outcome, written };
}

/**
 * After the prune's commit, as after any record outside a run: ledger.head moved to the prune
 * record and the log checkpointed. Failing here (a full disk), the prune stands and says so:
 * the anchor names an earlier record, which the store still holds or the checkpoint vouches
 * for, and the next record moves it.
 */
function anchorPrune(s: StoreCore, written: { seq: number; mac: Buffer }, outcome: PruneOutcome): void {
  try {
    s.anchored("the prune", () => written);
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    throw new StoreError(`the prune is recorded (record ${written.seq}: ${outcome.removedCount} records removed, the checkpoint sealed), but ${err.message}; \`covenant verify\` vouches for what remains, and the next run moves the anchor`);
  }
}
