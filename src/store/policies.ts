// Policy versions in the history: each policy text a run was given, stored once per store as a
// `policy` record, content-addressed by the hash a run's summary names, so that any past run can
// be explained by the text that was in force. A run of the same policy as the last one costs one
// read that stops at the last summary; only a changed policy looks through the policy records
// (their own partial index from schema 8, not the whole history).
import type Database from "better-sqlite3";
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import type { PolicyBody, PolicyFile } from "./records.js";

/**
 * sha256 over each policy file's absolute path and content (as checked, not read again), in load
 * order: the hash a run's summary names. Absolute, so that one policy is one version whatever
 * directory it was run from (the checker's paths are shown relative to it where that is shorter).
 */
export function hashPolicy(files: readonly { path: string; text: string }[]): string {
  const h = createHash("sha256");
  for (const f of files) h.update(resolve(f.path)).update("\0").update(f.text).update("\0");
  return h.digest("hex");
}

export function sha256Of(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The `policy` record of these files, first in force from a run that began `at`. */
export function policyBody(files: readonly { path: string; text: string }[], at: string): PolicyBody {
  const stored: PolicyFile[] = files.map((f) => ({ path: resolve(f.path), sha256: sha256Of(f.text), bytes: Buffer.byteLength(f.text, "utf8"), text: f.text }));
  return { hash: hashPolicy(files), files: stored, at };
}

/** The body's `hash`, without parsing a body that holds whole policy files; undefined when it is not valid JSON. */
const HASH_OF = "CASE WHEN json_valid(body) THEN json_extract(body, '$.hash') END";

/** The first policy record of a hash: through the policy records' own index (schema 8, ledger_policies). */
export const POLICY_BY_HASH_SQL = `SELECT seq FROM ledger WHERE kind = 'policy' AND ${HASH_OF} = ? ORDER BY seq LIMIT 1`;

export class PolicyRecords {
  private readonly lastSummary: Database.Statement;
  private readonly byHash: Database.Statement;
  /** versions read, by hash (version) */
  private readonly found = new Map<string, PolicyVersionRecord>();
  /** each hash's first policy record, as `versions` saw it */
  private readonly firstRecord = new Map<string, number>();

  constructor(private readonly db: Database.Database) {
    // seq is the primary key: read backwards, this stops at the last summary
    this.lastSummary = db.prepare("SELECT body FROM ledger WHERE kind = 'run' ORDER BY seq DESC LIMIT 1");
    this.byHash = db.prepare(POLICY_BY_HASH_SQL);
  }

  /**
   * The record number of the policy record of `hash`, or undefined when there is none. The
   * common case (the policy of the last run) is answered by the last summary, which names its
   * policy record; a changed policy looks through the policy records.
   */
  recordOf(hash: string): number | undefined {
    const last = this.lastSummary.pluck().get() as string | undefined;
    const named = last === undefined ? undefined : summaryPolicy(last);
    if (named && named.policy === hash && named.policyRecord !== undefined) return named.policyRecord;
    return (this.byHash.pluck().get(hash) as number | undefined) ?? undefined;
  }

  /**
   * The policy version stored under `hash`, with the record and run that first held it. The
   * policy records have an index of their own (schema 8: ledger_policies); a store not yet migrated,
   * read as it is, has none, and a look-up there reads the whole table (a year's store: 133 MB,
   * ~250 ms). So a version found is kept (a record never changes once written), and a hash whose
   * first record `versions` saw is read by its number.
   */
  version(hash: string): PolicyVersionRecord | undefined {
    const kept = this.found.get(hash);
    if (kept) return kept;
    const seq = this.firstRecord.get(hash);
    const row = (
      seq !== undefined
        ? this.db.prepare(`SELECT seq, run, time, body FROM ledger WHERE seq = ? AND kind = 'policy' AND ${HASH_OF} = ?`).get(seq, hash)
        : this.db.prepare(`SELECT seq, run, time, body FROM ledger WHERE kind = 'policy' AND ${HASH_OF} = ? ORDER BY seq LIMIT 1`).get(hash)
    ) as { seq: number; run: number; time: string; body: string } | undefined;
    if (!row) return undefined;
    const body = parsePolicy(row.body);
    if (!body) return undefined;
    const version = { seq: row.seq, run: row.run, time: row.time, body };
    this.found.set(hash, version);
    return version;
  }

  /** Every policy version stored, oldest first: its hash, the record and run that first held it, when, and its files' count and size. */
  versions(): PolicyVersionSummary[] {
    const rows = this.db
      .prepare(
        `SELECT seq, run, ${HASH_OF} AS hash, CASE WHEN json_valid(body) THEN json_extract(body, '$.at') END AS at,
                CASE WHEN json_valid(body) THEN json_array_length(body, '$.files') END AS files,
                CASE WHEN json_valid(body) THEN (SELECT sum(json_extract(f.value, '$.bytes')) FROM json_each(body, '$.files') AS f) END AS bytes
         FROM ledger WHERE kind = 'policy' ORDER BY seq`,
      )
      .all() as { seq: number; run: number; hash: unknown; at: unknown; files: unknown; bytes: unknown }[];
    const seen = new Set<string>();
    const out: PolicyVersionSummary[] = [];
    for (const r of rows) {
      if (typeof r.hash !== "string" || seen.has(r.hash)) continue;
      seen.add(r.hash);
      this.firstRecord.set(r.hash, r.seq);
      out.push({ hash: r.hash, record: r.seq, firstRun: r.run, firstAt: typeof r.at === "string" ? r.at : "", files: typeof r.files === "number" ? r.files : 0, bytes: typeof r.bytes === "number" ? r.bytes : 0 });
    }
    return out;
  }
}

export interface PolicyVersionRecord {
  seq: number;
  run: number;
  time: string;
  body: PolicyBody;
}

export interface PolicyVersionSummary {
  hash: string;
  /** the policy record's number */
  record: number;
  /** the run that first used it, and when that run began */
  firstRun: number;
  firstAt: string;
  files: number;
  bytes: number;
}

/** What a summary says of its policy: its hash, and (from policy records on) the record that holds it. */
export function summaryPolicy(text: string): { policy: unknown; policyRecord?: number } | undefined {
  try {
    const b = JSON.parse(text) as { policy?: unknown; policyRecord?: unknown };
    if (typeof b !== "object" || b === null) return undefined;
    return Number.isSafeInteger(b.policyRecord) ? { policy: b.policy, policyRecord: b.policyRecord as number } : { policy: b.policy };
  } catch {
    return undefined;
  }
}

/** A policy record's body when it has the shape one has; undefined otherwise. */
export function parsePolicy(text: string): PolicyBody | undefined {
  let b: Partial<PolicyBody>;
  try {
    b = JSON.parse(text) as Partial<PolicyBody>;
  } catch {
    return undefined;
  }
  if (typeof b !== "object" || b === null || typeof b.hash !== "string" || typeof b.at !== "string" || !Array.isArray(b.files)) return undefined;
  const wellFormed = b.files.every((f) => typeof f === "object" && f !== null && typeof f.path === "string" && typeof f.sha256 === "string" && typeof f.bytes === "number" && typeof f.text === "string");
  return wellFormed ? (b as PolicyBody) : undefined;
}
