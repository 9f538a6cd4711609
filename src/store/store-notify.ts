// The state store's deficiencies, outbox and notification log (schema 5; the logic is in
// deficiencies.ts, outbox.ts and notify.ts), and the fleet hub's decisions applied to them
// (hub-decisions.ts): each write one transaction, the head anchor moved after it.
import type { Acknowledgement, Deficiency } from "../notifiers/contract.js";
import { isDeficiency, type Outcome } from "../evaluator/outcomes.js";
import type { Finding } from "./deficiencies.js";
import { StoreError } from "./errors.js";
import { answerOf, type DecisionRefusalBody, type WaiverBody } from "./hub-decisions.js";
import { systemResult, type DeliveryResult, type Notifications, type SavedPlan } from "./notify.js";
import { guarded } from "./opening.js";
import type { StoreCore } from "./store-core.js";
import { recordResult } from "./store-record.js";

/** What a fleet hub's decision may write (StateStore.applyHubDecision): its one record. */
export interface HubDecisionWriter {
  /** the acknowledgement, as `covenant ack` writes it; DeficiencyError when it is not open */
  acknowledge(deficiency: string, ack: Omit<Acknowledgement, "record">): { seq: number; mac: Buffer };
  waiver(body: WaiverBody): { seq: number; mac: Buffer };
  refuse(body: DecisionRefusalBody): { seq: number; mac: Buffer };
}

export function notificationsOf(s: StoreCore): Notifications {
  if (!s.notify) throw new StoreError(`the store in ${s.dir} was written by an older Covenant and keeps no deficiencies yet: its next run adds them`);
  return s.notify;
}

/** `fn` of the notify tables, or `empty` in a store that has none yet. */
export function readNotify<T>(s: StoreCore, fn: (n: Notifications) => T, empty: T): T {
  return s.notify ? s.read(() => fn(notificationsOf(s))) : empty;
}

/** An "ack" record, the acknowledgement on the open deficiency and its event, in one transaction; DeficiencyError when it is not open. */
export function acknowledge(s: StoreCore, id: string, ack: Omit<Acknowledgement, "record">, run?: number): Deficiency {
  return s.anchored(`the acknowledgement of ${id}`, () => notificationsOf(s).acknowledge(id, ack, run ?? s.recordRun)).deficiency;
}

/**
 * Applies the fleet hub's decision `id` exactly once: in one transaction, nothing when a record
 * answers it already (`already`: that record), else `write` makes its one record; the file
 * anchor moved after, as for an acknowledgement.
 */
export function applyHubDecision(s: StoreCore, id: string, write: (w: HubDecisionWriter) => { seq: number; mac: Buffer }): { seq: number; already: boolean } {
  let already: number | undefined;
  const done = s.anchored(`the hub's decision ${id}`, () =>
    s.db
      .transaction(() => {
        already = answerOf(s.db, id);
        if (already !== undefined) return undefined;
        const run = s.recordRun;
        return write({
          acknowledge: (deficiency, ack) => notificationsOf(s).acknowledge(deficiency, ack, run),
          waiver: (body) => s.append("waiver", run, body.at, body),
          refuse: (body) => s.append("decision", run, body.at, body),
        });
      })
      .immediate(),
  );
  return done ? { seq: done.seq, already: false } : { seq: already!, already: true };
}

/** A delivery's result; sent and given up are "delivery" records in the history. */
export function recordDelivery(s: StoreCore, id: string, result: DeliveryResult): void {
  s.anchored(`the delivery of ${id}`, () => notificationsOf(s).recordDelivery(id, result, s.recordRun));
}

/**
 * Several deliveries in one transaction and one move of the head anchor: a run that tells
 * hundreds of stakeholders writes its evidence at the speed of the network, not of fsync.
 * All or none: an unknown or already settled id fails the whole list (nothing is written).
 */
export function recordDeliveries(s: StoreCore, list: readonly { id: string; result: DeliveryResult }[]): void {
  if (list.length === 0) return;
  s.anchored(`the delivery of ${list.length} message${list.length === 1 ? "" : "s"}`, () =>
    s.db
      .transaction(() => {
        let last: { seq: number; mac: Buffer } | undefined;
        for (const { id, result } of list) last = notificationsOf(s).recordDelivery(id, result, s.recordRun) ?? last;
        return last;
      })
      .immediate(),
  );
}

/**
 * A failure of Covenant itself (a channel that keeps failing, a watcher gone), recorded as a
 * promise's result is; `kept` for what never failed writes nothing. Returns whether a record
 * was written (the deficiency opened or resolved, or its state changed).
 */
export function recordSystemFinding(s: StoreCore, key: string, finding: Finding & { type: string; promiser: string }, outcome: "error" | "kept", reason: string, time: string): boolean {
  if (outcome === "kept" && !isDeficiency(s.currentRow(key)?.outcome as Outcome)) return false;
  const run = s.recordRun;
  const written = recordResult(s, run, time, systemResult(key, finding, outcome, reason), finding);
  if (written && run === 0) s.anchored("a system finding", () => s.w.last.get() as { seq: number; mac: Buffer });
  return written;
}

export function savePlan(s: StoreCore, p: SavedPlan): void {
  guarded(s.dir, `cannot save the notification plan in the store ${s.dbPath}`, () => notificationsOf(s).savePlan(p));
}
