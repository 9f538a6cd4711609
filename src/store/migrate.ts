// Bringing a store written by an older Covenant up to this schema, in one transaction: the
// renamed column of schema 1, the seals schema 3 put on baselines and schema 4 on current
// states and bands, schema 5's deficiency and outbox tables, schema 6's heartbeat table
// (empty: no watcher has beaten yet) and schema 7's approved integrity states (empty: each path is
// approved as first seen, or by `covenant integrity init`), and schema 8's partial indexes (the
// ledger's waivers and policy versions, the outbox's unrouted events). Rows written before their table was sealed are trusted once
// and sealed, unless a sealed anchor says the table had seals already: then they were set back to
// escape them, and the run stops. Likewise for the notify tables and the heartbeat's: gone from a
// store whose anchors say it had them, they were dropped, not never made.
import type Database from "better-sqlite3";
import { join } from "node:path";
import { isDeficiency, type Outcome } from "../evaluator/outcomes.js";
import { Deficiencies, hostKeyId, migratedDeficiency } from "./deficiencies.js";
import { HistoryBrokenError } from "./errors.js";
import { Outbox } from "./outbox.js";
import type { ChangeBody } from "./records.js";
import { addSealColumn, INTEGRITY_SCHEMA, INTEGRITY_SQL, PARTIAL_INDEX_SQL, NOTIFY_SCHEMA, NOTIFY_SQL, RENAME_LAST_RUN, SCHEMA_VERSION, SEALED_TABLES, WATCH_SCHEMA, WATCH_SQL } from "./schema.js";
import { markCopiesMasked } from "./approved-remask.js";
import { approvedStatesPresent } from "./approved-states.js";
import { sealBand, sealBaseline, sealCurrent, type BandRow, type BaselineRow, type CurrentRow } from "./seals.js";
import { hasColumn } from "./verify.js";
import { Watcher } from "./watcher.js";
import { readMeta, writeMeta } from "./meta.js";

/** The schema that sealed current states and bands (and, before it, baselines). */
const SEALED_SCHEMA = 4;

function broken(dir: string, what: string): HistoryBrokenError {
  return new HistoryBrokenError(`the store ${join(dir, "state.db")} has lost ${what}, which its sealed head anchor says it had: they were set back to escape their seals. \`covenant verify\` reports it; to start a new history, move the state directory aside and keep it as evidence`, "altered");
}

/** `version`: the schema the store says it has; `anchored`: the highest its sealed anchors say it had. */
export function migrate(db: Database.Database, dir: string, key: Buffer, version: number, anchored: number): void {
  db.transaction(() => {
    // schema 1 called the run that recorded a state `last_run`
    if (hasColumn(db, "current", "last_run")) db.exec(RENAME_LAST_RUN);
    const unsealed = SEALED_TABLES.filter((t) => !hasColumn(db, t, "seal"));
    if (unsealed.length > 0 && anchored >= SEALED_SCHEMA) throw broken(dir, `the seals of its ${unsealed.join(" and ")} table${unsealed.length > 1 ? "s" : ""}`);
    // in this order, as schema.ts expects the tables' texts to have been rewritten
    for (const table of unsealed) db.exec(addSealColumn(table));
    if (unsealed.includes("baselines")) for (const r of db.prepare("SELECT * FROM baselines").all() as BaselineRow[]) db.prepare("UPDATE baselines SET seal = ? WHERE path = ?").run(sealBaseline(key, r), r.path);
    if (unsealed.includes("current")) for (const r of db.prepare("SELECT * FROM current").all() as CurrentRow[]) db.prepare("UPDATE current SET seal = ? WHERE key = ?").run(sealCurrent(key, r), r.key);
    if (unsealed.includes("bands")) for (const r of db.prepare("SELECT * FROM bands").all() as BandRow[]) db.prepare("UPDATE bands SET seal = ? WHERE metric = ? AND hour = ?").run(sealBand(key, r), r.metric, r.hour);
    if (!hasColumn(db, "deficiencies", "id")) {
      if (anchored >= NOTIFY_SCHEMA) throw broken(dir, "its deficiency and outbox tables");
      db.exec(NOTIFY_SQL);
      openDeficienciesFound(db, key);
    }
    if (!Watcher.present(db)) {
      if (anchored >= WATCH_SCHEMA) throw broken(dir, "its watcher heartbeat table");
      db.exec(WATCH_SQL);
    }
    if (!approvedStatesPresent(db)) {
      if (anchored >= INTEGRITY_SCHEMA) throw broken(dir, "its table of approved integrity states");
      db.exec(INTEGRITY_SQL);
      // its copies will all be made by this masker (approved-remask.ts)
      markCopiesMasked(db);
    }
    // schema 8's indexes hold no record of their own: made whenever missing (schema.ts refuses a store that says 8 without them)
    db.exec(PARTIAL_INDEX_SQL);
    if (version !== SCHEMA_VERSION || readMeta(db, "schema") === undefined) {
      writeMeta(db, "schema", String(SCHEMA_VERSION));
    }
  }).immediate();
}

/**
 * A deficiency, with its `opened` event, for each promise found deficient before deficiencies
 * were kept: its details from its latest change record, which must say the same outcome as its
 * current state (a current state that does not is tampering, for `verify` to report).
 */
function openDeficienciesFound(db: Database.Database, key: Buffer): void {
  const latest = new Map<string, { seq: number; run: number; time: string; body: ChangeBody }>();
  for (const r of db.prepare("SELECT seq, run, time, body FROM ledger WHERE kind = 'change' ORDER BY seq").iterate() as IterableIterator<{ seq: number; run: number; time: string; body: string }>) {
    let body: ChangeBody;
    try {
      body = JSON.parse(r.body) as ChangeBody;
    } catch {
      continue; // an edited record: verify names it
    }
    if (typeof body?.key === "string") latest.set(body.key, { seq: r.seq, run: r.run, time: r.time, body });
  }
  const ignore = () => undefined;
  const deficiencies = new Deficiencies(db, key, ignore);
  const outbox = new Outbox(db, key, ignore);
  const keyId = hostKeyId(key);
  for (const c of db.prepare("SELECT key, outcome FROM current ORDER BY key").all() as { key: string; outcome: string }[]) {
    const record = latest.get(c.key);
    if (!record || !isDeficiency(c.outcome as Outcome) || record.body.to !== c.outcome) continue;
    const b = record.body;
    const d = migratedDeficiency(keyId, { ...record, body: { ...b, differences: Array.isArray(b.differences) ? b.differences : [], changes: Array.isArray(b.changes) ? b.changes : [] } });
    deficiencies.put(d);
    outbox.addEvent(d.id, "opened", record.run, record.time);
  }
}
