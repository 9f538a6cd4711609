// Seals on the rows that are not records of the chain but decide what a run reports: integrity
// baselines (what a file must hash to), the current state of each promise (whether a run writes
// a record at all) and the learnt bands (what is an anomaly). Each row carries an HMAC of its
// content under the host key, so a row edited in the database is found by `verify` and never
// used as if Covenant had written it.
import type Database from "better-sqlite3";
import { createHash, createHmac } from "node:crypto";

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
  return createHmac("sha256", key).update(JSON.stringify(fields)).digest();
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
