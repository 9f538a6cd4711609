// Stores for the store's tests: real SQLite files in temporary directories, filled through the
// real StateStore with results shaped like the engine's.
import Database from "better-sqlite3";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PromiseResult } from "../../src/evaluator/engine.ts";
import type { Outcome } from "../../src/evaluator/outcomes.ts";
import { GENESIS, macOf, sealHead, type LedgerRow } from "../../src/store/ledger.ts";
import { SCHEMA_VERSION, StateStore, type RunBody } from "../../src/store/store.ts";

const made: string[] = [];

/** A new temporary directory, removed by removeTempDirs (call it in afterAll). */
export function tempDir(prefix = "store"): string {
  const dir = mkdtempSync(join(tmpdir(), `covenant-${prefix}-`));
  made.push(dir);
  return dir;
}

/**
 * A new directory for a key kept elsewhere (COVENANT_HOST_KEY_FILE), removed by removeTempDirs. As
 * root, no directory on the way to a key may be writable by others, sticky or not (/tmp is):
 * it is made below /run, root's own, as a secrets mount would be.
 */
export function secretsDir(): string {
  const parent = process.getuid?.() === 0 ? "/run" : tmpdir();
  const dir = mkdtempSync(join(parent, "covenant-secrets-"));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function result(key: string, outcome: Outcome, differences: string[] = []): PromiseResult {
  return {
    key,
    control: key.split("/")[0]!,
    type: "file",
    promiser: "/srv/ledger/gl.dat",
    outcome,
    reason: differences[0] ?? "as promised",
    differences: differences.map((d) => ({ subject: "/srv/ledger/gl.dat", attribute: d.split(" ")[0]!, expected: "", observed: "", reason: d })),
    changes: [],
    notes: [],
    stakeholders: [],
    file: "p.promise",
    line: 1,
    durationMs: 1,
  };
}

export function runBody(run: number, n: number): RunBody {
  return { run, host: "h", started: `2026-11-23T10:${String(run).padStart(2, "0")}:00.000Z`, finished: `2026-11-23T10:${String(run).padStart(2, "0")}:01.000Z`, policy: "p", dryRun: false, promises: n, counts: { kept: n }, outcomes: "d", changed: 0 };
}

/** A store with `runs` runs over three promises, one of which drifts in run 2 and is repaired in run 3. */
export function populated(runs = 4, dir = tempDir()): { dir: string; store: StateStore } {
  const store = StateStore.open(dir);
  for (let i = 1; i <= runs; i++) {
    const run = store.beginRun();
    const t = `2026-11-23T10:${String(run).padStart(2, "0")}:00.500Z`;
    store.recordResult(run, t, result("C-1/file:a", "kept"));
    store.recordResult(run, t, result("C-1/file:b", run === 2 ? "drift" : "kept", run === 2 ? ["mode is 0644, promised 0640"] : []));
    store.recordResult(run, t, result("C-2/load:", "kept"));
    store.finishRun(runBody(run, 3));
  }
  return { dir, store };
}

/** The database as an editor with write access to it (but not the key) sees it. */
export function raw(dir: string): Database.Database {
  return new Database(join(dir, "state.db"));
}

export const keyOf = (dir: string) => Buffer.from(readFileSync(join(dir, "host.key"), "utf8").trim(), "hex");

/** Rewrites records as someone holding the key would (each MAC consistent, both anchors moved): only the semantic checks can find it. */
export function rewrite(dir: string, edit: (row: LedgerRow) => string | undefined): void {
  const key = keyOf(dir);
  const db = raw(dir);
  let prev = GENESIS;
  for (const r of db.prepare("SELECT * FROM ledger ORDER BY seq").all() as LedgerRow[]) {
    const body = edit(r) ?? r.body;
    const mac = macOf(key, prev, { kind: r.kind, run: r.run, time: r.time, body });
    db.prepare("UPDATE ledger SET body = ?, mac = ? WHERE seq = ?").run(body, mac, r.seq);
    prev = mac;
  }
  const last = db.prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1").get() as { seq: number; mac: Buffer };
  const dbHead = JSON.parse(db.prepare("SELECT value FROM meta WHERE key = 'head'").pluck().get() as string) as { bands?: string };
  db.prepare("UPDATE meta SET value = ? WHERE key = 'head'").run(JSON.stringify(sealHead(key, last.seq, last.mac, { schema: SCHEMA_VERSION, ...(dbHead.bands ? { bands: dbHead.bands } : {}) })));
  // the head anchor names the last run begun (a record outside a run, such as a rotation, is run 0's)
  const lastRun = Number(db.prepare("SELECT value FROM meta WHERE key = 'last_run'").pluck().get());
  db.close();
  writeFileSync(join(dir, "ledger.head"), JSON.stringify(sealHead(key, last.seq, last.mac, { schema: SCHEMA_VERSION, run: lastRun })) + "\n");
}

export function verified(dir: string) {
  const reader = StateStore.openReadOnly(dir);
  try {
    return reader.verify().tampering;
  } finally {
    reader.close();
  }
}

