// The store's schema, and the check that a database holds exactly it. SQLite runs code kept in
// the database itself: a trigger planted in state.db (`BEFORE INSERT ON ledger ... RAISE(IGNORE)`)
// would drop chosen records as a run writes them, a view could stand in for a table, and an
// index or a table redefined with other constraints (COLLATE NOCASE, ON CONFLICT IGNORE) could
// merge or drop rows. So before a run writes anything, and before `verify` or `history` reads a
// row, the schema must be exactly what some version of Covenant made: these five tables, each
// as written by a Covenant schema (1 to the current) and its migrations, and the one index, and
// from schema 5 the four notify tables and their three indexes (all of them, or, in a store not
// yet migrated, none), from schema 6 the watcher's heartbeat table, from schema 7 the approved
// integrity states, from schema 8 three partial indexes (the ledger's waivers and policy versions, the outbox's unrouted events); no
// trigger, view, other table or other index. Anything else is tampering.
import Database from "better-sqlite3";
import { readMeta } from "./meta.js";

export const SCHEMA_VERSION = 8;

export const TABLES = ["meta", "current", "ledger", "baselines", "bands"] as const;

/** Schema 5's tables for routing deficiencies (deficiencies.ts, outbox.ts): all there, or none in an older store. */
export const NOTIFY_TABLES = ["deficiencies", "outbox_events", "outbox_messages", "notify_groups"] as const;
export const NOTIFY_INDEXES = ["deficiencies_status", "outbox_events_routed", "outbox_messages_due"] as const;

/** The schema that added the notify tables: a store whose sealed anchors say it had them must still have them. */
export const NOTIFY_SCHEMA = 5;

/**
 * Schema 5: deficiencies (at most one open per promise key, kept by code: the index finds it),
 * the outbox's events and messages, and the notification log per group and recipient. Every row
 * is sealed with the host key; events and messages are kept (not deleted once routed or sent),
 * so that verify can hold each deficiency to its events and each sent message to its record.
 */
export const NOTIFY_SQL = `
CREATE TABLE IF NOT EXISTS deficiencies (
  id TEXT PRIMARY KEY, key TEXT NOT NULL, status TEXT NOT NULL, notice INTEGER NOT NULL,
  body TEXT NOT NULL, opened_run INTEGER NOT NULL, updated_at TEXT NOT NULL, seal BLOB NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deficiencies_status ON deficiencies(status, key);
CREATE TABLE IF NOT EXISTS outbox_events (
  seq INTEGER PRIMARY KEY, deficiency TEXT NOT NULL, event TEXT NOT NULL, run INTEGER NOT NULL,
  time TEXT NOT NULL, routed INTEGER NOT NULL, seal BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_events_routed ON outbox_events(routed, seq);
CREATE TABLE IF NOT EXISTS outbox_messages (
  id TEXT PRIMARY KEY, channel TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
  due_at INTEGER NOT NULL, body TEXT NOT NULL, last_error TEXT, created_at TEXT NOT NULL,
  sent_at TEXT, seal BLOB NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outbox_messages_due ON outbox_messages(status, due_at);
CREATE TABLE IF NOT EXISTS notify_groups (
  route TEXT NOT NULL, group_key TEXT NOT NULL, recipient TEXT NOT NULL, body TEXT NOT NULL,
  seal BLOB NOT NULL, PRIMARY KEY (route, group_key, recipient)) WITHOUT ROWID;
`;

/** The schema that added the watcher's heartbeat: a store whose sealed anchors say it had it must still have it. */
export const WATCH_SCHEMA = 6;

/**
 * Schema 6: the watcher's heartbeat (watcher.ts), one row (id 1) that `covenant watch` rewrites
 * every interval, sealed with the host key. Not a record of the chain: a beat every few seconds
 * would swamp the history, and a beat proves only that the watcher was alive, which the next
 * beat supersedes.
 */
export const WATCH_SQL = `
CREATE TABLE IF NOT EXISTS watcher (
  id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, start_ticks INTEGER NOT NULL,
  started TEXT NOT NULL, beat TEXT NOT NULL, policy TEXT NOT NULL, interval_ms INTEGER NOT NULL,
  state TEXT NOT NULL, seal BLOB NOT NULL) WITHOUT ROWID;
`;

/** The schema that added the approved integrity states: a store whose sealed anchors say it had them must still have them. */
export const INTEGRITY_SCHEMA = 7;

/**
 * Schema 7: the approved integrity state of every path under an integrity promise (issue 15):
 * its AIDE attributes as JSON (`state`, with why no copy is kept when none is), when and by which
 * history record it was approved; and, in a table of their own (read only to make a diff, so that
 * comparing a path costs one small row), the masked copies of small text files. Both sealed with
 * the host key.
 */
export const INTEGRITY_SQL = `
CREATE TABLE IF NOT EXISTS approved_states (
  path TEXT PRIMARY KEY, state TEXT NOT NULL, approved_at TEXT NOT NULL,
  record INTEGER NOT NULL, seal BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS approved_copies (
  path TEXT PRIMARY KEY, copy TEXT NOT NULL, record INTEGER NOT NULL, seal BLOB NOT NULL);
`;

/** The schema that added the partial indexes: a store that says it has it must have them. */
export const PARTIAL_INDEX_SCHEMA = 8;
export const PARTIAL_INDEXES = ["ledger_waivers", "ledger_policies", "outbox_unrouted"] as const;

/**
 * Schema 8: what a run looks up among rows that only grow, each in an index of its own that
 * holds only them: the fleet hub's waivers (every run reads them all), the policy versions (a run
 * of a changed policy looks its hash up), and the outbox's events not yet routed, by deficiency
 * (every run's summary asks which resolved deficiencies have none left). Without them each
 * look-up read the whole history (a year of runs every five minutes: 100k records), or every
 * unrouted event (a host with no notification configuration routes none: 390 ms a run at 50,000).
 * Partial, so that no other row costs them anything.
 */
export const PARTIAL_INDEX_SQL = `
CREATE INDEX IF NOT EXISTS ledger_waivers ON ledger(kind) WHERE kind = 'waiver';
CREATE INDEX IF NOT EXISTS ledger_policies ON ledger(kind) WHERE kind = 'policy';
CREATE INDEX IF NOT EXISTS outbox_unrouted ON outbox_events(deficiency) WHERE routed = 0;
`;

/** The current schema, as a new store is made. */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS current (
  key TEXT PRIMARY KEY, control TEXT NOT NULL, outcome TEXT NOT NULL, state TEXT NOT NULL,
  since TEXT NOT NULL, run INTEGER NOT NULL, reason TEXT NOT NULL, seal BLOB) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger (
  seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, run INTEGER NOT NULL, time TEXT NOT NULL,
  body TEXT NOT NULL, mac BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS ledger_run ON ledger(run);
CREATE TABLE IF NOT EXISTS baselines (
  path TEXT PRIMARY KEY, algorithm TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL,
  mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL, mtime_ms REAL NOT NULL,
  approved_at TEXT NOT NULL, seal BLOB) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bands (
  metric TEXT NOT NULL, hour INTEGER NOT NULL, count INTEGER NOT NULL, mean REAL NOT NULL,
  m2 REAL NOT NULL, seal BLOB, PRIMARY KEY (metric, hour)) WITHOUT ROWID;
${NOTIFY_SQL}${WATCH_SQL}${INTEGRITY_SQL}${PARTIAL_INDEX_SQL}`;

/** Schema 1, the oldest a store can have been written with; schemas 2 to 8 are it migrated. */
const SCHEMA_1_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS current (
  key TEXT PRIMARY KEY, control TEXT NOT NULL, outcome TEXT NOT NULL, state TEXT NOT NULL,
  since TEXT NOT NULL, last_run INTEGER NOT NULL, reason TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger (
  seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, run INTEGER NOT NULL, time TEXT NOT NULL,
  body TEXT NOT NULL, mac BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS ledger_run ON ledger(run);
CREATE TABLE IF NOT EXISTS baselines (
  path TEXT PRIMARY KEY, algorithm TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL,
  mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL, mtime_ms REAL NOT NULL,
  approved_at TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bands (
  metric TEXT NOT NULL, hour INTEGER NOT NULL, count INTEGER NOT NULL, mean REAL NOT NULL,
  m2 REAL NOT NULL, PRIMARY KEY (metric, hour)) WITHOUT ROWID;
`;

/** Schema 2: schema 1 called the run that recorded a state `last_run`. */
export const RENAME_LAST_RUN = "ALTER TABLE current RENAME COLUMN last_run TO run";

/** Schemas 3 and 4 sealed these tables' rows, in this order. */
export const SEALED_TABLES = ["baselines", "current", "bands"] as const;

export function addSealColumn(table: (typeof SEALED_TABLES)[number]): string {
  return `ALTER TABLE ${table} ADD COLUMN seal BLOB`;
}

/** The migrations from schema 1, in order: the steps migrate.ts takes, as each store needs them. */
const MIGRATIONS = [RENAME_LAST_RUN, ...SEALED_TABLES.map(addSealColumn), NOTIFY_SQL, WATCH_SQL, INTEGRITY_SQL, PARTIAL_INDEX_SQL];

interface MasterRow {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

/** The texts of a store made now, and of every store some Covenant made: each made once, when first needed. */
const accepted: { current?: Map<string, Set<string>>; ever?: Map<string, Set<string>> } = {};

/**
 * Every text SQLite keeps for each table and index of a store Covenant made: found by making
 * them here, in memory, with the same SQLite, rather than written out by hand (SQLite rewrites a
 * table's text on each ALTER, in its own way). `current`: a store made by this version only,
 * which is what a store migrated at its last open holds (a quarter of the work); `ever`: any
 * store of any version, migrated or not.
 */
function acceptedSchemas(which: keyof typeof accepted): Map<string, Set<string>> {
  const known = accepted[which];
  if (known) return known;
  const out = new Map<string, Set<string>>();
  const add = (key: string, text: string) => (out.get(key) ?? out.set(key, new Set()).get(key)!).add(text);
  const collect = (db: Database.Database) => {
    for (const r of db.prepare("SELECT type, name, sql FROM sqlite_master").all() as MasterRow[]) add(`${r.type} ${r.name}`, r.sql ?? "");
  };
  const made = new Database(":memory:");
  try {
    if (which === "current") {
      made.exec(SCHEMA_SQL);
      collect(made);
    } else {
      made.exec(SCHEMA_1_SQL);
      collect(made);
      // each store migrates its tables in this order, stopping wherever its version stopped
      for (const step of MIGRATIONS) {
        made.exec(step);
        collect(made);
      }
      for (const [key, texts] of acceptedSchemas("current")) for (const text of texts) add(key, text);
    }
  } finally {
    made.close();
  }
  return (accepted[which] = out);
}

/** Whether every row is one a store made now would hold: then no older version's texts need making. */
function allCurrent(rows: readonly MasterRow[]): boolean {
  const current = acceptedSchemas("current");
  return rows.every((r) => current.get(`${r.type} ${r.name}`)?.has(r.sql ?? "") === true);
}

/** What the database's schema holds beyond, short of or other than a Covenant store's; undefined when it is exact. */
export function schemaProblem(db: Database.Database): string | undefined {
  const rows = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").all() as MasterRow[];
  const allowed = allCurrent(rows) ? acceptedSchemas("current") : acceptedSchemas("ever");
  for (const r of rows) {
    const texts = allowed.get(`${r.type} ${r.name}`);
    if (!texts) {
      const what = r.type === "index" ? "an index" : r.type === "table" || r.type === "view" || r.type === "trigger" ? `a ${r.type}` : "an entry";
      return `it holds ${what} \`${r.name}\`${r.type === "trigger" || r.type === "index" ? ` on \`${r.tbl_name}\`` : ""} that Covenant never makes${r.type === "trigger" ? " (SQL that would run as a run writes)" : ""}`;
    }
    if (!texts.has(r.sql ?? "")) return `its ${r.type} \`${r.name}\` is not defined as Covenant defines it`;
  }
  const present = new Set(rows.map((r) => `${r.type} ${r.name}`));
  const notify = [...NOTIFY_TABLES.map((t) => `table ${t}`), ...NOTIFY_INDEXES.map((i) => `index ${i}`)];
  // an older store has none of them; once one is there (or the store says schema 5), all must be
  const claimed = present.has("table meta") ? claimedSchema(db) : 0;
  const notifyDue = notify.some((k) => present.has(k)) || claimed >= NOTIFY_SCHEMA;
  // the heartbeat's table, once the store says schema 6 (an older store gains it at its next run)
  const watchDue = claimed >= WATCH_SCHEMA;
  // and the approved integrity states', once it says schema 7
  const integrityDue = claimed >= INTEGRITY_SCHEMA;
  // and the partial indexes, once it says schema 8
  const partialIndexesDue = claimed >= PARTIAL_INDEX_SCHEMA;
  const missing = [...TABLES.map((t) => `table ${t}`), "index ledger_run", ...(notifyDue ? notify : []), ...(watchDue ? ["table watcher"] : []), ...(integrityDue ? ["table approved_states", "table approved_copies"] : []), ...(partialIndexesDue ? PARTIAL_INDEXES.map((i) => `index ${i}`) : [])].filter((k) => !present.has(k));
  if (missing.length > 0) return `its ${missing.map((k) => `${k.split(" ")[0]} \`${k.split(" ")[1]}\``).join(", ")} ${missing.length > 1 ? "are" : "is"} missing`;
  return undefined;
}

/** The schema the meta table claims (0 when it says none or nothing readable): read only once the schema is known to be Covenant's. */
function claimedSchema(db: Database.Database): number {
  const text = readMeta(db, "schema");
  return typeof text === "string" && /^\d{1,6}$/.test(text) ? Number(text) : 0;
}

/** Whether the database holds nothing at all: an empty file, or one whose every table was dropped. */
export function schemaIsEmpty(db: Database.Database): boolean {
  return db.prepare("SELECT count(*) FROM sqlite_master").pluck().get() === 0;
}

/**
 * Settings every connection to a store gets before its first read: SQL kept in the schema (views,
 * triggers, defaults) may not call functions with side effects, and the defensive mode (on in
 * better-sqlite3 unless unsafe mode is asked for) keeps the schema from being written directly.
 */
export function harden(db: Database.Database): void {
  db.unsafeMode(false);
  db.pragma("trusted_schema = OFF");
}
