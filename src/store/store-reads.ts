// Reading the state store's history: the records as stored, the history checked as it is read
// (`history`), its verification (verify.ts) and the evidence pack's scan (scan.ts), each in one read
// transaction, with the key schedule that transaction sees.
import { endTampering, readFileHead, type FileHead } from "./anchors.js";
import { approvedStatesPresent } from "./approved-states.js";
import { checkAcross, readCheckpoint, type Checkpoint, type CheckpointState } from "./checkpoint.js";
import type { HostKeys } from "./host-keys.js";
import type { LedgerRow, RecordKind, Tampering } from "./ledger.js";
import { Notifications } from "./notify.js";
import type { BaselineBody, ChangeBody, HistoryEntry, RunBody } from "./records.js";
import { ScanCheck, scanRecords, type ScannedRecord, type ScanRange } from "./scan.js";
import { SCHEMA_VERSION } from "./schema.js";
import type { StoreCore } from "./store-core.js";
import { hasColumn, verifyStore, type KnownHead, type VerifyReport } from "./verify.js";
import { Watcher } from "./watcher.js";
import { readMeta } from "./meta.js";

/** What a scan of the history vouches for (scanHistory, verifyAndScan). */
export interface ScanOutcome {
  /** the last record read */
  last?: { seq: number; mac: string };
  /** the store's last record when the scan began */
  storeHead?: { seq: number; mac: string };
  /** when the scan reached the store's last record: whether the anchors vouch for that end */
  end?: Tampering;
  checkpoint?: Checkpoint;
}

/** A record as stored: body text and MAC (hex), unjudged (verify judges). */
export interface StoredRecord {
  seq: number;
  kind: RecordKind;
  run: number;
  time: string;
  body: string;
  mac: string;
}

function stored(rows: LedgerRow[]): StoredRecord[] {
  return rows.map((r) => ({ seq: r.seq, kind: r.kind, run: r.run, time: String(r.time), body: String(r.body), mac: Buffer.isBuffer(r.mac) ? r.mac.toString("hex") : "" }));
}

/** The records from `first` to `last` (their numbers) as stored. */
export function storedRecords(s: StoreCore, first: number, last: number): StoredRecord[] {
  return stored(s.read(() => s.db.prepare("SELECT seq, kind, run, time, body, mac FROM ledger WHERE seq BETWEEN ? AND ? ORDER BY seq").all(first, last) as LedgerRow[]));
}

/** The rotation records after record `seq` as stored (a handful at most). */
export function rotationsAfter(s: StoreCore, seq: number): StoredRecord[] {
  return stored(s.read(() => s.db.prepare("SELECT seq, kind, run, time, body, mac FROM ledger WHERE kind = 'rotation' AND seq > ? ORDER BY seq").all(seq) as LedgerRow[]));
}

/** Each record's number and time, in order: what an evidence pack's period is cut from. */
export function recordTimes(s: StoreCore): { seq: number; time: string }[] {
  return s.read(() => s.db.prepare("SELECT seq, time FROM ledger ORDER BY seq").all() as { seq: number; time: string }[]);
}

/**
 * Every record from `range.fromSeq` through `range.toSeq` given to `visit` in seq order, parsed,
 * one row at a time inside one read transaction, each MAC checked against the record before it
 * (scan.ts). Returns the last record read, the store's head when the scan began, and, when the
 * scan reached the store's last record, whether the anchors vouch for that end.
 */
export function scanHistory(s: StoreCore, range: ScanRange, visit: (r: ScannedRecord) => void): ScanOutcome {
  const fileHead = readFileHead(s.dir);
  return s.read(() =>
    s.db.transaction(() => {
      // after a prune, the chain is walked across its checkpoint as verify walks it (one the key did not seal is no checkpoint)
      const keys = s.keysNow();
      const cp = readCheckpoint(s.db, keys);
      const { last } = scanRecords(s.db, keys, range, visit, cp.state === "sealed" ? cp.checkpoint : undefined);
      return scanOutcome(s, last, cp, fileHead, keys);
    })(),
  );
}

/** What a scan ending at `last` vouches for: the store's end, and its anchors when the scan reached it. */
function scanOutcome(s: StoreCore, last: { seq: number; mac: Buffer } | undefined, cp: CheckpointState, fileHead: FileHead, keys: HostKeys): ScanOutcome {
  const head = s.db.prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1").get() as { seq: number; mac: unknown } | undefined;
  const storeHead = head && Buffer.isBuffer(head.mac) ? { seq: head.seq, mac: head.mac.toString("hex") } : undefined;
  const reachedEnd = head === undefined || (last !== undefined && last.seq >= head.seq);
  const end = reachedEnd ? endTampering(s.db, keys, fileHead) : undefined;
  return { ...(last ? { last: { seq: last.seq, mac: last.mac.toString("hex") } } : {}), ...(storeHead ? { storeHead } : {}), ...(end ? { end } : {}), ...(cp.state === "sealed" ? { checkpoint: cp.checkpoint } : {}) };
}

export interface HistoryFilter {
  control?: string;
  since?: string;
  kinds?: RecordKind[];
}

/** The records, each checked against the chain as it is read, and whether the chain's end is what its anchors vouch for. */
export function readHistory(s: StoreCore, filter: HistoryFilter): { entries: HistoryEntry[]; end?: Tampering; checkpoint?: Checkpoint } {
  const fileHead = readFileHead(s.dir);
  return s.read(() => s.db.transaction(() => {
    const rows = s.db.prepare("SELECT seq, kind, run, time, body, mac FROM ledger ORDER BY seq").all() as LedgerRow[];
    const keys = s.keysNow();
    const cp = readCheckpoint(s.db, keys);
    const checks = checkAcross(keys, rows, cp);
    const entries: HistoryEntry[] = [];
    rows.forEach((r, i) => {
      if (filter.since !== undefined && !(String(r.time) >= filter.since)) return;
      if (filter.kinds && !filter.kinds.includes(r.kind)) return;
      let body: HistoryEntry["body"];
      try {
        body = JSON.parse(r.body) as ChangeBody | RunBody | BaselineBody;
        if (typeof body !== "object" || body === null) throw new Error("not an object");
      } catch {
        body = { unreadable: String(r.body).slice(0, 200) }; // an edited row: `verify` says which
      }
      // an acknowledgement names its control too
      if (filter.control !== undefined && ((r.kind !== "change" && r.kind !== "ack") || (body as { control?: unknown }).control !== filter.control)) return;
      const check = checks[i]!;
      entries.push({ seq: r.seq, kind: r.kind, run: r.run, time: r.time, body, verified: check.verified, ...(check.verified ? {} : { problem: check.problem }) });
    });
    const end = endTampering(s.db, keys, fileHead);
    return { entries, ...(end ? { end } : {}), ...(cp.state === "sealed" ? { checkpoint: cp.checkpoint } : {}) };
  })());
}

export function verifyHistory(s: StoreCore, knownHead?: KnownHead): VerifyReport {
  // the head file first: read before the read transaction starts, a run finishing meanwhile only makes it older
  const fileHead = readFileHead(s.dir);
  // the key schedule read in the same transaction as the history it keys
  return s.read(() => s.db.transaction(() => verifyStore(verifyView(s, fileHead, s.keysNow(), knownHead)))());
}

function verifyView(s: StoreCore, fileHead: FileHead, keys: HostKeys, knownHead?: KnownHead): Parameters<typeof verifyStore>[0] {
  const db = s.db;
  const sealedTables = hasColumn(db, "current", "seal") && hasColumn(db, "bands", "seal");
  const schema = Number(readMeta(db, "schema") ?? SCHEMA_VERSION);
  return { db, key: keys.current, keys, fileHead, schema, sealedTables, notifyTables: Notifications.present(db), watcherTable: Watcher.present(db), approvedTable: approvedStatesPresent(db), ...(knownHead ? { knownHead } : {}) };
}

/**
 * `verify` and `scanHistory(range, visit)` in one walk of the history, in one read transaction:
 * the evidence pack reads a year's records once, for its verification, its report and its
 * extract, rather than once for each.
 */
export function verifyAndScan(s: StoreCore, range: ScanRange, visit: (r: ScannedRecord) => void): { verified: VerifyReport; scan: ScanOutcome } {
  const fileHead = readFileHead(s.dir);
  return s.read(() =>
    s.db.transaction(() => {
      const keys = s.keysNow();
      const cp = readCheckpoint(s.db, keys);
      const scan = new ScanCheck(keys, range, cp.state === "sealed" ? cp.checkpoint : undefined, visit);
      const verified = verifyStore(verifyView(s, fileHead, keys), [scan]);
      return { verified, scan: scanOutcome(s, scan.end().last, cp, fileHead, keys) };
    })(),
  );
}
