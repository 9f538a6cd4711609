// The approved integrity states (schema 7) are sealed: a row edited, or added, in the database is
// found by `verify`, and the promise on that path is `error` rather than compared with it.
import Database from "better-sqlite3";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function scene() {
  const dir = mkdtempSync(join(tmpdir(), "covenant-approved-"));
  dirs.push(dir);
  mkdirSync(join(dir, "state"), { mode: 0o700 });
  const policy = join(dir, "p.promise");
  writeFileSync(join(dir, "gl.dat"), "balance = 1\n");
  writeFileSync(policy, `control "SOX-1" {\n  title = "ledger"\n  file "${dir}/gl.dat" { integrity = sha256 }\n}\n`, { mode: 0o600 });
  expect(covenant(["run", "--state", join(dir, "state"), policy]).code).toBe(0);
  return { dir, state: join(dir, "state"), policy };
}

describe("approved integrity states in the store", () => {
  it("a copy edited in the database: verify names it, and no diff is made from it", () => {
    const s = scene();
    const db = new Database(join(s.state, "state.db"));
    db.prepare("UPDATE approved_copies SET copy = replace(copy, 'balance = 1', 'balance = 2')").run();
    db.close();
    const v = covenant(["verify", "--state", s.state]);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/TAMPERED: the approved copy of .*gl\.dat was changed outside Covenant: its seal does not match/);
    writeFileSync(join(s.dir, "gl.dat"), "balance = 3\n");
    const r = covenant(["run", "--state", s.state, s.policy]);
    expect(r.out).toMatch(/no diff: the approved copy was changed outside Covenant/);
  });

  it("a state edited in the database: verify names it, and the promise is error until it is resolved", () => {
    const s = scene();
    const db = new Database(join(s.state, "state.db"));
    db.prepare("UPDATE approved_states SET state = replace(state, '\"mode\":420', '\"mode\":384')").run();
    db.close();
    const v = covenant(["verify", "--state", s.state]);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/TAMPERED: the approved integrity state of .*gl\.dat was changed outside Covenant: its seal does not match/);
    const r = covenant(["run", "--state", s.state, s.policy]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/the approved integrity state of .*gl\.dat was changed outside Covenant/);
  });

  it("a state added under a real approval record: verify finds more rows than it approved", () => {
    const s = scene();
    const db = new Database(join(s.state, "state.db"));
    const row = db.prepare("SELECT * FROM approved_states").get() as Record<string, unknown>;
    db.prepare("INSERT INTO approved_states VALUES (?, ?, ?, ?, ?)").run(`${s.dir}/other`, row["state"], row["approved_at"], row["record"], row["seal"]);
    db.close();
    const v = covenant(["verify", "--state", s.state]);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/TAMPERED: the approved integrity state of .*other was changed outside Covenant|approved 1 integrity state, but more stand in its name/);
  });
});
