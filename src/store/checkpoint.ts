// The checkpoint a prune leaves (prune.ts): where the chain now starts, and what it no longer
// holds. Kept in `meta` (key `checkpoint`), sealed with the host key like the head anchors: the
// last record removed (the cut: its number, MAC and run), the records at or below it that were
// kept because something after it names them (each with the MAC of the record before it, so
// each still verifies on its own), how many of each kind went, and the evidence pack that holds
// them. `verify` walks the chain from the cut's MAC, holds each kept record to its recorded
// predecessor, and finds anything else below the cut (a record put back) or a kept record gone;
// records missing from the start with no checkpoint the key sealed are records deleted.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type Database from "better-sqlite3";
import { ChainWalk, checkRecords, macOf, type LedgerRow, type RecordCheck, type RecordKind, type Tampering } from "./ledger.js";
import type { RecordView, RowCheck } from "./row-check.js";
import type { PruneEvidence } from "./records.js";
import type { HostKeys } from "./host-keys.js";
import { readMeta, writeMeta } from "./meta.js";

/** A record at or below the cut that was kept: its number, its MAC, and the MAC of the record that came before it. */
export interface KeptRecord {
  seq: number;
  prev: string;
  mac: string;
}

export interface Checkpoint {
  /** the last record at or below which the history was pruned, its MAC (the chain resumes from it), its run and when that run's summary was written */
  cut: { seq: number; mac: string; run: number; time: string };
  /** the instant the prune was asked for */
  before: string;
  kept: KeptRecord[];
  /** records removed per kind, by this prune and those before it */
  removed: Partial<Record<RecordKind, number>>;
  /** settled outbox messages removed with their delivery records, by this prune and those before it */
  messages: number;
  evidence: PruneEvidence;
  /** the packs of earlier prunes, oldest first: what they removed is in them */
  earlier: PruneEvidence[];
  /** when the prune was made */
  at: string;
  /**
   * the deficiencies retired by run summaries this prune (or one before it) removed, and by the
   * prunes themselves: with their summaries gone, `verify` learns here that such a deficiency put
   * back from an older copy was retired (absent when there are none, and in older checkpoints)
   */
  retired?: string[];
  seal: string;
}

const META_KEY = "checkpoint";

function sealOf(key: Buffer, fields: Omit<Checkpoint, "seal">): string {
  return createHmac("sha256", key).update("checkpoint\n").update(JSON.stringify(fields)).digest("hex");
}

/** The checkpoint sealed, and its text as stored (what the prune record's `checkpoint` hash is over). */
export function sealCheckpoint(key: Buffer, fields: Omit<Checkpoint, "seal">): { checkpoint: Checkpoint; text: string } {
  // the fields in this fixed order: the seal is over their JSON as written, read back the same
  const ordered: Omit<Checkpoint, "seal"> = { cut: fields.cut, before: fields.before, kept: fields.kept, removed: fields.removed, messages: fields.messages, evidence: fields.evidence, earlier: fields.earlier, at: fields.at, ...(fields.retired && fields.retired.length > 0 ? { retired: fields.retired } : {}) };
  const checkpoint: Checkpoint = { ...ordered, seal: sealOf(key, ordered) };
  return { checkpoint, text: JSON.stringify(checkpoint) };
}

export function checkpointDigest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function writeCheckpoint(db: Database.Database, text: string): void {
  writeMeta(db, META_KEY, text);
}

/** The checkpoint in the store: none, one the key sealed (with its text), or one it did not (`forged`). */
export type CheckpointState = { state: "none" } | { state: "sealed"; checkpoint: Checkpoint; text: string } | { state: "forged" };

/**
 * The checkpoint is sealed once, by the key in force when the prune wrote it, and never re-sealed:
 * the prune record holds the digest of its text. A rotation since leaves it sealed with a key the
 * schedule keeps, so any of them vouches for it (the prune record, in the chain, for its text).
 */
export function readCheckpoint(db: Database.Database, keys: HostKeys): CheckpointState {
  const text = readMeta(db, META_KEY);
  if (text === undefined) return { state: "none" };
  let value: unknown;
  try {
    value = JSON.parse(String(text));
  } catch {
    return { state: "forged" };
  }
  if (!wellFormed(value)) return { state: "forged" };
  const { seal, ...fields } = value;
  const given = Buffer.from(seal, "hex");
  const sealedBy = (key: Buffer) => {
    const expected = Buffer.from(sealOf(key, fields), "hex");
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  if (!keys.all.some(sealedBy)) return { state: "forged" };
  return { state: "sealed", checkpoint: value, text: String(text) };
}

const HEX64 = /^[0-9a-f]{64}$/;

function wellFormed(v: unknown): v is Checkpoint {
  if (typeof v !== "object" || v === null) return false;
  const c = v as Partial<Checkpoint>;
  const cut = c.cut as Partial<Checkpoint["cut"]> | undefined;
  if (!cut || !Number.isSafeInteger(cut.seq) || cut.seq! < 1 || typeof cut.mac !== "string" || !HEX64.test(cut.mac) || !Number.isSafeInteger(cut.run) || typeof cut.time !== "string") return false;
  if (!Array.isArray(c.kept) || !c.kept.every((k: Partial<KeptRecord>) => Number.isSafeInteger(k.seq) && typeof k.prev === "string" && HEX64.test(k.prev) && typeof k.mac === "string" && HEX64.test(k.mac))) return false;
  if (c.retired !== undefined && !(Array.isArray(c.retired) && c.retired.every((id) => typeof id === "string"))) return false;
  return typeof c.seal === "string" && HEX64.test(c.seal) && typeof c.at === "string" && typeof c.before === "string" && typeof c.evidence === "object" && c.evidence !== null && Array.isArray(c.earlier);
}

/**
 * The chain across the checkpoint, a record at a time (verify's walk): records kept at or below
 * the cut held to their recorded predecessors, the walk from the cut, and the last prune record
 * vouching for the checkpoint. Without one, records missing from the start are deleted ones.
 */
export class ChainCheck implements RowCheck {
  private first: number | undefined;
  private readonly walk: ChainWalk;
  private readonly kept: Map<number, KeptRecord>;
  private keptFound: Tampering | undefined;
  private lastPrune: { seq: number; body: string } | undefined;

  constructor(
    private readonly keys: HostKeys,
    private readonly cp: CheckpointState,
  ) {
    const sealed = cp.state === "sealed" ? cp.checkpoint : undefined;
    this.kept = new Map((sealed?.kept ?? []).map((k) => [k.seq, k]));
    this.walk = new ChainWalk(keys, sealed ? { seq: sealed.cut.seq + 1, prev: Buffer.from(sealed.cut.mac, "hex") } : undefined);
  }

  visit(v: RecordView): void {
    const r = v.row;
    this.first ??= r.seq;
    if (r.kind === "prune") this.lastPrune = { seq: r.seq, body: String(r.body) };
    if (this.cp.state === "sealed" && r.seq <= this.cp.checkpoint.cut.seq) {
      this.keptFound ??= this.keptProblem(r, this.cp.checkpoint);
      this.kept.delete(r.seq);
    } else this.walk.visit(r, v.mac);
  }

  /** A record at or below the cut: it must be one the checkpoint kept, chained to its recorded predecessor. */
  private keptProblem(r: LedgerRow, cp: Checkpoint): Tampering | undefined {
    const k = this.kept.get(r.seq);
    if (!k) return { kind: "inserted", seq: r.seq, message: `record ${r.seq} is at or below the checkpoint (records up to ${cp.cut.seq} were pruned on ${cp.at}) but is not one it kept: it was put back or inserted` };
    const mac = Buffer.isBuffer(r.mac) ? r.mac : undefined;
    if (!mac || mac.toString("hex") !== k.mac || !macOf(this.keys.at(r.seq), Buffer.from(k.prev, "hex"), r).equals(mac)) return { kind: "altered", seq: r.seq, message: `record ${r.seq}, kept by the checkpoint, was altered after it was written` };
    return undefined;
  }

  result(): Tampering | undefined {
    const cp = this.cp;
    if (cp.state !== "sealed") {
      if (this.first !== undefined && this.first > 1) {
        const why = cp.state === "forged" ? " (the checkpoint in the store is not one it sealed: it was forged or altered)" : "";
        return { kind: "deleted", seq: 1, message: `records 1 to ${this.first - 1} are missing and no checkpoint Covenant sealed accounts for them${why}` };
      }
      if (cp.state === "forged") return { kind: "altered", seq: 0, message: "the checkpoint in the store is not one Covenant sealed: it was forged or altered" };
      return this.walk.end() ?? pruneRecordTampering(this.lastPrune, cp);
    }
    // a kept record not seen, when every record below the cut was: deleted
    const gone = this.keptFound ? undefined : this.kept.keys().next();
    const keptDeleted: Tampering | undefined = gone && !gone.done ? { kind: "deleted", seq: gone.value, message: `record ${gone.value}, kept by the checkpoint because later records name it, was deleted` } : undefined;
    return this.keptFound ?? keptDeleted ?? this.walk.end() ?? pruneRecordTampering(this.lastPrune, cp);
  }
}

/** The last prune record must vouch for the checkpoint in the store, and a checkpoint needs one. */
function pruneRecordTampering(last: { seq: number; body: string } | undefined, cp: CheckpointState): Tampering | undefined {
  if (!last) return cp.state === "sealed" ? { kind: "deleted", seq: 0, message: "the store holds a checkpoint, but no prune record in the history vouches for it" } : undefined;
  let named: unknown;
  try {
    named = (JSON.parse(last.body) as { checkpoint?: unknown }).checkpoint;
  } catch {
    named = undefined; // the chain walk has judged the record
  }
  if (cp.state !== "sealed") return { kind: "deleted", seq: last.seq, message: `the prune record ${last.seq} left a checkpoint, but the store holds none: it was removed` };
  if (named !== checkpointDigest(cp.text)) return { kind: "altered", seq: last.seq, message: `the checkpoint in the store is not the one the prune record ${last.seq} left: it was replaced` };
  return undefined;
}

/** Each record checked as `history` reads it, across the checkpoint: kept records against their recorded predecessor, the rest from the cut. */
export function checkAcross(keys: HostKeys, rows: LedgerRow[], cp: CheckpointState): RecordCheck[] {
  if (cp.state !== "sealed") return checkRecords(keys, rows);
  const { cut } = cp.checkpoint;
  const kept = new Map(cp.checkpoint.kept.map((k) => [k.seq, k]));
  const below = rows.filter((r) => r.seq <= cut.seq);
  const checks: RecordCheck[] = below.map((r) => {
    const k = kept.get(r.seq);
    if (!k) return { verified: false, problem: `it is below the checkpoint (records up to ${cut.seq} were pruned) and not one it kept: it was put back or inserted` };
    const ok = Buffer.isBuffer(r.mac) && r.mac.toString("hex") === k.mac && macOf(keys.at(r.seq), Buffer.from(k.prev, "hex"), r).equals(r.mac);
    return ok ? { verified: true } : { verified: false, problem: "its MAC does not match: it was altered or inserted after it was written" };
  });
  return [...checks, ...checkRecords(keys, rows.slice(below.length), { seq: cut.seq + 1, prev: Buffer.from(cut.mac, "hex") })];
}

