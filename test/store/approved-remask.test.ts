// Approved copies that an older Covenant kept with a secret in clear (a CRLF line's value, which
// its masker missed) are masked in the store by the next run's summary: the secret is gone from
// state.db and its log, the copy is sealed again in the name of its approval (`verify` holds), a
// diff against it is what it was, and the history says what was masked. A copy whose seal does not
// match is never sealed again, and a dry run changes nothing.
import Database from "better-sqlite3";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { remaskedCopy } from "../../src/integrity/approved-copy.ts";
import { compactMaskedStore, remaskApprovedCopies, remaskNote } from "../../src/store/approved-remask.ts";
import { sealApprovedCopy, type ApprovedCopyRow } from "../../src/store/seals.ts";
import { StateStore } from "../../src/store/store.ts";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

// long enough that the masked copy, digest and all, is shorter than the clear one: the old text would outlast it in the page
const SECRET = `hunter2-${"a9f3".repeat(40)}`;
const CONTENT = `user = app\r\ndb_password = ${SECRET}\r\nport = 5432\r\n`;

/** `fn` given the store's database, closed after. */
function withDb<T>(state: string, fn: (db: Database.Database) => T, options: Database.Options = {}): T {
  const db = new Database(join(state, "state.db"), options);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/**
 * Puts back the approved copy of `path` as the masker before 79228cc made it (`content` whole, no
 * digest), sealed with the host key, and the store unmarked: as an older Covenant left it.
 */
function forgeOlderCopy(state: string, path: string, content: string): Buffer {
  const key = Buffer.from(readFileSync(join(state, "host.key"), "utf8").trim(), "hex");
  withDb(state, (db) => {
    const row = db.prepare("SELECT * FROM approved_copies WHERE path = ?").get(path) as ApprovedCopyRow;
    const older = { path, copy: JSON.stringify({ text: content, secrets: {} }), record: row.record };
    db.prepare("UPDATE approved_copies SET copy = ?, seal = ? WHERE path = ?").run(older.copy, sealApprovedCopy(key, older), path);
    db.prepare("DELETE FROM meta WHERE key = 'copies_masked'").run();
    db.pragma("wal_checkpoint(TRUNCATE)");
  });
  return key;
}

/** A store whose approved copy of app.conf holds its password line in clear, as an older Covenant left it (sealed, no marker). */
function olderStore() {
  const dir = mkdtempSync(join(tmpdir(), "covenant-remask-"));
  dirs.push(dir);
  const state = join(dir, "state");
  mkdirSync(state, { mode: 0o700 });
  const conf = join(dir, "app.conf");
  writeFileSync(conf, CONTENT, { mode: 0o644 });
  // neighbours on the copy's page: a row rewritten among others leaves its old text in the page's free space, unless deleted securely
  const others = ["a.conf", "b.conf", "c.conf", "d.conf"].map((name) => join(dir, name));
  for (const f of others) writeFileSync(f, `setting = ${"v".repeat(200)}\n`, { mode: 0o644 });
  const files = [conf, ...others].map((f) => `  file "${f}" { integrity = sha256 }\n`).join("");
  const policy = join(dir, "p.promise");
  writeFileSync(policy, `control "SOX-1" {\n  title = "app"\n${files}}\n`, { mode: 0o600 });
  expect(covenant(["run", "--state", state, policy]).code).toBe(0);
  expect(storedCopy(state, conf).text).toBe("user = app\r\ndb_password = ****\r\nport = 5432\r\n");
  const key = forgeOlderCopy(state, conf, CONTENT);
  expect(readFileSync(join(state, "state.db")).includes(SECRET)).toBe(true);
  return { dir, state, conf, policy, key };
}

function storedCopy(state: string, path: string): { text: string; secrets: Record<string, string> } {
  return withDb(state, (db) => JSON.parse((db.prepare("SELECT copy FROM approved_copies WHERE path = ?").pluck().get(path) as string) ?? "null"), { readonly: true });
}

function runNotes(state: string): string[][] {
  return withDb(state, (db) => (db.prepare("SELECT body FROM ledger WHERE kind = 'run' ORDER BY seq").pluck().all() as string[]).map((b) => (JSON.parse(b) as { notes?: string[] }).notes ?? []), { readonly: true });
}

/** Every byte of the store's files: the database and, if any, its log. */
function storeBytes(state: string): Buffer {
  return Buffer.concat(["state.db", "state.db-wal"].map((f) => join(state, f)).filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

describe("approved copies an older Covenant kept with secrets in clear", () => {
  it("are masked by the next run: gone from the store's files, sealed again, the history says so, diffs unchanged", () => {
    const s = olderStore();
    const r = covenant(["run", "--state", s.state, s.policy]);
    expect(r.code).toBe(0);
    const copy = storedCopy(s.state, s.conf);
    expect(copy.text).toBe("user = app\r\ndb_password = ****\r\nport = 5432\r\n");
    expect(Object.keys(copy.secrets)).toEqual(["1"]);
    expect(storeBytes(s.state).includes(SECRET)).toBe(false);
    const notes = runNotes(s.state);
    expect(notes.at(-1)!.join("\n")).toMatch(/masked 1 line holding secrets in 1 approved copy \(.*app\.conf\)/);
    // and `covenant history` shows it under the run's summary
    expect(covenant(["history", "--state", s.state]).out).toMatch(/run \d+: .*\n\s+note: masked 1 line holding secrets in 1 approved copy/);
    expect(covenant(["verify", "--state", s.state]).code).toBe(0);
    // the next run masks nothing more and says nothing of it
    expect(covenant(["run", "--state", s.state, s.policy]).code).toBe(0);
    expect(runNotes(s.state).at(-1)!.join("\n")).not.toMatch(/holding secrets/);
    // a change elsewhere in the file: the diff's old side shows the masked line, as before
    writeFileSync(s.conf, CONTENT.replace("port = 5432", "port = 6543"));
    const d = covenant(["run", "--state", s.state, s.policy]);
    expect(d.out).toContain("-port = 5432");
    expect(d.out).toContain("+port = 6543");
    expect(d.out).not.toContain(SECRET);
  });

  it("a copy's file name with a line break and an escape sequence: the note shows it escaped, on its own line, in history", () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-remask-"));
    dirs.push(dir);
    const state = join(dir, "state");
    mkdirSync(state, { mode: 0o700 });
    const tree = join(dir, "tree");
    mkdirSync(tree, { mode: 0o750 });
    const forged = join(tree, "x\nKEPT     ITGC-FAKE-01  Everything is fine \u001b[2J");
    writeFileSync(forged, CONTENT, { mode: 0o640 });
    const policy = join(dir, "p.promise");
    writeFileSync(policy, `control "SOX-2" {\n  title = "tree"\n  directory "${tree}" { integrity = sha256 recurse = true }\n}\n`, { mode: 0o600 });
    expect(covenant(["run", "--state", state, policy]).code).toBe(0);
    forgeOlderCopy(state, forged, CONTENT);
    expect(covenant(["run", "--state", state, policy]).code).toBe(0);
    const history = covenant(["history", "--state", state]);
    expect(history.code, history.err).toBe(0);
    expect(history.out).toContain("note: masked 1 line holding secrets in 1 approved copy (");
    expect(history.out).toContain("x\\nKEPT     ITGC-FAKE-01  Everything is fine \\x1b[2J");
    expect(history.out.split("\n").filter((l) => /^\s*KEPT/.test(l))).toEqual([]);
    expect(history.out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(history.out).not.toContain(SECRET);
  });

  it("a copy whose seal does not match is not sealed again: verify goes on reporting it", () => {
    const s = olderStore();
    withDb(s.state, (db) => db.prepare("UPDATE approved_copies SET seal = zeroblob(32) WHERE path = ?").run(s.conf));
    covenant(["run", "--state", s.state, s.policy]);
    expect(storedCopy(s.state, s.conf).text).toBe(CONTENT);
    const v = covenant(["verify", "--state", s.state]);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/the approved copy of .*app\.conf was changed outside Covenant/);
  });

  it("a dry run masks nothing; the run after it does", () => {
    const s = olderStore();
    expect(covenant(["run", "--dry-run", "--state", s.state, s.policy]).code).toBe(0);
    expect(storedCopy(s.state, s.conf).text).toBe(CONTENT);
    expect(covenant(["run", "--state", s.state, s.policy]).code).toBe(0);
    expect(storedCopy(s.state, s.conf).text).not.toContain(SECRET);
  });
});

describe("the former copies of an older Covenant", () => {
  it("replaced (a file approved again) or removed, on pages the rewrite does not touch: gone from the file once the store says its copies are masked", () => {
    const s = olderStore();
    const replaced = join(s.dir, "b.conf");
    const removed = join(s.dir, "c.conf");
    const FORMER = `former-${"b7e1".repeat(30)}`;
    const GONE = `removed-${"c4d2".repeat(30)}`;
    withDb(s.state, (db) => {
    const seal = (path: string, text: string) => {
      const record = (db.prepare("SELECT record FROM approved_copies WHERE path = ?").pluck().get(path) as number) ?? 1;
      const row = { path, copy: JSON.stringify({ text, secrets: {} }), record };
      db.prepare("INSERT OR REPLACE INTO approved_copies VALUES (@path, @copy, @record, @seal)").run({ ...row, seal: sealApprovedCopy(s.key, row) });
    };
    // as that Covenant wrote them, without secure_delete: b.conf approved with a CRLF secret, then
    // again without it (its copy now holds none); c.conf's copy, large enough for overflow pages, removed
    seal(removed, `${"w".repeat(9000)}\ntoken = ${GONE}\r\n`);
    seal(replaced, `${"q".repeat(9000)}\ndb_password = ${FORMER}\r\n`);
    db.prepare("DELETE FROM approved_copies WHERE path = ?").run(removed);
    seal(replaced, `setting = ${"v".repeat(200)}\n`);
    db.pragma("wal_checkpoint(TRUNCATE)");
    });
    expect([storeBytes(s.state).includes(FORMER), storeBytes(s.state).includes(GONE)]).toEqual([true, true]);
    expect(covenant(["run", "--state", s.state, s.policy]).code).toBe(0);
    expect(storeBytes(s.state).includes(SECRET)).toBe(false);
    expect([storeBytes(s.state).includes(FORMER), storeBytes(s.state).includes(GONE)]).toEqual([false, false]);
    expect(covenant(["verify", "--state", s.state]).code).toBe(0);
  });

  it("none in a new store: it says so as it is made, and its first run reads no copy", () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-remask-"));
    dirs.push(dir);
    const state = join(dir, "state");
    mkdirSync(state, { mode: 0o700 });
    StateStore.open(state).close();
    expect(withDb(state, (db) => db.prepare("SELECT value FROM meta WHERE key = 'copies_masked'").pluck().get(), { readonly: true })).toBe("2");
  });
});

describe("the store's rewrite after the copies are masked", () => {
  const keyLine = (line: string) => `k(${line.length})`;
  const metaOf = (db: Database.Database, key: string) => db.prepare("SELECT value FROM meta WHERE key = ?").pluck().get(key);
  const hoursAgo = (h: number) => new Date(Date.now() - h * 3600 * 1000).toISOString();

  it("done: the store says so, and no later summary reads a copy", () => {
    const s = olderStore();
    expect(covenant(["run", "--state", s.state, s.policy]).code).toBe(0);
    withDb(s.state, (db) => {
      expect(metaOf(db, "copies_masked")).toBe("2");
      expect(remaskApprovedCopies(db, s.key, keyLine, new Date())).toBeUndefined();
    });
  });

  it("failed: when and why kept, the copies never read again, tried again a day later with a note, not at every run", () => {
    const s = olderStore();
    withDb(s.state, (db) => {
      // the copies masked in a summary whose rewrite then failed (a full disk)
      db.transaction(() => expect(remaskApprovedCopies(db, s.key, keyLine, new Date())).toMatchObject({ copies: 1, compact: true }))();
      const older = { path: s.conf, copy: JSON.stringify({ text: CONTENT, secrets: {} }), record: (db.prepare("SELECT record FROM approved_copies WHERE path = ?").pluck().get(s.conf) as number) };
      db.prepare("UPDATE approved_copies SET copy = ?, seal = ? WHERE path = ?").run(older.copy, sealApprovedCopy(s.key, older), s.conf);
      db.prepare("BEGIN").run(); // VACUUM fails inside a transaction
      compactMaskedStore(db, new Date(Date.parse(hoursAgo(1))), (err) => `disk full (${(err as Error).message})`);
      db.prepare("COMMIT").run();
      expect(metaOf(db, "copies_masked")).toBe("2 masked");
      expect(JSON.parse(String(metaOf(db, "copies_compact_failed")))).toMatchObject({ error: expect.stringMatching(/^disk full/) });
      // an hour later: nothing done, no copy read (the clear one put back above stays as it is)
      expect(remaskApprovedCopies(db, s.key, keyLine, new Date())).toEqual({ copies: 0, lines: 0, sample: [], compact: false });
      expect(db.prepare("SELECT copy FROM approved_copies WHERE path = ?").pluck().get(s.conf)).toContain(SECRET);
      // a day later: tried again, and the summary says why
      db.prepare("UPDATE meta SET value = ? WHERE key = 'copies_compact_failed'").run(JSON.stringify({ at: hoursAgo(25), error: "disk full" }));
      const again = remaskApprovedCopies(db, s.key, keyLine, new Date())!;
      expect(again).toMatchObject({ copies: 0, compact: true, lastFailure: { error: "disk full" } });
      expect(remaskNote(again)).toMatch(/^state\.db could not be rewritten on .* \(disk full\) .* tried again after this summary/);
      compactMaskedStore(db, new Date(), () => undefined);
      expect([metaOf(db, "copies_masked"), metaOf(db, "copies_compact_failed")]).toEqual(["2", undefined]);
    });
  });

  it("a failure that is not the store's operation (a bug) is not kept as one: it is thrown", () => {
    const s = olderStore();
    withDb(s.state, (db) => {
      db.prepare("BEGIN").run();
      expect(() => compactMaskedStore(db, new Date(), () => undefined)).toThrow(/VACUUM/);
      db.prepare("ROLLBACK").run();
      expect(metaOf(db, "copies_compact_failed")).toBeUndefined();
    });
  });
});

describe("remaskedCopy", () => {
  const keyLine = (line: string) => `k(${line.length})`;

  it("masks the clear lines the patterns catch now, keeps the masked ones and their digests, and counts what it masked", () => {
    const copy = { text: "a = 1\r\npassword = x\r\ntoken = ****\n", secrets: { "2": "k(9)" } };
    expect(remaskedCopy(copy, keyLine)).toEqual({ copy: { text: "a = 1\r\npassword = ****\r\ntoken = ****\n", secrets: { "1": "k(13)", "2": "k(9)" } }, lines: 1 });
  });

  it("is undefined for a copy with nothing left to mask", () => {
    expect(remaskedCopy({ text: "a = 1\r\nb = 2\n", secrets: {} }, keyLine)).toBeUndefined();
    expect(remaskedCopy({ text: "password = ****\n", secrets: { "0": "k(15)" } }, keyLine)).toBeUndefined();
  });
});
