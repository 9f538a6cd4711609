// Deficiencies: a promise found drifted, failed or in error, from the change record that found it
// so to the one that found it kept (or skipped, waived, repaired) again, under one short id that
// stays the same meanwhile; and notices, repairs made at once, told once. Each row is sealed with
// the host key: a row changed outside Covenant is said and passed over (never sealed again), and
// `verify` holds the rows to the history. Written only inside the transaction of the change
// record that moved them (store-record.ts), so a deficiency never runs ahead of or behind its history.
import type Database from "better-sqlite3";
import { createHmac, hash } from "node:crypto";
import { hostname } from "node:os";
import type { PromiseResult } from "../evaluator/engine.js";
import { isDeficiency, type Outcome } from "../evaluator/outcomes.js";
import type { Acknowledgement, Deficiency } from "../notifiers/contract.js";
import { StoreError } from "./errors.js";
import type { RecordedFinding } from "./records.js";
import { sealDeficiency, sealMatches, type DeficiencyRow } from "./seals.js";
import { base32 } from "../text/base32.js";

/** What the policy says of a result, for its deficiency: the result itself names only the control's id. */
export interface Finding {
  host: string;
  control: Deficiency["control"];
  promise: Omit<Deficiency["promise"], "type" | "promiser">;
  promised: string[];
}

export type DeficiencyEvent = "opened" | "updated" | "resolved" | "notice" | "acknowledged";

/** An acknowledgement refused: no such deficiency, a prefix naming several, or one already resolved. */
export class DeficiencyError extends StoreError {
  constructor(
    message: string,
    readonly reason: "unknown" | "ambiguous" | "resolved",
  ) {
    super(message);
  }
}

export { base32 } from "../text/base32.js";

/** Names the key without revealing anything of it: deficiency ids of two hosts differ. */
export function hostKeyId(key: Buffer): string {
  return createHmac("sha256", key).update("covenant host key id").digest("hex").slice(0, 16);
}

export function deficiencyId(keyId: string, promiseKey: string, run: number, record: number, attempt = 0): string {
  // one-shot: a report over a year works out ~70,000 of these
  const h = hash("sha256", `${keyId}\n${promiseKey}\n${run}\n${record}${attempt > 0 ? `\n${attempt}` : ""}`, "buffer");
  return "d-" + base32(h, 8);
}

/** One change record as it moves a deficiency: the record's number, and what it says. */
export interface Change {
  run: number;
  time: string;
  seq: number;
  result: PromiseResult;
  /** whether the promise's state changed (a failed repair tried again changes nothing to tell) */
  stateChanged: boolean;
  differences: string[];
  changes: string[];
  finding?: Finding | undefined;
  /** the file-integrity findings as the change record keeps them */
  findings?: RecordedFinding[] | undefined;
}

/** Who and what a deficiency is about; without a finding (a caller that has none), what the result says. */
function contextOf(r: Pick<PromiseResult, "control" | "type" | "promiser" | "stakeholders" | "file" | "line">, finding?: Finding): Pick<Deficiency, "host" | "control" | "promise" | "promised"> {
  if (finding) return { host: finding.host, control: finding.control, promise: { type: r.type, promiser: r.promiser, ...finding.promise }, promised: finding.promised };
  return {
    host: hostname(),
    control: { id: r.control, title: r.control, severity: "medium", key: false },
    promise: { type: r.type, promiser: r.promiser, stakeholders: r.stakeholders, dependsOn: [], file: r.file, line: r.line },
    promised: [],
  };
}

/**
 * The deficiencies a run's summary may retire: resolved, and no event of it still waiting for
 * routing (a forged one included: kept for verify). The ids are found in the indexes alone (the
 * status index, then the partial index of unrouted events, schema 8), and only their rows read:
 * a host with no notification configuration keeps every resolved deficiency and its events for
 * ever, and reading each row to judge it (~1 KiB of body) cost 67 ms a run at 3,000 of them, a
 * `NOT IN` that listed every unrouted event first 390 ms at 25,000; this, 1 ms at 3,000.
 */
export const RETIRABLE_SQL =
  "SELECT * FROM deficiencies WHERE id IN (SELECT d.id FROM deficiencies d WHERE d.status = 'resolved' AND NOT EXISTS (SELECT 1 FROM outbox_events e WHERE e.deficiency = d.id AND e.routed = 0))";

export class Deficiencies {
  private readonly q: Record<"openByKey" | "byId" | "taken" | "put" | "byPrefix" | "byStatus" | "all" | "remove" | "retirable", Database.Statement>;
  private readonly keyId: string;

  constructor(
    private readonly db: Database.Database,
    private readonly key: Buffer,
    /** where a row changed outside Covenant is said */
    private readonly untrusted: (why: string) => void,
    /** the id of the store's first host key (HostKeys.firstId): ids stay the same across rotations of the key */
    keyId: string = hostKeyId(key),
  ) {
    this.keyId = keyId;
    this.q = {
      openByKey: db.prepare("SELECT * FROM deficiencies WHERE status = 'open' AND key = ?"),
      byId: db.prepare("SELECT * FROM deficiencies WHERE id = ?"),
      // whether an id is in use: the key alone, not the row (its body is most of a page, or more)
      taken: db.prepare("SELECT 1 FROM deficiencies WHERE id = ?").pluck(),
      put: db.prepare("INSERT OR REPLACE INTO deficiencies VALUES (@id, @key, @status, @notice, @body, @opened_run, @updated_at, @seal)"),
      byPrefix: db.prepare("SELECT * FROM deficiencies WHERE substr(id, 1, ?) = ? ORDER BY id"),
      byStatus: db.prepare("SELECT * FROM deficiencies WHERE status = ?"),
      all: db.prepare("SELECT * FROM deficiencies"),
      remove: db.prepare("DELETE FROM deficiencies WHERE id = ?"),
      retirable: db.prepare(RETIRABLE_SQL),
    };
  }

  /** The row's deficiency when its seal is the host key's; otherwise it is said, and undefined. */
  private trusted(row: DeficiencyRow): Deficiency | undefined {
    if (sealMatches(row.seal, sealDeficiency(this.key, row))) return JSON.parse(row.body) as Deficiency;
    this.untrusted(`the deficiency ${row.id} was changed outside Covenant (its seal does not match): it is not used; \`covenant verify\` reports it`);
    return undefined;
  }

  /** The promise's open deficiency, and whether a forged one was passed over. One indexed read. */
  openFor(promiseKey: string): { open?: Deficiency; forged: boolean } {
    let forged = false;
    for (const row of this.q.openByKey.all(promiseKey) as DeficiencyRow[]) {
      const d = this.trusted(row);
      if (d) return { open: d, forged };
      forged = true;
    }
    return { forged };
  }

  byId(id: string): Deficiency | undefined {
    const row = this.q.byId.get(id) as DeficiencyRow | undefined;
    return row ? this.trusted(row) : undefined;
  }

  put(d: Deficiency): void {
    const row = { id: d.id, key: d.key, status: d.status, notice: d.notice ? 1 : 0, body: JSON.stringify(d), opened_run: d.openedRun, updated_at: d.updatedAt };
    this.q.put.run({ ...row, seal: sealDeficiency(this.key, row) });
  }

  /** Removes a deficiency retired with a run's summary (notify.ts retireResolved); inside that transaction. */
  remove(id: string): void {
    this.q.remove.run(id);
  }

  /** A new id for a deficiency opened by record `seq`: another row's id (a 40-bit clash) is never reused. */
  private newId(promiseKey: string, run: number, seq: number): string {
    for (let attempt = 0; ; attempt++) {
      const id = deficiencyId(this.keyId, promiseKey, run, seq, attempt);
      if (this.q.taken.get(id) === undefined) return id;
    }
  }

  /**
   * Moves the promise's deficiency as the change record `c` says, given its open one (read in
   * the same transaction): opens one, updates it, resolves it, or writes a notice. Returns the
   * event to write, or undefined when nothing changed for anyone to be told.
   */
  apply(c: Change, open: Deficiency | undefined): { id: string; event: DeficiencyEvent } | undefined {
    const r = c.result;
    const found = { outcome: r.outcome, reason: r.reason, differences: c.differences, changes: c.changes, lastRecord: c.seq, updatedAt: c.time, ...(c.findings ? { findings: c.findings } : {}) };
    if (isDeficiency(r.outcome)) {
      if (!open) return this.open(c, false);
      if (!c.stateChanged) return undefined;
      this.put({ ...open, ...(c.finding ? contextOf(r, c.finding) : {}), ...found });
      return { id: open.id, event: "updated" };
    }
    if (open) {
      // the outcome that made it deficient stays; resolvedBy says what ended it
      this.put({ ...open, lastRecord: c.seq, updatedAt: c.time, status: "resolved", resolvedBy: r.outcome, resolvedAt: c.time, resolvedRun: c.run, ...(r.approval ? { approval: r.approval } : {}) });
      return { id: open.id, event: "resolved" };
    }
    return r.outcome === "repaired" ? this.open(c, true) : undefined;
  }

  private open(c: Change, notice: boolean): { id: string; event: DeficiencyEvent } {
    const r = c.result;
    const id = this.newId(r.key, c.run, c.seq);
    const d: Deficiency = {
      id,
      key: r.key,
      notice,
      status: notice ? "resolved" : "open",
      outcome: r.outcome,
      ...contextOf(r, c.finding),
      reason: r.reason,
      differences: c.differences,
      changes: c.changes,
      ...(c.findings ? { findings: c.findings } : {}),
      openedAt: c.time,
      openedRun: c.run,
      openedRecord: c.seq,
      lastRecord: c.seq,
      updatedAt: c.time,
      ...(notice ? { resolvedBy: "repaired" as Outcome, resolvedAt: c.time, resolvedRun: c.run } : {}),
    };
    this.put(d);
    return { id, event: notice ? "notice" : "opened" };
  }

  /** Deficiencies Covenant wrote, oldest first: open ones by default. */
  list(filter: { status?: "open" | "resolved" | "all"; id?: string } = {}): Deficiency[] {
    const status = filter.status ?? "open";
    let rows: DeficiencyRow[];
    if (filter.id !== undefined) rows = [this.q.byId.get(filter.id) as DeficiencyRow | undefined].filter((r): r is DeficiencyRow => r !== undefined);
    else rows = (status === "all" ? this.q.all.all() : this.q.byStatus.all(status)) as DeficiencyRow[];
    const out: Deficiency[] = [];
    for (const row of rows) {
      if (status !== "all" && row.status !== status) continue;
      const d = this.trusted(row);
      if (d) out.push(d);
    }
    return out.sort((a, b) => a.openedRecord - b.openedRecord || a.id.localeCompare(b.id));
  }

  /**
   * The resolved deficiencies none of whose events waits for routing, trusted ones only, by record:
   * what a run's summary may retire. Found in SQL, so that a store where routing never runs (no
   * configuration) does not read and check every resolved deficiency it keeps at every run.
   */
  retirable(): Deficiency[] {
    const out: Deficiency[] = [];
    for (const row of this.q.retirable.all() as DeficiencyRow[]) {
      const d = this.trusted(row);
      if (d) out.push(d);
    }
    return out.sort((a, b) => a.openedRecord - b.openedRecord || a.id.localeCompare(b.id));
  }

  /** The deficiency an id or a unique prefix of one names (at least 4 characters after "d-"; the "d-" may be left out). */
  find(idOrPrefix: string): Deficiency | { ambiguous: string[] } | undefined {
    const lower = idOrPrefix.trim().toLowerCase();
    const prefix = lower.startsWith("d-") ? lower : `d-${lower}`;
    const exact = this.byId(prefix);
    if (exact || prefix.length < 6) return exact;
    const found = (this.q.byPrefix.all(prefix.length, prefix) as DeficiencyRow[]).map((row) => this.trusted(row)).filter((d): d is Deficiency => d !== undefined);
    if (found.length > 1) return { ambiguous: found.map((d) => d.id) };
    return found[0];
  }

  /** The open deficiency an acknowledgement is for; anything else is refused with words that say why. */
  toAcknowledge(idOrPrefix: string): Deficiency {
    const found = this.find(idOrPrefix);
    if (found === undefined) throw new DeficiencyError(`no deficiency ${idOrPrefix} in the store (\`covenant deficiencies --all\` lists them)`, "unknown");
    if ("ambiguous" in found) throw new DeficiencyError(`${idOrPrefix} names ${found.ambiguous.length} deficiencies (${found.ambiguous.join(", ")}): give more of the id`, "ambiguous");
    if (found.status === "resolved") {
      const how = found.notice ? "is a notice (found and repaired at once)" : `was resolved at ${found.resolvedAt ?? "?"} (${found.resolvedBy ?? "?"}, run ${found.resolvedRun ?? "?"})`;
      throw new DeficiencyError(`the deficiency ${found.id} ${how}: there is nothing open to acknowledge`, "resolved");
    }
    return found;
  }

  /** Puts the acknowledgement (already in the history as record `ack.record`) on the deficiency. */
  acknowledge(d: Deficiency, ack: Acknowledgement): Deficiency {
    const acked = { ...d, ack };
    this.put(acked);
    return acked;
  }
}

/**
 * A deficiency for a promise found deficient before deficiencies were kept (a store migrated to
 * schema 5), from its latest change record: its details as that record gives them.
 */
export function migratedDeficiency(keyId: string, record: { seq: number; run: number; time: string; body: { key: string; control: string; type: string; promiser: string; to: Outcome; reason: string; differences: string[]; changes: string[] } }): Deficiency {
  const b = record.body;
  return {
    id: deficiencyId(keyId, b.key, record.run, record.seq),
    key: b.key,
    notice: false,
    status: "open",
    outcome: b.to,
    ...contextOf({ control: b.control, type: b.type, promiser: b.promiser, stakeholders: [], file: "", line: 0 }),
    reason: b.reason,
    differences: b.differences,
    changes: b.changes,
    openedAt: record.time,
    openedRun: record.run,
    openedRecord: record.seq,
    lastRecord: record.seq,
    updatedAt: record.time,
  };
}
