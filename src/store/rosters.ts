// Rosters: which promises a run evaluated, so that any past run can be explained promise by
// promise. A `roster` record holds the sorted keys of a run's results and their hash; each run's
// summary names the roster record of its keys. Content-addressed like policy versions: a full run
// of an unchanged policy evaluates the same keys as the last one and writes no roster, and each
// set the watcher evaluates (the promises one event touched) is stored once. A pointer in `meta`
// (`roster:<hash>`, the record's number) finds one without reading the history; it is only a
// pointer: the record it names must be a roster of that hash, or a new one is written.
import type Database from "better-sqlite3";
import { createHash } from "node:crypto";
import type { RosterBody } from "./records.js";
import { MetaStatements } from "./meta.js";

/** The hash of a set of promise keys: sha256 over the keys sorted (by code unit) and joined by newlines. */
export function rosterHash(sortedKeys: readonly string[]): string {
  return createHash("sha256").update(sortedKeys.join("\n")).digest("hex");
}

/** The keys sorted as a roster holds them (and as a summary's `outcomes` digest sorts its lines). */
export function sortKeys(keys: Iterable<string>): string[] {
  return [...new Set(keys)].sort();
}

export function rosterBody(keys: Iterable<string>): RosterBody {
  const sorted = sortKeys(keys);
  return { hash: rosterHash(sorted), keys: sorted };
}

export class Rosters {
  private readonly meta: MetaStatements;
  private readonly recordAt: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.meta = new MetaStatements(db);
    this.recordAt = db.prepare("SELECT kind, body FROM ledger WHERE seq = ?");
  }

  /** The record number of the roster of `hash` when the store has it (found by its pointer, and checked), else undefined. */
  recordOf(hash: string): number | undefined {
    const value = this.meta.read(`roster:${hash}`) as string | undefined;
    if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
    const seq = Number(value);
    const row = this.recordAt.get(seq) as { kind: string; body: string } | undefined;
    if (row?.kind !== "roster") return undefined;
    return parseRoster(row.body)?.hash === hash ? seq : undefined;
  }

  /** Points the roster's hash at its record; inside the transaction that wrote it. */
  remember(hash: string, seq: number): void {
    this.meta.write(`roster:${hash}`, String(seq));
  }

  /** The roster held by record `seq`, or undefined when that record is not a well-formed roster. */
  read(seq: number): RosterBody | undefined {
    const row = this.recordAt.get(seq) as { kind: string; body: string } | undefined;
    return row?.kind === "roster" ? parseRoster(row.body) : undefined;
  }
}

/** A roster record's body when it has the shape one has, and its hash is the hash of its keys. */
export function parseRoster(text: string): RosterBody | undefined {
  let b: Partial<RosterBody>;
  try {
    b = JSON.parse(text) as Partial<RosterBody>;
  } catch {
    return undefined;
  }
  if (typeof b !== "object" || b === null || typeof b.hash !== "string" || !Array.isArray(b.keys) || !b.keys.every((k) => typeof k === "string")) return undefined;
  return rosterHash(b.keys) === b.hash ? { hash: b.hash, keys: b.keys } : undefined;
}
