// The approved integrity state of each path under an integrity promise (schema 7): what a run
// compares the path with, and what `covenant integrity init` and `covenant approve` replace.
// Each row is sealed with the host key and names the `approval` record that approved it; rows are
// written only in the transaction of that record. A row holds no secret: a `nodiff` file's digest
// is keyed, and a content copy has its secret lines masked (approved-copy.ts).
import type Database from "better-sqlite3";
import { createHash } from "node:crypto";
import type { ApprovedEntry, ApprovedState } from "../evaluator/contract.js";
import type { ApprovalBody } from "./records.js";
import type { ApprovedCopy } from "../integrity/approved-copy.js";
import { sealApproved, sealApprovedCopy, sealMatches, type ApprovedCopyRow, type ApprovedRow } from "./seals.js";

export function approvedStatesPresent(db: Database.Database): boolean {
  return db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('approved_states', 'approved_copies')").pluck().get() === 2;
}

/** The paths listed in an approval record, at most. */
const SAMPLE = 20;

export type Append = (kind: "approval", body: ApprovalBody) => { seq: number };

export class ApprovedStates {
  private readonly q: Record<"get" | "below" | "put" | "remove" | "copy" | "putCopy" | "removeCopy", Database.Statement>;

  constructor(
    private readonly db: Database.Database,
    private readonly key: Buffer,
  ) {
    this.q = {
      get: db.prepare("SELECT * FROM approved_states WHERE path = ?"),
      // the paths below `dir/`: from `dir/` up to `dir0` ('0' follows '/')
      below: db.prepare("SELECT path FROM approved_states WHERE path > ? AND path < ? ORDER BY path").pluck(),
      put: db.prepare("INSERT OR REPLACE INTO approved_states VALUES (@path, @state, @approved_at, @record, @seal)"),
      remove: db.prepare("DELETE FROM approved_states WHERE path = ?"),
      copy: db.prepare("SELECT * FROM approved_copies WHERE path = ?"),
      putCopy: db.prepare("INSERT OR REPLACE INTO approved_copies VALUES (@path, @copy, @record, @seal)"),
      removeCopy: db.prepare("DELETE FROM approved_copies WHERE path = ?"),
    };
  }

  get(path: string): ApprovedState | undefined {
    return this.decode(this.q.get.get(path) as ApprovedRow | undefined);
  }

  /** A row as read (by `get`, or prefetched for a run: run-reads.ts), its seal checked. */
  decode(r: ApprovedRow | undefined): ApprovedState | undefined {
    if (!r) return undefined;
    let parsed: ApprovedState;
    try {
      const state = JSON.parse(r.state) as ApprovedEntry["state"] & { noCopy?: string };
      parsed = { state, approvedAt: r.approved_at, record: r.record };
      if (state.noCopy !== undefined) {
        parsed.noCopy = state.noCopy;
        delete state.noCopy;
      }
    } catch {
      return { state: { status: "absent" }, approvedAt: r.approved_at, record: r.record, tampered: true };
    }
    if (!sealMatches(r.seal, sealApproved(this.key, r))) parsed.tampered = true;
    return parsed;
  }

  /** The masked copy approved with the path's state (the same record), or why there is none to use. */
  copy(path: string, record: number): { copy: ApprovedCopy } | { none: string } {
    const r = this.q.copy.get(path) as ApprovedCopyRow | undefined;
    if (!r || r.record !== record) return { none: "no approved copy kept" };
    return decodeCopyRow(this.key, r);
  }

  below(dir: string): string[] {
    const base = dir.endsWith("/") ? dir.slice(0, -1) : dir;
    return this.q.below.all(`${base}/`, `${base}0`) as string[];
  }

  /**
   * Writes `entries` as approved, removes `removed`, and appends their approval record (`body`,
   * completed with the count, sample and digest), in one transaction. Returns the record number.
   */
  approve(entries: { hostPath: string; entry: ApprovedEntry }[], removed: string[], body: Omit<ApprovalBody, "paths" | "sample" | "digest" | "removed">, append: Append): number {
    const rows = entries
      .map(({ hostPath, entry }) => ({ path: hostPath, state: JSON.stringify(entry.noCopy !== undefined ? { ...entry.state, noCopy: entry.noCopy } : entry.state), copy: entry.copy ? JSON.stringify(entry.copy) : null }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const full: ApprovalBody = { ...body, paths: rows.length, sample: rows.slice(0, SAMPLE).map((r) => r.path), digest: rowsDigest(rows) };
    if (removed.length > 0) full.removed = removed.length;
    return this.db
      .transaction(() => {
        const { seq } = append("approval", full);
        for (const r of rows) {
          const row = { path: r.path, state: r.state, approved_at: body.at, record: seq };
          this.q.put.run({ ...row, seal: sealApproved(this.key, row) });
          if (r.copy === null) this.q.removeCopy.run(r.path);
          else {
            const copy = { path: r.path, copy: r.copy, record: seq };
            this.q.putCopy.run({ ...copy, seal: sealApprovedCopy(this.key, copy) });
          }
        }
        for (const p of removed) {
          this.q.remove.run(p);
          this.q.removeCopy.run(p);
        }
        return seq;
      })
      .immediate();
  }
}

/** A copy row's copy, its seal checked, or why it cannot be used. */
export function decodeCopyRow(key: Buffer, r: ApprovedCopyRow): { copy: ApprovedCopy } | { none: string } {
  if (!sealMatches(r.seal, sealApprovedCopy(key, r))) return { none: "the approved copy was changed outside Covenant (its seal does not match); run `covenant verify`" };
  try {
    return { copy: JSON.parse(r.copy) as ApprovedCopy };
  } catch {
    return { none: "the approved copy cannot be read" };
  }
}

/** sha256 over the rows as written (path, state, copy), in path order. */
export function rowsDigest(rows: readonly { path: string; state: string; copy: string | null }[]): string {
  const h = createHash("sha256");
  for (const r of rows) h.update(JSON.stringify([r.path, r.state, r.copy])).update("\n");
  return h.digest("hex");
}
