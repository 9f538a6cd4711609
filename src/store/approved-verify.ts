// `verify` for the approved integrity states (schema 7): every row must carry its seal and name
// the `approval` record that wrote it, and no record may stand for more rows than it approved.
import type Database from "better-sqlite3";
import type { Tampering } from "./ledger.js";
import type { RecordView, RowCheck } from "./row-check.js";
import { sealApproved, sealApprovedCopy, sealMatches, type ApprovedCopyRow, type ApprovedRow } from "./seals.js";

export class ApprovedCheck implements RowCheck {
  /** each approval record's number, with how many states it approved */
  private readonly approvals = new Map<number, number>();

  constructor(
    private readonly db: Database.Database,
    private readonly key: Buffer,
  ) {}

  visit(v: RecordView): void {
    if (v.row.kind !== "approval") return;
    const paths = (v.json() as { paths?: unknown } | null | undefined)?.paths; // not JSON: the chain walk has judged it
    if (typeof paths === "number") this.approvals.set(v.row.seq, paths);
  }

  result(): Tampering | undefined {
    return approvedTampering(this.db, this.key, this.approvals);
  }
}

function approvedTampering(db: Database.Database, key: Buffer, approvals: ReadonlyMap<number, number>): Tampering | undefined {
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
