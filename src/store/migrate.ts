// Bringing a store written by an older Covenant up to this schema, in one transaction: the
// renamed column of schema 1, and the seals schema 3 put on baselines and schema 4 on current
// states and bands. Rows written before their table was sealed are trusted once and sealed,
// unless a sealed anchor says the table had seals already: then they were set back to escape
// them, and the run stops.
import type Database from "better-sqlite3";
import { join } from "node:path";
import { HistoryBrokenError } from "./errors.js";
import { addSealColumn, RENAME_LAST_RUN, SCHEMA_VERSION, SEALED_TABLES } from "./schema.js";
import { sealBand, sealBaseline, sealCurrent, type BandRow, type BaselineRow, type CurrentRow } from "./seals.js";
import { hasColumn } from "./verify.js";

/** `version`: the schema the store says it has; `anchored`: the highest its sealed anchors say it had. */
export function migrate(db: Database.Database, dir: string, key: Buffer, version: number, anchored: number): void {
  db.transaction(() => {
    // schema 1 called the run that recorded a state `last_run`
    if (hasColumn(db, "current", "last_run")) db.exec(RENAME_LAST_RUN);
    const unsealed = SEALED_TABLES.filter((t) => !hasColumn(db, t, "seal"));
    if (unsealed.length > 0 && anchored >= SCHEMA_VERSION) {
      throw new HistoryBrokenError(`the store ${join(dir, "state.db")} has lost the seals of its ${unsealed.join(" and ")} table${unsealed.length > 1 ? "s" : ""}, which its sealed head anchor says it had: they were set back to escape their seals. \`covenant verify\` reports it; to start a new history, move the state directory aside and keep it as evidence`, "altered");
    }
    // in this order, as schema.ts expects the tables' texts to have been rewritten
    for (const table of unsealed) db.exec(addSealColumn(table));
    if (unsealed.includes("baselines")) for (const r of db.prepare("SELECT * FROM baselines").all() as BaselineRow[]) db.prepare("UPDATE baselines SET seal = ? WHERE path = ?").run(sealBaseline(key, r), r.path);
    if (unsealed.includes("current")) for (const r of db.prepare("SELECT * FROM current").all() as CurrentRow[]) db.prepare("UPDATE current SET seal = ? WHERE key = ?").run(sealCurrent(key, r), r.key);
    if (unsealed.includes("bands")) for (const r of db.prepare("SELECT * FROM bands").all() as BandRow[]) db.prepare("UPDATE bands SET seal = ? WHERE metric = ? AND hour = ?").run(sealBand(key, r), r.metric, r.hour);
    if (version !== SCHEMA_VERSION || db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get() === undefined) {
      db.prepare("INSERT OR REPLACE INTO meta VALUES ('schema', ?)").run(String(SCHEMA_VERSION));
    }
  }).immediate();
}
