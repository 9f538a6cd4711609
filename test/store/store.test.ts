// The state store: only changes of state are recorded, every run leaves a summary, and any
// alteration, insertion or deletion of a record is found at that record.
import Database from "better-sqlite3";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SCHEMA_VERSION, StateStore, StoreError, type ChangeBody } from "../../src/store/store.ts";
import { populated, raw, removeTempDirs, result, runBody, tempDir } from "./helpers.ts";

afterAll(() => removeTempDirs());

describe("state store", () => {
  it("records the first observation and then only changes of state, plus one summary per run", () => {
    const { store } = populated(4);
    const h = store.history();
    const changes = h.filter((e) => e.kind === "change").map((e) => e.body as ChangeBody);
    expect(changes.map((c) => `${c.key}: ${c.from ?? "new"} → ${c.to}`)).toEqual([
      "C-1/file:a: new → kept",
      "C-1/file:b: new → kept",
      "C-2/load:: new → kept",
      "C-1/file:b: kept → drift",
      "C-1/file:b: drift → kept",
    ]);
    expect(changes[3]!.differences).toEqual(["mode is 0644, promised 0640"]);
    expect(h.filter((e) => e.kind === "run").map((e) => e.run)).toEqual([1, 2, 3, 4]);
    expect(store.history({ control: "C-2" })).toHaveLength(1);
    expect(store.history({ since: "2026-11-23T10:03" }).map((e) => e.kind)).toEqual(["change", "run", "run"]);
    store.close();
  });

  it("a drift that stays the same drift writes nothing; a different difference is a new state", () => {
    const dir = tempDir();
    const s = StateStore.open(dir);
    expect(s.recordResult(1, "t1", result("C/file:x", "drift", ["mode is 0644, promised 0640"]))).toBe(true);
    // the observed value changed (0644 → 0666) but the same attribute of the same file differs
    expect(s.recordResult(2, "t2", result("C/file:x", "drift", ["mode is 0666, promised 0640"]))).toBe(false);
    expect(s.recordResult(3, "t3", result("C/file:x", "drift", ["mode is 0666, promised 0640", "owner is bob, promised ledger"]))).toBe(true);
    s.close();
  });

  it("every repair is recorded, even when the state before and after looks the same", () => {
    const dir = tempDir();
    const s = StateStore.open(dir);
    const repaired = { ...result("C/file:x", "repaired", ["mode is 0666, promised 0640"]), changes: [{ change: { op: "chmod", path: "/x", mode: 0o640 } as const, description: "chmod 0640 /x", status: "applied" as const }] };
    expect(s.recordResult(1, "t1", repaired)).toBe(true);
    expect(s.recordResult(2, "t2", repaired)).toBe(true);
    s.close();
  });

  it("verify: an intact store", () => {
    const { store } = populated(3);
    const r = store.verify();
    expect(r.tampering).toBeUndefined();
    expect(r.runs).toEqual([1, 2, 3]);
    expect(r.records).toBe(4 + 2 + 2);
    store.close();
  });

  it("verify finds an altered record, at that record", () => {
    const { dir, store } = populated();
    // record 5 is run 2's drift of C-1/file:b: make it say the mode was right
    raw(dir).prepare("UPDATE ledger SET body = replace(body, '0644', '0640') WHERE seq = 5").run();
    expect(store.verify().tampering).toEqual({ kind: "altered", seq: 5, message: "record 5 was altered after it was written" });
    store.close();
  });

  it("verify finds a deleted record", () => {
    const { dir, store } = populated();
    raw(dir).prepare("DELETE FROM ledger WHERE seq = 5").run();
    expect(store.verify().tampering).toMatchObject({ kind: "deleted", seq: 5 });
    store.close();
  });

  it("verify finds an inserted record, even when the later ones were renumbered to make room", () => {
    const { dir, store } = populated();
    const db = raw(dir);
    const rows = db.prepare("SELECT seq FROM ledger WHERE seq >= 4 ORDER BY seq DESC").pluck().all() as number[];
    for (const seq of rows) db.prepare("UPDATE ledger SET seq = seq + 1 WHERE seq = ?").run(seq);
    db.prepare("INSERT INTO ledger VALUES (4, 'change', 2, '2026-11-23T10:02:00.500Z', '{\"key\":\"forged\"}', zeroblob(32))").run();
    expect(store.verify().tampering).toMatchObject({ kind: "inserted", seq: 4 });
    store.close();
  });

  it("verify finds records cut off the end, through the sealed head anchor", () => {
    const { dir, store } = populated();
    raw(dir).prepare("DELETE FROM ledger WHERE seq >= 8").run();
    expect(store.verify().tampering).toMatchObject({ kind: "deleted", seq: 8, message: "records 8 to 9, the newest, were deleted" });
    // rewriting the anchors to match is caught by their seals
    const head = JSON.parse(readFileSync(join(dir, "ledger.head"), "utf8")) as { seq: number };
    raw(dir).prepare("UPDATE meta SET value = ? WHERE key = 'head'").run(JSON.stringify({ ...head, seq: 7 }));
    expect(store.verify().tampering).toMatchObject({ kind: "altered", message: "the head anchor in the database was rewritten: its seal does not match" });
    writeFileSync(join(dir, "ledger.head"), JSON.stringify({ ...head, seq: 7 }));
    expect(store.verify().tampering).toMatchObject({ kind: "altered", message: expect.stringContaining("seal does not match") });
    store.close();
  });

  it("any single altered byte of any record is found at that record (property)", () => {
    const { dir, store } = populated(5);
    const db = raw(dir);
    const count = db.prepare("SELECT count(*) FROM ledger").pluck().get() as number;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: count }), fc.nat(), (seq, at) => {
        const body = db.prepare("SELECT body FROM ledger WHERE seq = ?").pluck().get(seq) as string;
        const i = at % body.length;
        const forged = body.slice(0, i) + (body[i] === "x" ? "y" : "x") + body.slice(i + 1);
        db.prepare("UPDATE ledger SET body = ? WHERE seq = ?").run(forged, seq);
        try {
          const t = store.verify().tampering;
          return t !== undefined && t.seq === seq;
        } finally {
          db.prepare("UPDATE ledger SET body = ? WHERE seq = ?").run(body, seq);
        }
      }),
      { numRuns: 60 },
    );
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });

  it("a run that stopped before its summary is reported as interrupted, with its changes kept", () => {
    const { store } = populated(2);
    const run = store.beginRun();
    store.recordResult(run, "2026-11-23T11:00:00.000Z", result("C-1/file:a", "drift", ["mode is 0600, promised 0640"]));
    store.beginRun(); // and one killed before it recorded anything
    const r = store.verify();
    expect(r.tampering).toBeUndefined();
    expect(r.interrupted).toEqual([3]);
    expect(r.silent).toEqual([4]);
    store.close();
  });

  it("keeps the host key owner-only and out of every record", () => {
    const { dir, store } = populated(1);
    const key = readFileSync(join(dir, "host.key"), "utf8").trim();
    expect(statSync(join(dir, "host.key")).mode & 0o777).toBe(0o600);
    const all = raw(dir).prepare("SELECT body FROM ledger").pluck().all().join("\n");
    expect(all).not.toContain(key);
    store.close();
  });

  it("baselines and learnt bands persist across opens", () => {
    const dir = tempDir();
    const a = StateStore.open(dir);
    const run = a.beginRun();
    a.set("/srv/x", { algorithm: "sha256", digest: "ab", size: 1, mode: 0o640, uid: 0, gid: 0, mtimeMs: 1, approvedAt: "2026-11-23" });
    for (const v of [10, 12, 14]) a.observe("load.5m", 5, v);
    // bands learnt in a run are written with its summary
    a.finishRun(runBody(run, 0));
    a.close();
    const b = StateStore.open(dir);
    expect(b.get("/srv/x")?.digest).toBe("ab");
    expect(b.observe("load.5m", 5, 100)).toEqual({ count: 3, mean: 12, stddev: 2 });
    b.close();
  });
});

describe("state directory", () => {
  it("is /var/lib/covenant as root, the XDG state directory otherwise", async () => {
    const { defaultStateDir } = await import("../../src/store/state-dir.ts");
    expect(defaultStateDir({}, 0)).toBe("/var/lib/covenant");
    expect(defaultStateDir({ XDG_STATE_HOME: "/home/ann/.state" }, 1000)).toBe("/home/ann/.state/covenant");
    // a relative XDG_STATE_HOME is invalid by the XDG rules and ignored
    expect(defaultStateDir({ XDG_STATE_HOME: "state" }, 1000)).toMatch(/\/\.local\/state\/covenant$/);
  });
});

describe("schema migration", () => {
  it("opens a store written with schema 1 and keeps its records", () => {
    const dir = tempDir();
    const old = new Database(join(dir, "state.db"));
    // schema 1 as Covenant wrote it (src/store/schema.ts keeps its text)
    old.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
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
INSERT INTO meta VALUES ('schema', '1');
INSERT INTO current VALUES ('C/file:x', 'C', 'kept', 's', 't', 1, 'as promised');`);
    old.close();
    writeFileSync(join(dir, "host.key"), randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
    const store = StateStore.open(dir);
    expect(store.recordResult(2, "t2", result("C/file:x", "drift", ["mode is 0644, promised 0640"]))).toBe(true);
    expect((store.history()[0]!.body as ChangeBody).from).toBe("kept");
    store.close();
    const db = new Database(join(dir, "state.db"));
    expect(db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get()).toBe(String(SCHEMA_VERSION));
    db.close();
  });
});

describe("anchors, baselines and the host key", () => {
  it("a missing head anchor is tampering once a run has finished, whichever of the two is gone", () => {
    const { dir, store } = populated(2);
    const head = readFileSync(join(dir, "ledger.head"));
    rmSync(join(dir, "ledger.head"));
    expect(store.verify().tampering).toMatchObject({ kind: "deleted", message: "the head anchor file ledger.head is missing, though the store has recorded runs: the history cannot be proved complete" });
    writeFileSync(join(dir, "ledger.head"), head);
    expect(store.verify().tampering).toBeUndefined();
    raw(dir).prepare("DELETE FROM meta WHERE key = 'head'").run();
    expect(store.verify().tampering).toMatchObject({ kind: "deleted", message: expect.stringContaining("the head anchor in the database is missing") });
    store.close();
  });

  it("a head anchor file that is not JSON is tampering, not a note", () => {
    const { dir, store } = populated(2);
    writeFileSync(join(dir, "ledger.head"), "garbage\n");
    expect(store.verify().tampering).toMatchObject({ kind: "altered", message: "the head anchor file ledger.head was rewritten: its seal does not match" });
    store.close();
  });

  it("deleting the database's anchor and the records after the last summary is found", () => {
    const { dir, store } = populated(2);
    const run = store.beginRun();
    store.recordResult(run, "2026-11-23T11:00:00.000Z", result("C-1/file:a", "drift", ["mode is 0600, promised 0640"]));
    const db = raw(dir);
    const lastSummary = db.prepare("SELECT max(seq) FROM ledger WHERE kind = 'run'").pluck().get() as number;
    db.prepare("DELETE FROM ledger WHERE seq > ?").run(lastSummary);
    db.prepare("DELETE FROM meta WHERE key = 'head'").run();
    // ledger.head still names the last summary, which is intact: only the database's anchor can tell
    expect(store.verify().tampering).toMatchObject({ kind: "deleted", message: expect.stringContaining("the head anchor in the database is missing") });
    store.close();
  });

  it("records cut off the end with the file anchor removed are still found through the database's anchor", () => {
    const { dir, store } = populated(3);
    rmSync(join(dir, "ledger.head"));
    raw(dir).prepare("DELETE FROM ledger WHERE seq >= 7").run();
    expect(store.verify().tampering).toMatchObject({ kind: "deleted", seq: 7 });
    store.close();
  });

  it("an edited MAC or head is reported as tampering, never a crash", () => {
    const { dir, store } = populated(2);
    raw(dir).prepare("UPDATE ledger SET mac = 'abc' WHERE seq = 2").run();
    expect(store.verify().tampering).toMatchObject({ seq: 2 });
    writeFileSync(join(dir, "ledger.head"), JSON.stringify({ seq: 6 }));
    expect(store.verify().tampering).toBeDefined();
    raw(dir).prepare("UPDATE ledger SET body = 'garbage' WHERE seq = 3").run();
    expect(store.history().find((e) => e.seq === 3)!.body).toEqual({ unreadable: "garbage" });
    store.close();
  });

  it("baselines are sealed and their approvals chained: editing or deleting one is found", () => {
    const dir = tempDir();
    const store = StateStore.open(dir);
    const run = store.beginRun();
    store.set("/srv/ledger/gl.dat", { algorithm: "sha256", digest: "aa".repeat(32), size: 1, mode: 0o640, uid: 0, gid: 0, mtimeMs: 1, approvedAt: "2026-11-23T10:00:00.000Z" });
    store.finishRun(runBody(run, 1));
    expect(store.verify().tampering).toBeUndefined();
    expect(store.history().map((e) => e.kind)).toEqual(["baseline", "run"]);
    const db = raw(dir);
    db.prepare("UPDATE baselines SET digest = ?").run("bb".repeat(32));
    expect(store.get("/srv/ledger/gl.dat")?.tampered).toBe(true);
    expect(store.verify().tampering).toMatchObject({ kind: "altered", message: "the stored baseline of /srv/ledger/gl.dat was changed outside Covenant" });
    db.prepare("DELETE FROM baselines").run();
    expect(store.verify().tampering).toMatchObject({ kind: "deleted", seq: 1, message: "the stored baseline of /srv/ledger/gl.dat, approved in record 1, was deleted" });
    store.close();
  });

  it("refuses to start a new key for a store whose key is gone", () => {
    const { dir, store } = populated(1);
    store.close();
    rmSync(join(dir, "host.key"));
    expect(() => StateStore.open(dir)).toThrow(StoreError);
    expect(() => StateStore.open(dir)).toThrow(/cannot be read \(ENOENT\): without it the history cannot be verified/);
  });
});

describe("what counts as a change of state", () => {
  it("a second unapproved content change of a file already in drift is a new state", () => {
    const dir = tempDir();
    const s = StateStore.open(dir);
    const drift = (digest: string) => {
      const r = result("C/file:x", "drift", ["integrity content differs"]);
      r.differences[0]!.significant = digest;
      return r;
    };
    expect(s.recordResult(1, "t1", drift("aa"))).toBe(true);
    expect(s.recordResult(2, "t2", drift("aa"))).toBe(false);
    expect(s.recordResult(3, "t3", drift("bb"))).toBe(true);
    s.close();
  });
});
