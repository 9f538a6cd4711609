// The store's `meta` table, one text value a key: the schema's version, the database's head anchor,
// the run counter, the id of the host key in force and its rotations, the prune's checkpoint, the
// fleet hub's position, roster pointers, and whether approved copies are masked. Every read and
// write of it is here, inside whatever transaction the caller is in; a caller that reads or writes
// it on every record holds its statements prepared once (MetaStatements).
import type Database from "better-sqlite3";

const SELECT = "SELECT value FROM meta WHERE key = ?";
const UPSERT = "INSERT OR REPLACE INTO meta VALUES (?, ?)";

/** The value kept under `key`, as stored (undefined when there is none). */
export function readMeta(db: Database.Database, key: string): unknown {
  return db.prepare(SELECT).pluck().get(key);
}

/** Keeps `value` under `key`, replacing what was there. */
export function writeMeta(db: Database.Database, key: string, value: string): void {
  db.prepare(UPSERT).run(key, value);
}

/** Removes what is kept under each of `keys` (one statement, prepared once). */
export function deleteMeta(db: Database.Database, keys: Iterable<string>): void {
  const drop = db.prepare("DELETE FROM meta WHERE key = ?");
  for (const key of keys) drop.run(key);
}

/** Every key that matches the LIKE `pattern`, with its value. */
export function metaLike(db: Database.Database, pattern: string): { key: string; value: string }[] {
  return db.prepare("SELECT key, value FROM meta WHERE key LIKE ?").all(pattern) as { key: string; value: string }[];
}

/** How many keys the table holds besides `keys`. */
export function countMetaExcept(db: Database.Database, keys: readonly string[]): number {
  return db.prepare(`SELECT count(*) FROM meta WHERE key NOT IN (${keys.map(() => "?").join(", ")})`).pluck().get(...keys) as number;
}

/** The table's read and write prepared once, for a caller that uses them on every record (store-core.ts) or every run (rosters.ts). */
export class MetaStatements {
  private readonly select: Database.Statement;
  private readonly upsert: Database.Statement;

  constructor(db: Database.Database) {
    this.select = db.prepare(SELECT).pluck();
    this.upsert = db.prepare(UPSERT);
  }

  read(key: string): unknown {
    return this.select.get(key);
  }

  write(key: string, value: string): void {
    this.upsert.run(key, value);
  }
}
