// What the fleet hub holds of this host (issue 18): the last record the hub acknowledged and the
// hub's public chain value after it, for the host id the hub gave at enrolment. Kept in `meta`
// (key `hub_position`), sealed with the host key like the checkpoint, so that a value edited in
// the database is not believed: a forged position could hide records the hub never received from
// `covenant prune`, which refuses to remove what the hub does not hold. A position that is not
// sealed, or is for another host id (the host enrolled again), reads as none: the host then sends
// from its first record, which the hub takes as records it already holds. It is not a record of
// the chain (pushing writes nothing to the history): `verify` does not judge it.
import { createHmac, timingSafeEqual } from "node:crypto";
import type Database from "better-sqlite3";
import { readMeta, writeMeta } from "./meta.js";

/** The hub's position: its last record of this host and the hub chain value after it (64 hex digits). */
export interface HubPoint {
  seq: number;
  chain: string;
}

interface StoredPosition extends HubPoint {
  /** the host id the hub gave at enrolment */
  host: string;
  /** when it was acknowledged (the host's clock) */
  at: string;
  seal: string;
}

const META_KEY = "hub_position";
const HEX64 = /^[0-9a-f]{64}$/;

function sealOf(key: Buffer, p: Omit<StoredPosition, "seal">): string {
  // the fields in a fixed order, labelled: a seal of another sealed value is never valid for this one
  return createHmac("sha256", key).update("hub position\n").update(JSON.stringify([p.host, p.seq, p.chain, p.at])).digest("hex");
}

function wellFormed(v: unknown): v is StoredPosition {
  if (typeof v !== "object" || v === null) return false;
  const p = v as Partial<StoredPosition>;
  return typeof p.host === "string" && Number.isSafeInteger(p.seq) && p.seq! >= 0 && typeof p.chain === "string" && HEX64.test(p.chain) && typeof p.at === "string" && typeof p.seal === "string" && HEX64.test(p.seal);
}

/** The position stored for `host`, sealed by one of `keys` (the schedule's keys: a rotation since leaves it sealed by a retired one); undefined otherwise. */
export function readHubPosition(db: Database.Database, keys: readonly Buffer[], host: string): (HubPoint & { at: string }) | undefined {
  const text = readMeta(db, META_KEY);
  if (typeof text !== "string") return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!wellFormed(v) || v.host !== host) return undefined;
  const { seal, ...fields } = v;
  const given = Buffer.from(seal, "hex");
  const sealedBy = (key: Buffer) => timingSafeEqual(given, Buffer.from(sealOf(key, fields), "hex"));
  if (!keys.some(sealedBy)) return undefined;
  return { seq: fields.seq, chain: fields.chain, at: fields.at };
}

/**
 * Stores the position, sealed with the key in force; inside the caller's transaction. It only
 * moves forward (two pushes at once, the watcher's and a run's, may finish in either order)
 * unless `back` says the hub itself holds less than before (it was restored from a backup).
 * Returns whether it was written.
 */
export function writeHubPosition(db: Database.Database, key: Buffer, keys: readonly Buffer[], host: string, p: HubPoint, at: string, back = false): boolean {
  if (!Number.isSafeInteger(p.seq) || p.seq < 0 || !HEX64.test(p.chain)) throw new Error(`not a hub position: ${JSON.stringify(p).slice(0, 200)}`);
  const now = readHubPosition(db, keys, host);
  if (now && !back && now.seq > p.seq) return false;
  const fields = { host, seq: p.seq, chain: p.chain, at };
  writeMeta(db, META_KEY, JSON.stringify({ ...fields, seal: sealOf(key, fields) }));
  return true;
}
