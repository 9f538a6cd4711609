// What someone with write access to the database (but not the key) can change, and how each
// change is found: the current state and learnt bands are sealed like baselines, the current
// state must match the history, the run counter and the schema cannot be set back, a store
// cannot be wiped while what vouched for it remains, and `history` marks every record it
// cannot prove.
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CannotObserve } from "../../src/evaluator/contract.ts";
import { weakness } from "../../src/store/host-key.ts";
import { sealHead } from "../../src/store/ledger.ts";
import { HistoryBrokenError, SCHEMA_VERSION, StateStore, StoreError, type ChangeBody } from "../../src/store/store.ts";
import { populated, raw, removeTempDirs, result, runBody, secretsDir, tempDir } from "./helpers.ts";

afterAll(() => removeTempDirs());

describe("the current state of each promise is sealed and must match the history", () => {
  it("an edited state is tampering, and the next run records the promise afresh instead of trusting it", () => {
    const { dir, store } = populated(2);
    // make the stored state of C-1/file:a that of a drift to come, so that the drift would write nothing
    const drift = result("C-1/file:a", "drift", ["mode is 0666, promised 0640"]);
    raw(dir).prepare("UPDATE current SET state = 'forged', outcome = 'drift' WHERE key = 'C-1/file:a'").run();
    expect(store.verify().tampering).toMatchObject({ kind: "altered", message: "the current state of C-1/file:a was changed outside Covenant: its seal does not match" });
    const run = store.beginRun();
    expect(store.recordResult(run, "2026-11-23T11:00:00.000Z", drift)).toBe(true);
    const last = store.history().at(-1)!.body as ChangeBody;
    expect(last).toMatchObject({ key: "C-1/file:a", from: null, to: "drift" });
    expect(last.notes).toContain("the stored current state of this promise was changed outside Covenant (its seal did not match): recorded afresh");
    expect(drift.notes).toContain("the stored current state of this promise was changed outside Covenant (its seal did not match): recorded afresh");
    store.finishRun(runBody(run, 3));
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });

  it("a sealed row put back from an older copy is not the one the last record says", () => {
    const { dir, store } = populated(1);
    const db = raw(dir);
    const old = db.prepare("SELECT * FROM current WHERE key = 'C-1/file:b'").get() as Record<string, unknown>;
    const run = store.beginRun();
    store.recordResult(run, "2026-11-23T11:00:00.000Z", result("C-1/file:b", "drift", ["mode is 0644, promised 0640"]));
    store.finishRun(runBody(run, 3));
    expect(store.verify().tampering).toBeUndefined();
    db.prepare("INSERT OR REPLACE INTO current VALUES (@key, @control, @outcome, @state, @since, @run, @reason, @seal)").run(old);
    expect(store.verify().tampering).toMatchObject({ kind: "altered", message: expect.stringMatching(/^the current state of C-1\/file:b is not the one its last record \(\d+\) says: it was replaced$/) });
    store.close();
  });

  it("a deleted or invented current state is found", () => {
    const { dir, store } = populated(1);
    const db = raw(dir);
    const row = db.prepare("SELECT * FROM current WHERE key = 'C-2/load:'").get() as Record<string, unknown>;
    db.prepare("DELETE FROM current WHERE key = 'C-2/load:'").run();
    expect(store.verify().tampering).toMatchObject({ kind: "deleted", message: expect.stringContaining("the current state of C-2/load:, recorded in record") });
    db.prepare("INSERT INTO current VALUES (@key, @control, @outcome, @state, @since, @run, @reason, @seal)").run({ ...row, key: "C-9/file:x", control: "C-9" });
    // a row cannot be sealed without the key: a copied seal does not fit another promise
    expect(store.verify().tampering).toMatchObject({ kind: "altered", message: "the current state of C-9/file:x was changed outside Covenant: its seal does not match" });
    store.close();
  });
});

describe("learnt bands are sealed", () => {
  it("an edited band is tampering and is never used to judge an anomaly", () => {
    const dir = tempDir();
    const store = StateStore.open(dir);
    const run = store.beginRun();
    for (const v of [10, 12, 14]) store.observe("load.5m", 5, v);
    store.finishRun(runBody(run, 0));
    expect(store.verify().tampering).toBeUndefined();
    // widen the band so that any load looks normal
    raw(dir).prepare("UPDATE bands SET m2 = 1e12 WHERE metric = 'load.5m'").run();
    expect(store.verify().tampering).toMatchObject({ kind: "altered", message: "the learnt band of load.5m at hour 5 of the week was changed outside Covenant: its seal does not match" });
    expect(() => store.observe("load.5m", 5, 100)).toThrow(CannotObserve);
    expect(() => store.observe("load.5m", 5, 100)).toThrow(/changed outside Covenant/);
    // the forged row is left for `verify`, not replaced
    expect(raw(dir).prepare("SELECT m2 FROM bands").pluck().get()).toBe(1e12);
    store.close();
  });
});

describe("counters and schema cannot be set back", () => {
  it("a run counter set back, which would make two runs share a number, is found", () => {
    const { dir, store } = populated(3);
    raw(dir).prepare("UPDATE meta SET value = '1' WHERE key = 'last_run'").run();
    expect(store.verify().tampering).toMatchObject({ kind: "altered", message: "the run counter in the database says 1, but run 3 is recorded: it was set back" });
    store.close();
  });

  it("dropping the seals and claiming an older schema is found, and a run refuses to seal forged rows", () => {
    const { dir, store } = populated(2);
    store.close();
    const db = raw(dir);
    db.exec("ALTER TABLE current DROP COLUMN seal; UPDATE meta SET value = '3' WHERE key = 'schema'");
    db.prepare("UPDATE current SET state = 'forged' WHERE key = 'C-1/file:a'").run();
    db.close();
    const reader = StateStore.openReadOnly(dir);
    expect(reader.verify().tampering).toMatchObject({ kind: "altered", message: `the store says schema 3, but its sealed head anchor was written with schema ${SCHEMA_VERSION}: its tables were set back to escape their seals` });
    reader.close();
    expect(() => StateStore.open(dir)).toThrow(HistoryBrokenError);
    expect(() => StateStore.open(dir)).toThrow(/has lost the seals of its current table, which its sealed head anchor says it had/);
  });

  it("a store written before schema 4 is sealed once by the next run; read-only commands leave it as it is", () => {
    const { dir, store } = populated(2);
    store.close();
    const db = raw(dir);
    db.exec("ALTER TABLE current DROP COLUMN seal; ALTER TABLE bands DROP COLUMN seal; UPDATE meta SET value = '3' WHERE key = 'schema'; DELETE FROM meta WHERE key = 'head'");
    // nor had it the deficiency and outbox tables of schema 5
    db.exec("DROP TABLE deficiencies; DROP TABLE outbox_events; DROP TABLE outbox_messages; DROP TABLE notify_groups");
    db.close();
    // heads written before schema 4 carry no schema: write such anchors as an older Covenant did
    const key = Buffer.from(readFileSync(join(dir, "host.key"), "utf8").trim(), "hex");
    const last = raw(dir).prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1").get() as { seq: number; mac: Buffer };
    raw(dir).prepare("INSERT INTO meta VALUES ('head', ?)").run(JSON.stringify(sealHead(key, last.seq, last.mac)));
    writeFileSync(join(dir, "ledger.head"), JSON.stringify(sealHead(key, last.seq, last.mac)) + "\n");
    const reader = StateStore.openReadOnly(dir);
    const before = reader.verify();
    reader.close();
    expect(before.tampering).toBeUndefined();
    expect(before.notes).toEqual([
      "the store was written by an older Covenant (schema 3): the current state and the learnt bands are sealed at its next run",
      "the store keeps no deficiencies yet (schema 3): its next run adds them, opening one for each promise whose last record is drift, failed or error",
    ]);
    expect(raw(dir).prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get()).toBe("3");
    const writer = StateStore.open(dir);
    const after = writer.verify();
    writer.close();
    expect(after).toMatchObject({ notes: [] });
    expect(after.tampering).toBeUndefined();
    expect(raw(dir).prepare("SELECT count(*) FROM current WHERE seal IS NOT NULL").pluck().get()).toBe(3);
    // file:b drifted in run 2, its last record: it has an open deficiency now
    expect(raw(dir).prepare("SELECT key FROM deficiencies WHERE status = 'open'").pluck().all()).toEqual(["C-1/file:b"]);
  });
});

describe("a store cannot be wiped while what vouched for it remains", () => {
  it("the database gone with its head anchor left is a deleted history, to run and to verify", () => {
    const { dir, store } = populated(2);
    store.close();
    for (const f of readdirSync(dir)) if (f.startsWith("state.db")) rmSync(join(dir, f));
    expect(() => StateStore.open(dir)).toThrow(HistoryBrokenError);
    expect(() => StateStore.open(dir)).toThrow(/the store .*state\.db is gone, but its head anchor ledger\.head remains \(it vouches for 6 records\): the history was deleted or moved/);
    expect(() => StateStore.openReadOnly(dir)).toThrow(HistoryBrokenError);
    // and nothing was created meanwhile
    expect(existsSync(join(dir, "state.db"))).toBe(false);
  });

  it("the database and the head anchor gone with the key left is a deleted history too", () => {
    const { dir, store } = populated(1);
    store.close();
    for (const f of readdirSync(dir)) if (f.startsWith("state.db") || f === "ledger.head") rmSync(join(dir, f));
    expect(() => StateStore.open(dir)).toThrow(/the store .*state\.db is gone, but the host key made with it remains/);
  });

  it("a key kept elsewhere (a secrets mount) may exist before the store", () => {
    const dir = tempDir();
    const keyFile = join(secretsDir(), "host.key");
    writeFileSync(keyFile, randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
    process.env["COVENANT_HOST_KEY_FILE"] = keyFile;
    try {
      const store = StateStore.open(dir);
      store.close();
      expect(existsSync(join(dir, "host.key"))).toBe(false);
    } finally {
      delete process.env["COVENANT_HOST_KEY_FILE"];
    }
  });

  it("a run will not extend a history whose end was cut off", () => {
    const { dir, store } = populated(2);
    const run = store.beginRun();
    store.recordResult(run, "2026-11-23T11:00:00.000Z", result("C-1/file:a", "drift", ["mode is 0600, promised 0640"]));
    store.close();
    const db = raw(dir);
    db.prepare("DELETE FROM ledger WHERE seq > (SELECT max(seq) FROM ledger WHERE kind = 'run')").run();
    db.prepare("DELETE FROM meta WHERE key = 'head'").run();
    db.close();
    expect(() => StateStore.open(dir)).toThrow(HistoryBrokenError);
    expect(() => StateStore.open(dir)).toThrow(/cannot be continued: the head anchor in the database is missing/);
  });
});

describe("reading changes nothing", () => {
  it("history and verify leave the files as they were, create no key, and refuse a store whose key is gone", () => {
    const { dir, store } = populated(2);
    store.close();
    const snapshot = () => Object.fromEntries(readdirSync(dir).filter((f) => !f.endsWith("-shm") && !f.endsWith("-wal")).map((f) => [f, readFileSync(join(dir, f)).toString("hex")]));
    const before = snapshot();
    const reader = StateStore.openReadOnly(dir);
    reader.verify();
    reader.history();
    expect(() => reader.recordResult(1, "t", result("C/x", "kept"))).toThrow(/read-only/);
    reader.close();
    expect(snapshot()).toEqual(before);
    rmSync(join(dir, "host.key"));
    expect(() => StateStore.openReadOnly(dir)).toThrow(StoreError);
    expect(existsSync(join(dir, "host.key"))).toBe(false);
  });
});

describe("history marks what it cannot prove", () => {
  it("an altered record is marked, and the records around it are not", () => {
    const { dir, store } = populated(3);
    raw(dir).prepare("UPDATE ledger SET body = replace(body, '0644', '0640') WHERE seq = 5").run();
    const marks = store.history().map((e) => `${e.seq}:${e.verified ? "ok" : e.problem}`);
    expect(marks.filter((m) => !m.endsWith(":ok"))).toEqual(["5:its MAC does not match: it was altered or inserted after it was written"]);
    store.close();
  });

  it("an inserted record is marked; the next one still proves itself", () => {
    const { dir, store } = populated(3);
    const db = raw(dir);
    for (const seq of db.prepare("SELECT seq FROM ledger WHERE seq >= 4 ORDER BY seq DESC").pluck().all() as number[]) db.prepare("UPDATE ledger SET seq = seq + 1 WHERE seq = ?").run(seq);
    db.prepare("INSERT INTO ledger VALUES (4, 'change', 2, '2026-11-23T10:02:00.500Z', '{\"key\":\"forged\",\"control\":\"C-1\",\"to\":\"kept\"}', zeroblob(32))").run();
    const h = store.history();
    expect(h.filter((e) => !e.verified).map((e) => e.seq)).toEqual([4]);
    store.close();
  });

  it("the record after deleted ones cannot be verified; the end of the chain is checked against the anchors", () => {
    const { dir, store } = populated(3);
    raw(dir).prepare("DELETE FROM ledger WHERE seq = 4").run();
    expect(store.history().filter((e) => !e.verified).map((e) => `${e.seq}: ${e.problem}`)).toEqual(["5: records before it are missing, or it was renumbered (expected record 4): it cannot be verified"]);
    raw(dir).prepare("DELETE FROM ledger WHERE seq >= 7").run();
    expect(store.readHistory().end).toMatchObject({ kind: "deleted", seq: 7 });
    store.close();
  });

  it("any single altered byte of any record marks exactly that record (property)", () => {
    const { dir, store } = populated(4);
    const db = raw(dir);
    const count = db.prepare("SELECT count(*) FROM ledger").pluck().get() as number;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: count }), fc.nat(), (seq, at) => {
        const body = db.prepare("SELECT body FROM ledger WHERE seq = ?").pluck().get(seq) as string;
        const i = at % body.length;
        db.prepare("UPDATE ledger SET body = ? WHERE seq = ?").run(body.slice(0, i) + (body[i] === "x" ? "y" : "x") + body.slice(i + 1), seq);
        try {
          return JSON.stringify(store.history().filter((e) => !e.verified).map((e) => e.seq)) === JSON.stringify([seq]);
        } finally {
          db.prepare("UPDATE ledger SET body = ? WHERE seq = ?").run(body, seq);
        }
      }),
      { numRuns: 40 },
    );
    store.close();
  });
});

describe("the host key", () => {
  it("refuses keys that are not random: all zeros, a repeated pattern, a counting sequence", () => {
    expect(weakness(Buffer.alloc(32))).toBe("all its bytes are 0x00");
    expect(weakness(Buffer.from("0123456789abcdef".repeat(4), "hex"))).toMatch(/only 8 distinct bytes/);
    expect(weakness(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe("its bytes count up or down in equal steps");
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((a) => new Set(a).size > 24), (a) => weakness(Buffer.from(a)) === undefined || new Set(a).size <= 16));
    for (let i = 0; i < 200; i++) expect(weakness(randomBytes(32))).toBeUndefined();
  });

  it("an all-zero key planted before the first run is refused, never used", () => {
    const dir = tempDir();
    const keyFile = join(secretsDir(), "host.key");
    writeFileSync(keyFile, "00".repeat(32) + "\n", { mode: 0o600 });
    process.env["COVENANT_HOST_KEY_FILE"] = keyFile;
    try {
      expect(() => StateStore.open(dir)).toThrow(/the host key .* is not a random key \(all its bytes are 0x00\)/);
    } finally {
      delete process.env["COVENANT_HOST_KEY_FILE"];
    }
  });
});

describe("the head anchor file from the first moment", () => {
  it("a new store has a head file naming no record, so a first run that dies before writing its own leaves it behind, never missing", () => {
    const dir = tempDir();
    const store = StateStore.open(dir);
    const genesis = readFileSync(join(dir, "ledger.head"), "utf8");
    expect(JSON.parse(genesis)).toMatchObject({ seq: 0, schema: SCHEMA_VERSION });
    const run = store.beginRun();
    store.recordResult(run, "2026-11-23T10:00:00.000Z", result("C-1/file:a", "kept"));
    store.finishRun(runBody(run, 1));
    // as if the run had died (or found the disk full) after committing its summary, before the head file
    writeFileSync(join(dir, "ledger.head"), genesis);
    expect(store.verify().tampering).toBeUndefined();
    store.close();
    const again = StateStore.open(dir);
    const next = again.beginRun();
    again.finishRun(runBody(next, 1));
    expect(again.verify().tampering).toBeUndefined();
    expect(JSON.parse(readFileSync(join(dir, "ledger.head"), "utf8"))).toMatchObject({ seq: 3 });
    again.close();
  });
});
