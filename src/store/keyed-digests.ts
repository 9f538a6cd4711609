// Keyed digests (`hmac-sha256:`): a `nodiff` file's digest in its baseline and approved state, and
// the masked secret lines of an approved copy, kept as an HMAC under the host key so that a digest
// of a short secret cannot be guessed from the store. They cannot be keyed again when the host key
// rotates (the store holds no digest to key), so one made before a rotation stays under the key it
// was made with; content is compared under each key of the schedule: when an older key's HMAC of
// it is one the store keeps, that is its keyed digest (the content is as approved), otherwise the
// key in force makes it. A rotation therefore never shows unchanged content as drift, and nothing
// new is keyed with a retired key.
import { createHmac } from "node:crypto";
import type Database from "better-sqlite3";
import type { HostKeys } from "./host-keys.js";

export const KEYED = "hmac-sha256:";

const KEYED_IN_TEXT = /hmac-sha256:[0-9a-f]{64}/g;

/** Where keyed digests are kept, and the column that holds them (a JSON text may hold several). */
const HOLDERS: { table: string; column: string }[] = [
  { table: "baselines", column: "digest" },
  { table: "approved_states", column: "state" },
  { table: "approved_copies", column: "copy" },
];

export class KeyedDigests {
  /** keyed digests the store keeps, read once when first needed after a rotation */
  private kept?: Set<string>;

  constructor(
    private readonly db: Database.Database,
    private readonly keys: HostKeys,
  ) {}

  /** The keyed digest of `text` (already labelled: what it is a digest of). */
  of(text: string): string {
    const current = KEYED + createHmac("sha256", this.keys.current).update(text).digest("hex");
    const all = this.keys.all;
    if (all.length === 1) return current;
    this.kept ??= this.readKept();
    if (this.kept.has(current)) return current;
    for (const older of all.slice(1)) {
      const d = KEYED + createHmac("sha256", older).update(text).digest("hex");
      if (this.kept.has(d)) return d;
    }
    return current;
  }

  private readKept(): Set<string> {
    const out = new Set<string>();
    const present = new Set(this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
    for (const h of HOLDERS) {
      if (!present.has(h.table)) continue;
      for (const value of this.db.prepare(`SELECT ${h.column} FROM ${h.table} WHERE instr(${h.column}, '${KEYED}') > 0`).pluck().iterate() as IterableIterator<unknown>) {
        for (const m of String(value).matchAll(KEYED_IN_TEXT)) out.add(m[0]);
      }
    }
    return out;
  }
}
