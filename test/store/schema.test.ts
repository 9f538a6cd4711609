// SQL kept in state.db runs as root: a trigger planted there would drop chosen records as a run
// writes them (and verify said intact), and a RAISE(ABORT, ...) put an escape sequence on the
// terminal through an internal error. A store whose schema is not exactly what Covenant makes is
// tampering: refused by run before anything is written, reported by verify, and nothing in it is
// run or printed raw. And each run's summary says how many change records it wrote, so records
// dropped as they were written are found even when the chain around them is intact.
import Database from "better-sqlite3";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../../src/store/store.ts";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { populated, raw, removeTempDirs, result, runBody, tempDir } from "./helpers.ts";

beforeAll(() => ensureBuilt());
afterAll(() => removeTempDirs());

/** A ledger of two controls' files, loose (drift, repaired by perms), and a state directory after one run. */
function twoControls(): { dir: string; policy: string; state: string; files: string[]; loosen: () => void } {
  const dir = tempDir("schema");
  mkdirSync(join(dir, "ledger"));
  const files = ["a.dat", "b.dat"].map((n) => join(dir, "ledger", n));
  for (const f of files) writeFileSync(f, "entry\n");
  const loosen = () => files.forEach((f) => chmodSync(f, 0o666));
  loosen();
  const policy = join(dir, "p.promise");
  writeFileSync(policy, `control "C-1" {\n  title = "first"\n  file "${files[0]}" { mode = 0640 repair = perms }\n}\ncontrol "C-2" {\n  title = "second"\n  file "${files[1]}" { mode = 0640 repair = perms }\n}\n`);
  const state = join(dir, "state");
  expect(covenant(["run", "--quiet", "--state", state, policy]).code).toBe(0);
  return { dir, policy, state, files, loosen };
}

function plant(state: string, sql: string): void {
  const db = new Database(join(state, "state.db"));
  db.exec(sql);
  db.close();
}

describe("a schema Covenant never makes is tampering", () => {
  it("triggers that would drop one control's records, its current states and the head anchor's moves: run refuses, verify reports, nothing is dropped", () => {
    const l = twoControls();
    plant(
      l.state,
      `CREATE TRIGGER hide_c1 BEFORE INSERT ON ledger WHEN NEW.body LIKE '%"control":"C-1"%' BEGIN SELECT RAISE(IGNORE); END;
       CREATE TRIGGER keep_c1 BEFORE INSERT ON current WHEN NEW.control = 'C-1' BEGIN SELECT RAISE(IGNORE); END;
       CREATE TRIGGER pin_head BEFORE INSERT ON meta WHEN NEW.key = 'head' AND (SELECT count(*) FROM ledger) > 100 BEGIN SELECT RAISE(IGNORE); END;`,
    );
    const before = raw(l.state).prepare("SELECT count(*) FROM ledger").pluck().get();
    l.loosen();
    const r = covenant(["run", "--state", l.state, l.policy]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain(`the store ${join(l.state, "state.db")} was tampered with: it holds a trigger \`hide_c1\` on \`ledger\` that Covenant never makes (SQL that would run as a run writes)`);
    // refused before anything was written, or changed on the host
    expect(raw(l.state).prepare("SELECT count(*) FROM ledger").pluck().get()).toBe(before);
    const v = covenant(["verify", "--state", l.state]);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/^TAMPERED: the store .* was tampered with: it holds a trigger `hide_c1` on `ledger`.* \(altered\)\n$/);
    expect(covenant(["verify", "--json", "--state", l.state]).out).toContain('"kind": "altered"');
    const h = covenant(["history", "--state", l.state]);
    expect(h.code).toBe(2);
    expect(h.err).toContain("was tampered with");
  });

  it("a trigger whose RAISE carries a terminal escape and a forged line: run exits 2, and nothing is printed raw", () => {
    const l = twoControls();
    plant(l.state, `CREATE TRIGGER "x\x1b]0;owned\x07" BEFORE INSERT ON ledger BEGIN SELECT RAISE(ABORT, '\x1b]0;pwned\x07\nKEPT     ITGC-AC-01 forged'); END;`);
    l.loosen();
    const r = covenant(["run", "--state", l.state, l.policy]);
    expect(r.code).toBe(2);
    expect(r.err).not.toContain("internal error");
    expect(r.err + r.out).not.toContain("\x1b");
    expect((r.err + r.out).split("\n").some((line) => line.startsWith("KEPT"))).toBe(false);
    expect(r.err).toContain("\\x1b]0;owned\\x07");
    const v = covenant(["verify", "--state", l.state]);
    expect(v.code).toBe(1);
    expect(v.out).not.toContain("\x1b");
  });

  for (const [what, sql, message] of [
    ["a view in place of a table", "DROP TABLE bands; CREATE VIEW bands AS SELECT 'load' AS metric, 0 AS hour, 1 AS count, 0.0 AS mean, 0.0 AS m2, NULL AS seal", "it holds a view `bands` that Covenant never makes"],
    ["an index of its own", "CREATE INDEX by_outcome ON current(outcome)", "it holds an index `by_outcome` on `current` that Covenant never makes"],
    ["another table", "CREATE TABLE notes (x)", "it holds a table `notes` that Covenant never makes"],
    ["a table redefined to merge keys", "CREATE TABLE c2 AS SELECT * FROM current; DROP TABLE current; CREATE TABLE current (key TEXT PRIMARY KEY COLLATE NOCASE, control TEXT NOT NULL, outcome TEXT NOT NULL, state TEXT NOT NULL, since TEXT NOT NULL, run INTEGER NOT NULL, reason TEXT NOT NULL, seal BLOB) WITHOUT ROWID; INSERT INTO current SELECT * FROM c2; DROP TABLE c2", "its table `current` is not defined as Covenant defines it"],
    ["a dropped table", "DROP TABLE bands", "its table `bands` is missing"],
    ["the index dropped", "DROP INDEX ledger_run", "its index `ledger_run` is missing"],
    ["the waivers' index dropped (schema 8)", "DROP INDEX ledger_waivers", "its index `ledger_waivers` is missing"],
    ["the waivers' index redefined to hold fewer", "DROP INDEX ledger_waivers; CREATE INDEX ledger_waivers ON ledger(kind) WHERE kind = 'waiver' AND run > 0", "its index `ledger_waivers` is not defined as Covenant defines it"],
  ] as const) {
    it(`${what}: tampering to verify (exit 1), refused by run (exit 2)`, () => {
      const l = twoControls();
      plant(l.state, sql);
      const v = covenant(["verify", "--state", l.state]);
      expect(v.code, v.err).toBe(1);
      expect(v.out).toContain(`TAMPERED: the store ${join(l.state, "state.db")} was tampered with: ${message}`);
      const r = covenant(["run", "--state", l.state, l.policy]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(message);
    });
  }

  it("a schema value no Covenant writes, or newer than the anchors were written with, is tampering; a real newer store is exit 2", () => {
    const l = twoControls();
    for (const value of ["abc", "0", "1e3"]) {
      raw(l.state).prepare("UPDATE meta SET value = ? WHERE key = 'schema'").run(value);
      const v = covenant(["verify", "--state", l.state]);
      expect(v.code, value).toBe(1);
      expect(v.out).toContain("gives its schema as something that is not a schema number: it was edited (altered)");
      expect(covenant(["run", "--state", l.state, l.policy]).code).toBe(2);
    }
    raw(l.state).prepare("UPDATE meta SET value = '99' WHERE key = 'schema'").run();
    const v = covenant(["verify", "--state", l.state]);
    expect(v.code).toBe(1);
    expect(v.out).toContain(`says schema 99, newer than this Covenant's ${SCHEMA_VERSION}, but its sealed head anchors were written with schema ${SCHEMA_VERSION}: the value was edited`);
  });

  it("every store a Covenant version made passes: schema 1 migrated step by step, and the current one", () => {
    const { dir, store } = populated(2);
    expect(store.verify().tampering).toBeUndefined();
    store.close();
    expect(covenant(["verify", "--state", dir]).code).toBe(0);
  });
});

describe("each run's summary counts its change records", () => {
  it("records dropped as they were written (a trigger planted while the run had the store open) are found, though the chain around them is intact", () => {
    const { dir, store } = populated(1);
    const run = store.beginRun();
    // planted after the run opened the store: its statements pick the new schema up
    const db = raw(dir);
    db.exec(`CREATE TRIGGER hide BEFORE INSERT ON ledger WHEN NEW.body LIKE '%file:b%' BEGIN SELECT RAISE(IGNORE); END;`);
    store.recordResult(run, "2026-11-23T11:00:00.000Z", result("C-1/file:a", "drift", ["mode is 0600, promised 0640"]));
    store.recordResult(run, "2026-11-23T11:00:00.000Z", result("C-1/file:b", "drift", ["mode is 0600, promised 0640"]));
    store.finishRun(runBody(run, 3));
    // the attacker removes the triggers afterwards
    db.exec("DROP TRIGGER hide");
    db.close();
    expect(store.verify().tampering).toMatchObject({ kind: "deleted", message: expect.stringMatching(/^run 2's summary \(record \d+\) says it wrote 2 change records, but the history holds 1: records were dropped$/) });
    store.close();
  });
});
