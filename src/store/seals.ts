// Seals on the rows that are not records of the chain but decide what a run reports: integrity
// baselines (what a file must hash to), the current state of each promise (whether a run writes
// a record at all) and the learnt bands (what is an anomaly). Each row carries an HMAC of its
// content under the host key, so a row edited in the database is found by `verify` and never
// used as if Covenant had written it.
import type Database from "better-sqlite3";
import { createHash } from "node:crypto";
import { hmacSha256 } from "../native/seal.js";

export interface BaselineRow {
  path: string;
  algorithm: "sha256" | "sha512";
  digest: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime_ms: number;
  approved_at: string;
  seal: Buffer | null;
}

export interface CurrentRow {
  key: string;
  control: string;
  outcome: string;
  state: string;
  since: string;
  run: number;
  reason: string;
  seal: Buffer | null;
}

export interface BandRow {
  metric: string;
  hour: number;
  count: number;
  mean: number;
  m2: number;
  seal: Buffer | null;
}

function hmac(key: Buffer, fields: unknown[]): Buffer {
  return hmacSha256(key, JSON.stringify(fields));
}

export function sealBaseline(key: Buffer, r: Omit<BaselineRow, "seal">): Buffer {
  return hmac(key, [r.path, r.algorithm, r.digest, r.size, r.mode, r.uid, r.gid, r.mtime_ms, r.approved_at]);
}

// the first field names the table: a seal of one table's row is never valid for another's
export function sealCurrent(key: Buffer, r: Omit<CurrentRow, "seal">): Buffer {
  return hmac(key, ["current", r.key, r.control, r.outcome, r.state, r.since, r.run, r.reason]);
}

export function sealBand(key: Buffer, r: Omit<BandRow, "seal">): Buffer {
  return hmac(key, ["band", r.metric, r.hour, r.count, r.mean, r.m2]);
}

/** A deficiency (deficiencies.ts): `body` is the Deficiency as JSON; the columns repeat what is looked up by. */
export interface DeficiencyRow {
  id: string;
  key: string;
  status: "open" | "resolved";
  notice: number;
  body: string;
  opened_run: number;
  updated_at: string;
  seal: Buffer | null;
}

/** An outbox event: a deficiency opened, updated, resolved, noticed or acknowledged, routed or not yet. */
export interface EventRow {
  seq: number;
  deficiency: string;
  event: string;
  run: number;
  time: string;
  routed: number;
  seal: Buffer | null;
}

/** A planned message (outbox.ts): `body` is the Message as JSON. */
export interface MessageRow {
  id: string;
  channel: string;
  status: "pending" | "retrying" | "sent" | "given-up";
  attempts: number;
  due_at: number;
  body: string;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
  seal: Buffer | null;
}

/** What routing remembers of one group and recipient: `body` is the GroupState as JSON. */
export interface GroupRow {
  route: string;
  group_key: string;
  recipient: string;
  body: string;
  seal: Buffer | null;
}

export function sealDeficiency(key: Buffer, r: Omit<DeficiencyRow, "seal">): Buffer {
  return hmac(key, ["deficiency", r.id, r.key, r.status, r.notice, r.body, r.opened_run, r.updated_at]);
}

// the event's number is sealed too: a sealed event cannot be moved to stand for another
export function sealEvent(key: Buffer, r: Omit<EventRow, "seal">): Buffer {
  return hmac(key, ["event", r.seq, r.deficiency, r.event, r.run, r.time, r.routed]);
}

export function sealMessage(key: Buffer, r: Omit<MessageRow, "seal">): Buffer {
  return hmac(key, ["message", r.id, r.channel, r.status, r.attempts, r.due_at, r.body, r.last_error, r.created_at, r.sent_at]);
}

export function sealGroup(key: Buffer, r: Omit<GroupRow, "seal">): Buffer {
  return hmac(key, ["group", r.route, r.group_key, r.recipient, r.body]);
}

/** The watcher's heartbeat (watcher.ts): the one row of schema 6's `watcher` table. */
export interface WatcherRow {
  id: number;
  pid: number;
  start_ticks: number;
  started: string;
  beat: string;
  policy: string;
  interval_ms: number;
  state: string;
  seal: Buffer | null;
}

export function sealWatcher(key: Buffer, r: Omit<WatcherRow, "seal">): Buffer {
  return hmac(key, ["watcher", r.id, r.pid, r.start_ticks, r.started, r.beat, r.policy, r.interval_ms, r.state]);
}

export function sealMatches(seal: unknown, expected: Buffer): boolean {
  return Buffer.isBuffer(seal) && seal.equals(expected);
}

/**
 * The digest of every learnt band as stored: the head anchor in the database records it with each
 * run's summary (bands change only then), so a sealed band put back from an older copy, or one
 * deleted, no longer matches.
 */
export function bandsDigest(db: Database.Database): string {
  const h = createHash("sha256");
  for (const r of db.prepare("SELECT metric, hour, count, mean, m2 FROM bands ORDER BY metric, hour").iterate() as IterableIterator<Omit<BandRow, "seal">>) {
    h.update(JSON.stringify([r.metric, r.hour, r.count, r.mean, r.m2])).update("\n");
  }
  return h.digest("hex");
}

/** An approved integrity state (approved-states.ts, schema 7). */
export interface ApprovedRow {
  path: string;
  state: string;
  approved_at: string;
  record: number;
  seal: Buffer | null;
}

export function sealApproved(key: Buffer, r: Omit<ApprovedRow, "seal">): Buffer {
  return hmac(key, ["approved", r.path, r.state, r.approved_at, r.record]);
}

/** The masked copy of an approved text file (schema 7). */
export interface ApprovedCopyRow {
  path: string;
  copy: string;
  record: number;
  seal: Buffer | null;
}

export function sealApprovedCopy(key: Buffer, r: Omit<ApprovedCopyRow, "seal">): Buffer {
  return hmac(key, ["approved copy", r.path, r.copy, r.record]);
}
