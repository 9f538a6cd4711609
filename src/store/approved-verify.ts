// `verify` for the approved integrity states (schema 7): every row must carry its seal and name
// the `approval` record that wrote it, and no record may stand for more rows than it approved.
import type Database from "better-sqlite3";
import type { LedgerRow, Tampering } from "./ledger.js";
import { sealApproved, sealApprovedCopy, sealMatches, type ApprovedCopyRow, type ApprovedRow } from "./seals.js";

export function approvedTampering(db: Database.Database, key: Buffer, rows: LedgerRow[]): Tampering | undefined {
  const approvals = new Map<number, number>();
  for (const r of rows) {
    if (r.kind !== "approval") continue;
    let paths: unknown;
    try {
      paths = (JSON.parse(String(r.body)) as { paths?: unknown }).paths;
    } catch {
      continue; // the chain walk has already judged this record
    }
    if (typeof paths === "number") approvals.set(r.seq, paths);
  }
  const standing = new Map<number, number>();
  for (const a of db.prepare("SELECT * FROM approved_states ORDER BY path").iterate() as IterableIterator<ApprovedRow>) {
    if (!sealMatches(a.seal, sealApproved(key, a))) return { kind: "altered", seq: Number(a.record) || 0, message: `the approved integrity state of ${a.path} was changed outside Covenant: its seal does not match` };
    const approved = approvals.get(a.record);
    if (approved === undefined) return { kind: "inserted", seq: 0, message: `the approved integrity state of ${a.path} names record ${a.record}, which approved nothing: it was put there outside Covenant` };
    const n = (standing.get(a.record) ?? 0) + 1;
    if (n > approved) return { kind: "inserted", seq: a.record, message: `record ${a.record} approved ${approved} integrity state${approved === 1 ? "" : "s"}, but more stand in its name: ${a.path} was added outside Covenant` };
    standing.set(a.record, n);
  }
  // each copy with the state it was approved with (the same record)
  const records = new Map((db.prepare("SELECT path, record FROM approved_states").all() as { path: string; record: number }[]).map((r) => [r.path, r.record]));
  for (const c of db.prepare("SELECT * FROM approved_copies ORDER BY path").iterate() as IterableIterator<ApprovedCopyRow>) {
    if (!sealMatches(c.seal, sealApprovedCopy(key, c))) return { kind: "altered", seq: Number(c.record) || 0, message: `the approved copy of ${c.path} was changed outside Covenant: its seal does not match` };
    if (records.get(c.path) !== c.record) return { kind: "inserted", seq: c.record, message: `the approved copy of ${c.path} is not the one approved with its state: it was put there outside Covenant` };
  }
  return undefined;
}
