// `covenant history` and `covenant verify` as an operator or auditor runs them: the built CLI,
// a store written by real runs, real exit codes. Forged records are marked, outside text cannot
// forge a line, and files that are not what Covenant writes are exit 2, never a hang.
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin, covenant, ensureBuilt } from "../helpers/cli.ts";
import { removeTempDirs, tempDir } from "./helpers.ts";

afterAll(() => removeTempDirs());

beforeAll(() => ensureBuilt());

/** A policy over one directory of ledger files, none repaired: loose files are drift. */
function ledger(names: string[]): { dir: string; policy: string; state: string } {
  const dir = tempDir("cli");
  mkdirSync(join(dir, "ledger"));
  for (const n of names) {
    writeFileSync(join(dir, "ledger", n), "entry\n");
    chmodSync(join(dir, "ledger", n), 0o666);
  }
  const policy = join(dir, "ledger.promise");
  writeFileSync(policy, `control "ITGC-CM-02" {\n  title = "Ledger files"\n  file "${dir}/ledger/*.dat" { mode = 0640 }\n}\n`);
  return { dir, policy, state: join(dir, "state") };
}

/** The CLI with a time limit: a command that would hang fails the test instead of the suite. */
function bounded(args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string; timedOut: boolean } {
  const r = spawnSync(bin, args, { encoding: "utf8", timeout: 15_000, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr, timedOut: r.signal === "SIGTERM" };
}

describe("covenant history", () => {
  it("a file name with a line break cannot forge a record in the text output", () => {
    const forged = "2026-12-05 10:00:00Z  #99  ITGC-CM-02 file gl-2026-11.dat: drift → kept: as promised"; // a file name holds no slash
    const l = ledger([`gl.dat`, `x\n${forged}\n.dat`]);
    expect(covenant(["run", "--state", l.state, l.policy]).code).toBe(1);
    const h = covenant(["history", "--state", l.state]);
    expect(h.code).toBe(0);
    expect(h.out.split("\n").filter((line) => line.startsWith("2026-12-05 10:00:00Z"))).toEqual([]);
    expect(h.out).toContain(`x\\n${forged}\\n.dat`);
    // JSON keeps the name exactly as it is
    const json = JSON.parse(covenant(["history", "--json", "--state", l.state]).out) as { body: { differences?: string[] } }[];
    expect(json.some((e) => e.body.differences?.some((d) => d.includes(`x\n${forged}\n.dat`)))).toBe(true);
  });

  it("marks a record whose MAC fails, in text and JSON, and exits 1", () => {
    const l = ledger(["gl.dat"]);
    for (let i = 0; i < 2; i++) covenant(["run", "--state", l.state, l.policy]);
    const db = new Database(join(l.state, "state.db"));
    const seq = db.prepare("SELECT seq FROM ledger WHERE kind = 'change'").pluck().get() as number;
    db.prepare("UPDATE ledger SET body = replace(body, '\"to\":\"drift\"', '\"to\":\"kept\"') WHERE seq = ?").run(seq);
    db.close();
    const h = covenant(["history", "--state", l.state]);
    expect(h.code).toBe(1);
    const line = h.out.split("\n").find((x) => x.includes(`#${seq} `))!;
    expect(line).toMatch(/UNVERIFIED ITGC-CM-02 file .*: \(first observation\) → kept/);
    expect(h.out).toContain("! not verified: its MAC does not match: it was altered or inserted after it was written; run `covenant verify`");
    expect(h.out.match(/UNVERIFIED/g)).toHaveLength(1);
    const json = JSON.parse(covenant(["history", "--json", "--state", l.state]).out) as { seq: number; verified: boolean; problem?: string }[];
    expect(json.filter((e) => !e.verified)).toEqual([expect.objectContaining({ seq, problem: expect.stringContaining("MAC does not match") })]);
    expect(json.filter((e) => e.verified).length).toBe(json.length - 1);
  });

  it("says when records were cut off the end", () => {
    const l = ledger(["gl.dat"]);
    for (let i = 0; i < 3; i++) covenant(["run", "--state", l.state, l.policy]);
    const db = new Database(join(l.state, "state.db"));
    db.prepare("DELETE FROM ledger WHERE seq = (SELECT max(seq) FROM ledger)").run();
    db.close();
    const h = covenant(["history", "--state", l.state]);
    expect(h.code).toBe(1);
    expect(h.out).toMatch(/TAMPERED: record \d+, the last one, was deleted \(deleted\); run `covenant verify`\n$/);
    const j = covenant(["history", "--json", "--state", l.state]);
    expect(j.code).toBe(1);
    expect(j.err).toContain("TAMPERED: record");
  });

  it("an invalid date in --since is an error, exit 2", () => {
    const l = ledger(["gl.dat"]);
    covenant(["run", "--state", l.state, l.policy]);
    for (const since of ["2026-13-01", "2026-02-30", "2026-11-01T25:00", "yesterday"]) {
      const r = covenant(["history", "--since", since, "--state", l.state]);
      expect(r.code, since).toBe(2);
      expect(r.err).toBe(`covenant history: --since wants a date such as 2026-11-01, got \`${since}\`\n`);
    }
    expect(covenant(["history", "--since", "2024-02-29", "--state", l.state]).code).toBe(0);
    expect(covenant(["history", "--since", "2026-11-01T10:30", "--state", l.state]).code).toBe(0);
  });
});

describe("covenant verify", () => {
  it("prints the head it vouches for, to be kept off the host", () => {
    const l = ledger(["gl.dat"]);
    covenant(["run", "--state", l.state, l.policy]);
    const v = covenant(["verify", "--state", l.state]);
    expect(v.code).toBe(0);
    // a change, the policy version, the roster of promises evaluated and the run's summary
    expect(v.out).toMatch(/^intact: 4 records, 1 runs from .*\nhead: record 4, MAC ([0-9a-f]{16})… \(keep `--known-head 4:\1` off this host: a later verify given it finds the whole store rolled back\)\n$/);
    const j = JSON.parse(covenant(["verify", "--json", "--state", l.state]).out) as { head: { seq: number; mac: string }; opened: string };
    expect(j.head.seq).toBe(4);
    expect(j.head.mac).toMatch(/^[0-9a-f]{64}$/);
    expect(v.out).toContain(j.head.mac.slice(0, 16));
    expect(j.opened).toBe("shared");
  });

  it("a head kept off the host finds the whole store rolled back with its anchors", () => {
    const l = ledger(["gl.dat"]);
    covenant(["run", "--state", l.state, l.policy]);
    const early = join(l.dir, "early-copy");
    cpSync(l.state, early, { recursive: true });
    for (let i = 0; i < 2; i++) covenant(["run", "--state", l.state, l.policy]);
    const head = (JSON.parse(covenant(["verify", "--json", "--state", l.state]).out) as { head: { seq: number; mac: string } }).head;
    const known = `${head.seq}:${head.mac.slice(0, 16)}`;
    expect(covenant(["verify", "--known-head", known, "--state", l.state]).code).toBe(0);
    // the whole directory put back as it was after the first run: consistent in itself
    rmSync(l.state, { recursive: true });
    cpSync(early, l.state, { recursive: true });
    expect(covenant(["verify", "--state", l.state]).code).toBe(0);
    const v = covenant(["verify", "--known-head", known, "--state", l.state]);
    expect(v.code).toBe(1);
    expect(v.out).toBe(`TAMPERED: record ${head.seq}, vouched for by an earlier verify, is not in the history (it ends at record 4): the store was rolled back (deleted)\n`);
    // and runs since the rollback cannot make it look right again
    for (let i = 0; i < 3; i++) covenant(["run", "--state", l.state, l.policy]);
    expect(covenant(["verify", "--known-head", known, "--state", l.state]).out).toMatch(/^TAMPERED: record \d+ is not the one an earlier verify vouched for \(MAC [0-9a-f]{16}…\): the store was rolled back and rewritten \(altered\)\n$/);
    expect(covenant(["verify", "--known-head", "4:xyz", "--state", l.state])).toMatchObject({ code: 2, err: expect.stringContaining("--known-head wants a record number and the start of its MAC") });
  });

  it("a store deleted while its head anchor remains is tampering; a directory that never held one is not", () => {
    const l = ledger(["gl.dat"]);
    covenant(["run", "--state", l.state, l.policy]);
    for (const f of readdirSync(l.state)) if (f.startsWith("state.db")) rmSync(join(l.state, f));
    const v = covenant(["verify", "--state", l.state]);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/^TAMPERED: the store .*state\.db is gone, but its head anchor ledger\.head remains \(it vouches for 4 records\): the history was deleted or moved\..*\(deleted\)\n$/);
    const r = covenant(["run", "--state", l.state, l.policy]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("is gone, but its head anchor ledger.head remains");
    expect(readdirSync(l.state).some((f) => f.startsWith("state.db"))).toBe(false);
    const none = covenant(["verify", "--state", join(l.dir, "never")]);
    expect(none).toMatchObject({ code: 2, err: expect.stringContaining("no store in") });
  });
});

describe("files that are not what Covenant writes are exit 2, never a hang", () => {
  const cases: [string, (p: string) => void][] = [
    ["a FIFO", (p) => spawnSync("mkfifo", [p])],
    ["a directory", (p) => mkdirSync(p)],
  ];
  for (const [what, make] of cases) {
    for (const file of ["host.key", "ledger.head", "state.db"]) {
      it(`${what} where ${file} should be`, () => {
        const l = ledger(["gl.dat"]);
        covenant(["run", "--state", l.state, l.policy]);
        rmSync(join(l.state, file));
        make(join(l.state, file));
        for (const args of [["verify"], ["history"], ["run", l.policy]]) {
          const r = bounded([...args, "--state", l.state]);
          expect(r.timedOut, `${args[0]} hung`).toBe(false);
          expect(r.code, `${args[0]}: ${r.err}`).toBe(2);
          expect(r.err).toContain(`${join(l.state, file)} is`);
          expect(r.err).toMatch(what === "a FIFO" ? /a FIFO/ : /a directory/);
        }
      });
    }
  }

  it("a host key of the wrong size or content", () => {
    const l = ledger(["gl.dat"]);
    covenant(["run", "--state", l.state, l.policy]);
    for (const [content, message] of [
      ["abc\n", "is not 64 hexadecimal digits (it holds 4 bytes)"],
      ["0".repeat(1 << 20), "is 1048576 bytes, more than the 4096 it can be"],
      ["00".repeat(32) + "\n", "is not a random key (all its bytes are 0x00)"],
    ] as const) {
      writeFileSync(join(l.state, "host.key"), content);
      for (const cmd of ["verify", "history"]) {
        const r = bounded([cmd, "--state", l.state]);
        expect(r.code).toBe(2);
        expect(r.err).toContain(message);
        expect(r.err).not.toContain("0".repeat(64));
      }
    }
  });
});
