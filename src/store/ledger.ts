// The tamper-evident chain: every history record carries an HMAC over its content and the
// previous record's MAC, keyed with the host secret. Changing, inserting or deleting a record
// breaks the chain at that record; a head anchor beside the database catches a cut-off tail.
import { createHmac } from "node:crypto";
import type { HostKeys } from "./host-keys.js";

/**
 * a change of a promise's state, a run's summary, the approval of an integrity baseline, the
 * acknowledgement of a deficiency, a message delivered (or given up): who was told, and when, or
 * (schema 7) the approval of integrity states: first seen, `covenant integrity init` or `approve`,
 * or a policy version, stored once when a run first names its hash, or a roster of the promises
 * a run evaluated (stored once per set), or the rotation of the signing key (`covenant key
 * rotate`), signed by the old key and the new, or (`prune`) history older than a date removed,
 * leaving a sealed checkpoint (prune.ts), or a waiver given on the fleet hub (`waiver`), or a
 * decision of the hub the host refused (`decision`): hub-decisions.ts
 */
export type RecordKind = "change" | "run" | "baseline" | "ack" | "delivery" | "approval" | "policy" | "roster" | "rotation" | "prune" | "waiver" | "decision";

export interface LedgerRow {
  seq: number;
  kind: RecordKind;
  run: number;
  time: string;
  body: string;
  mac: Buffer;
}

export const GENESIS: Buffer = Buffer.alloc(32);

export type MacOf = (key: Buffer, prev: Buffer, row: Omit<LedgerRow, "seq" | "mac">) => Buffer;

export function macOf(key: Buffer, prev: Buffer, row: Omit<LedgerRow, "seq" | "mac">): Buffer {
  return createHmac("sha256", key).update(prev).update(`\n${row.kind}\n${row.run}\n${row.time}\n`).update(row.body).digest();
}

export type Tampering =
  | { kind: "altered"; seq: number; message: string }
  | { kind: "inserted"; seq: number; message: string }
  | { kind: "deleted"; seq: number; message: string }
  | { kind: "broken"; seq: number; message: string };

export interface Head {
  seq: number;
  mac: string;
  /** the store's schema when the anchor was written (absent before schema 4): a store set back to an older schema is found */
  schema?: number;
  /**
   * the last run begun when the anchor was written (absent in anchors of older versions): the file
   * anchor is written, durably, as each run begins, so a run erased from the store is found
   */
  run?: number;
  /** sha256 of the learnt bands as the last run summary left them (database anchor only): a band put back or deleted is found */
  bands?: string;
  /** HMAC of the fields above, so that the anchor itself cannot be rewritten */
  seal: string;
}

/** What an anchor says besides the end of the chain. */
export interface HeadExtras {
  schema?: number;
  run?: number;
  bands?: string;
}

function headSeal(key: Buffer, seq: number, mac: string, x: HeadExtras): string {
  let text = `head\n${seq}\n${mac}`;
  if (x.schema !== undefined) text += `\nschema ${x.schema}`;
  if (x.run !== undefined) text += `\nrun ${x.run}`;
  if (x.bands !== undefined) text += `\nbands ${x.bands}`;
  return createHmac("sha256", key).update(text).digest("hex");
}

export function sealHead(key: Buffer, seq: number, mac: Buffer, extras: HeadExtras = {}): Head {
  const m = mac.toString("hex");
  const given: HeadExtras = {};
  if (extras.schema !== undefined) given.schema = extras.schema;
  if (extras.run !== undefined) given.run = extras.run;
  if (extras.bands !== undefined) given.bands = extras.bands;
  return { seq, mac: m, ...given, seal: headSeal(key, seq, m, given) };
}

export function headIsSealed(key: Buffer, h: unknown): h is Head {
  if (typeof h !== "object" || h === null) return false;
  const { seq, mac, schema, run, bands, seal } = h as Partial<Head>;
  if (!Number.isSafeInteger(seq) || seq! < 0 || typeof mac !== "string" || !/^[0-9a-f]{64}$/.test(mac) || typeof seal !== "string") return false;
  if (schema !== undefined && !Number.isSafeInteger(schema)) return false;
  if (run !== undefined && (!Number.isSafeInteger(run) || run < 0)) return false;
  if (bands !== undefined && (typeof bands !== "string" || !/^[0-9a-f]{64}$/.test(bands))) return false;
  return headSeal(key, seq!, mac, { schema, run, bands } as HeadExtras) === seal;
}

/** Where a walk of the chain starts: record 1 after GENESIS, or (after a prune) the record after the checkpoint's cut. */
export interface ChainStart {
  seq: number;
  prev: Buffer;
}

const FROM_GENESIS: ChainStart = { seq: 1, prev: GENESIS };

/** A record as `history` shows it: whether its MAC proves that Covenant wrote it, and where in the chain. */
export type RecordCheck = { verified: true } | { verified: false; problem: string };

/**
 * Judges each record on its own as the chain is read: a record is verified when its MAC matches
 * its content chained to the record before it (or, past an inserted record, to the last verified
 * one). A MAC cannot be made without the key, so a verified record is one Covenant wrote, whatever
 * was done around it; the others are marked with what can be said of them. `rows` in seq order.
 */
export function checkRecords(keys: HostKeys, rows: LedgerRow[], start: ChainStart = FROM_GENESIS): RecordCheck[] {
  const out: RecordCheck[] = [];
  let stored: Buffer = start.prev;
  let lastGood: Buffer = start.prev;
  let expectedSeq = start.seq;
  for (const r of rows) {
    const mac = Buffer.isBuffer(r.mac) ? r.mac : undefined;
    const key = keys.at(r.seq);
    const good = mac !== undefined && (macOf(key, stored, r).equals(mac) || macOf(key, lastGood, r).equals(mac));
    // the MAC does not cover the record's number: a record whose number does not follow the one
    // before is not vouched for as numbered, whatever its MAC (verify names the gap the same way)
    if (r.seq !== expectedSeq) out.push({ verified: false, problem: `records before it are missing, or it was renumbered (expected record ${expectedSeq}): it cannot be verified` });
    else if (good) out.push({ verified: true });
    else out.push({ verified: false, problem: keys.unverifiable(r.seq) ?? "its MAC does not match: it was altered or inserted after it was written" });
    if (good) lastGood = mac;
    stored = mac ?? GENESIS;
    expectedSeq = r.seq + 1;
  }
  return out;
}

/**
 * Walks the chain a record at a time, in sequence order, and names the first record that was
 * altered, inserted or deleted: `visit` each record (it says whether the walk still wants more),
 * then `end()`. A record whose MAC fails is judged by the one after it (inserted: the chain goes
 * on without it; altered: the next one chains to it; else broken). The walk starts at `start`
 * (after a prune, the record after the checkpoint's cut, chained to the cut's MAC).
 */
export class ChainWalk {
  private prev: Buffer;
  private expected: number;
  /** a record whose MAC did not match, waiting for the next to say what happened to it */
  private failed: LedgerRow | undefined;
  private found: Tampering | undefined;

  constructor(
    private readonly keys: HostKeys,
    start: ChainStart = FROM_GENESIS,
  ) {
    this.prev = start.prev;
    this.expected = start.seq;
  }

  /** `mac`: how a MAC is computed (a walk shared with other checks passes one that remembers it: row-check.ts) */
  visit(r: LedgerRow, mac: MacOf = macOf): boolean {
    if (this.found) return false;
    if (this.failed) {
      this.found = this.judge(this.failed, r);
      return false;
    }
    if (r.seq !== this.expected) {
      const from = this.expected;
      const to = r.seq - 1;
      this.found = { kind: "deleted", seq: from, message: from === to ? `record ${from} was deleted` : `records ${from} to ${to} were deleted` };
      return false;
    }
    if (Buffer.isBuffer(r.mac) && mac(this.keys.at(r.seq), this.prev, r).equals(r.mac)) {
      this.prev = r.mac;
      this.expected++;
    } else this.failed = r;
    return true;
  }

  private judge(r: LedgerRow, next: LedgerRow): Tampering {
    const key = this.keys.at(next.seq);
    if (Buffer.isBuffer(next.mac) && macOf(key, this.prev, next).equals(next.mac)) return { kind: "inserted", seq: r.seq, message: `record ${r.seq} was inserted: the chain continues past it without it` };
    if (Buffer.isBuffer(next.mac) && Buffer.isBuffer(r.mac) && macOf(key, r.mac, next).equals(next.mac)) return { kind: "altered", seq: r.seq, message: `record ${r.seq} was altered after it was written` };
    return { kind: "broken", seq: r.seq, message: `the chain breaks at record ${r.seq}: it was altered, or records before it were deleted and renumbered` };
  }

  /** The first problem, once the last record was visited. */
  end(): Tampering | undefined {
    if (!this.found && this.failed) this.found = { kind: "altered", seq: this.failed.seq, message: `record ${this.failed.seq}, the last one, was altered or inserted` };
    return this.found;
  }
}

/**
 * Walks the chain in sequence order and names the first record that was altered, inserted
 * or deleted. `rows` must be ordered by seq; the walk starts at `start` (after a prune, the
 * record after the checkpoint's cut, chained to the cut's MAC).
 */
export function findTampering(keys: HostKeys, rows: LedgerRow[], head?: Head, start: ChainStart = FROM_GENESIS): Tampering | undefined {
  const walk = new ChainWalk(keys, start);
  for (const r of rows) if (!walk.visit(r)) break;
  const found = walk.end();
  if (found) return found;
  if (head) {
    const last = rows[rows.length - 1];
    if (head.seq > (last?.seq ?? 0)) {
      const from = (last?.seq ?? 0) + 1;
      return { kind: "deleted", seq: from, message: from === head.seq ? `record ${from}, the last one, was deleted` : `records ${from} to ${head.seq}, the newest, were deleted` };
    }
    const anchored = rows.find((r) => r.seq === head.seq);
    if (anchored && Buffer.isBuffer(anchored.mac) && anchored.mac.toString("hex") !== head.mac) return { kind: "altered", seq: head.seq, message: `record ${head.seq} does not match the head anchor: it was rewritten` };
  }
  return undefined;
}
