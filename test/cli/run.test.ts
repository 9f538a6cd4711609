// `covenant run`, `history` and `verify` as cron and operators run them: the built CLI, real
// files, a real SQLite store, real exit codes.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../../src/store/store.ts";
import { bin, covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());

const temp = (prefix: string) => mkdtempSync(join(tmpdir(), `covenant-${prefix}-`));
const mode = (p: string) => statSync(p).mode & 0o7777;

/** A directory of ledger files and a policy over them; `loose` files start with mode 0666. */
function ledger(files = 3, loose = 1, repair = true, perFile = false): { dir: string; policy: string; state: string; files: string[] } {
  const dir = temp("run");
  mkdirSync(join(dir, "ledger"));
  const paths: string[] = [];
  for (let i = 0; i < files; i++) {
    const p = join(dir, "ledger", `gl-${i}.dat`);
    writeFileSync(p, `entry ${i}\n`);
    chmodSync(p, i < loose ? 0o666 : 0o640);
    paths.push(p);
  }
  const policy = join(dir, "ledger.promise");
  if (perFile) {
    const promises = paths.map((p) => `  file "${p}" { mode = 0640 integrity = sha256 repair = perms }`).join("\n");
    writeFileSync(policy, `control "ITGC-CM-02" {\n  title = "Ledger files"\n${promises}\n}\n`);
    return { dir, policy, state: join(dir, "state"), files: paths };
  }
  writeFileSync(
    policy,
    `control "ITGC-CM-02" {
  title    = "Ledger files"
  severity = critical
  file "${dir}/ledger/*.dat" {
    mode      = 0640
    integrity = sha256
${repair ? "    repair    = perms\n" : ""}  }
}
`,
  );
  return { dir, policy, state: join(dir, "state"), files: paths };
}

describe("covenant run", () => {
  it("repairs, reports per control, records, and is quiet once everything is kept", () => {
    const l = ledger();
    const first = covenant(["run", "--state", l.state, l.policy]);
    expect(first.err).toBe("");
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/REPAIRED\s+ITGC-CM-02\s+Ledger files/);
    expect(first.out).toContain(`applied: chmod 0640 ${l.files[0]}`);
    expect(mode(l.files[0]!)).toBe(0o640);
    const second = covenant(["run", "--state", l.state, "--quiet", l.policy]);
    expect(second).toEqual({ code: 0, out: "", err: "" });
    const history = covenant(["history", "--state", l.state]);
    expect(history.out).toMatch(/ITGC-CM-02 file .*: \(first observation\) → repaired/);
    expect(history.out).toMatch(/ITGC-CM-02 file .*: repaired → kept/);
    expect(history.out.match(/run \d+: 1 promise tested/g)).toHaveLength(2);
  });

  it("drift without a declared repair exits 1; --dry-run changes nothing on disk", () => {
    const l = ledger(3, 2, true);
    const dry = covenant(["run", "--dry-run", "--state", l.state, l.policy]);
    expect(dry.code).toBe(1);
    expect(dry.out).toContain("dry run: nothing changed");
    expect(dry.out).toContain(`planned: chmod 0640 ${l.files[0]}`);
    expect(l.files.map(mode)).toEqual([0o666, 0o666, 0o640]);
    const noRepair = ledger(2, 1, false);
    const r = covenant(["run", "--state", noRepair.state, noRepair.policy]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/DRIFT\s+ITGC-CM-02/);
    expect(mode(noRepair.files[0]!)).toBe(0o666);
  });

  it("--json and --junit for machines", () => {
    const l = ledger(2, 1, false);
    const junit = join(l.dir, "report.xml");
    const r = covenant(["run", "--json", "--junit", junit, "--state", l.state, l.policy]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as { summary: { outcomes: Record<string, number>; deficient_controls: string[] }; controls: { verdict: string; promises: { differences: unknown[] }[] }[] };
    expect(report.summary.outcomes.drift).toBe(1);
    expect(report.summary.deficient_controls).toEqual(["ITGC-CM-02"]);
    expect(report.controls[0]!.promises[0]!.differences).toHaveLength(1);
    const xml = readFileSync(junit, "utf8");
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="covenant run 1" tests="1" failures="1" errors="0" skipped="0"/);
    expect(xml).toContain('<failure type="drift" message="');
    expect(xml).toContain(`line="4"`);
  });

  it("a policy error exits 2 with the diagnostics, and runs nothing", () => {
    const dir = temp("bad");
    writeFileSync(join(dir, "p.promise"), 'control "C" {\n  title = "t"\n  file "/x" { mdoe = 0640 }\n}\n');
    const r = covenant(["run", "--state", join(dir, "state"), dir]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("error E");
    expect(r.err).toContain("did you mean `mode`?");
    expect(existsSync(join(dir, "state", "state.db"))).toBe(false);
  });

  it("one run at a time: a live lock holder stops the run; a dead one's lock is taken over and noted", () => {
    const l = ledger();
    mkdirSync(l.state, { recursive: true });
    const startTicks = Number(readFileSync(`/proc/${process.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19]);
    writeFileSync(join(l.state, "run.lock"), JSON.stringify({ pid: process.pid, startTicks, startedAt: "2026-11-23T10:00:00Z" }));
    const blocked = covenant(["run", "--state", l.state, l.policy]);
    expect(blocked.code).toBe(2);
    expect(blocked.err).toContain(`another run (pid ${process.pid}, started 2026-11-23T10:00:00Z) holds the lock`);
    writeFileSync(join(l.state, "run.lock"), JSON.stringify({ pid: 999999, startTicks: 1, startedAt: "2026-11-23T09:00:00Z" }));
    const r = covenant(["run", "--state", l.state, l.policy]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("note: took over the run lock left by a run that is gone (pid 999999, started 2026-11-23T09:00:00Z)");
    expect(existsSync(join(l.state, "run.lock"))).toBe(false);
  });

  it("runs that find the same stale lock at once: exactly one takes it over", async () => {
    const dir = temp("race");
    writeFileSync(join(dir, "p.promise"), 'control "C" {\n  title = "slow"\n  command ["/bin/sleep", "1"] {}\n}\n');
    const state = join(dir, "state");
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, "run.lock"), JSON.stringify({ pid: 999999, startTicks: 1, startedAt: "then" }));
    const codes = await Promise.all(
      Array.from({ length: 6 }, () => {
        const child = spawn(bin, ["run", "--quiet", "--state", state, dir], { stdio: "ignore" });
        return new Promise<number | null>((r) => child.once("exit", r));
      }),
    );
    expect(codes.filter((c) => c === 0)).toHaveLength(1);
    expect(codes.filter((c) => c === 2)).toHaveLength(5);
  });

  it("an unwritable --junit path is reported, and the run still reports and exits by its outcome", () => {
    const l = ledger(1, 0, false);
    const r = covenant(["run", "--junit", "/nonexistent/dir/report.xml", "--state", l.state, l.policy]);
    expect(r.code).toBe(0);
    expect(r.err).toContain("cannot write the JUnit report /nonexistent/dir/report.xml: ENOENT");
    expect(r.out).toMatch(/KEPT\s+ITGC-CM-02/);
  });

  it("--junit never writes through a link or into a file with other names: another user's link in /tmp cannot choose what is overwritten", () => {
    const l = ledger(1, 0, false);
    const precious = join(l.dir, "precious");
    writeFileSync(precious, "precious\n");
    const viaLink = join(l.dir, "link.xml");
    symlinkSync(precious, viaLink);
    const viaHardLink = join(l.dir, "hard.xml");
    linkSync(precious, viaHardLink);
    // a FIFO with no reader: writeFileSync waited for one forever (a cron run that never ends)
    const fifo = join(l.dir, "fifo.xml");
    spawnSync("mkfifo", [fifo]);
    for (const [path, why] of [[viaLink, "ELOOP"], [viaHardLink, "it has 1 other name(s) (a hard link)"], [fifo, "ENXIO"]] as const) {
      const r = covenant(["run", "--junit", path, "--state", l.state, l.policy]);
      expect(r.err).toContain(`cannot write the JUnit report ${path}: ${why}`);
      expect(r.code).toBe(0);
      expect(readFileSync(precious, "utf8")).toBe("precious\n");
    }
  });

  it("the lock holder's liveness is judged in the real /proc, whatever --proc-root reads", () => {
    const l = ledger();
    mkdirSync(l.state, { recursive: true });
    const startTicks = Number(readFileSync(`/proc/${process.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19]);
    writeFileSync(join(l.state, "run.lock"), JSON.stringify({ pid: process.pid, startTicks, startedAt: "x" }));
    const r = covenant(["run", "--proc-root", temp("emptyproc"), "--state", l.state, l.policy]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("holds the lock");
  });

  it("the run timeout stops evaluating new promises; those left are errors, never kept", () => {
    const dir = temp("timeout");
    writeFileSync(
      join(dir, "p.promise"),
      `control "C" {
  title = "slow"
  command ["/bin/sleep", "2"] { timeout = 10s }
  file "${dir}/p.promise" { mode = 0644 }
}
`,
    );
    const r = covenant(["run", "--json", "--timeout", "1s", "--state", join(dir, "state"), dir]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as { controls: { promises: { outcome: string; reason: string }[] }[] };
    expect(report.controls[0]!.promises.map((p) => [p.outcome, p.reason])).toEqual([
      ["kept", "as promised"],
      ["error", "not evaluated: the run timeout expired"],
    ]);
  });
});

describe("the installed command", () => {
  it("runs directly through its shebang", () => {
    const r = spawnSync(bin, ["--version"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  // `run` keeps V8's young generation at its first size, for its peak memory (bench/run);
  // other commands keep V8's defaults. Measured in the process that ran the command.
  const newSpaceAfter = (args: string[]): number => {
    const script = `import { main } from ${JSON.stringify(join(process.cwd(), "dist/covenant.js"))};
import { getHeapSpaceStatistics } from "node:v8";
await main(${JSON.stringify(args)});
process.stderr.write("NEW_SPACE " + getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size);`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    const m = /NEW_SPACE (\d+)/.exec(r.stderr);
    if (!m) throw new Error(`no heap figure: ${r.stderr}`);
    return Number(m[1]);
  };
  it("run holds the young generation at its first size; check lets it grow", () => {
    const l = ledger(600, 0, true, true);
    expect(newSpaceAfter(["run", "--quiet", "--state", l.state, l.policy])).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(newSpaceAfter(["check", l.policy])).toBeGreaterThan(2 * 1024 * 1024);
  });
});

describe("covenant verify and history", () => {
  it("verify says intact, then names the record an editor of the database altered", () => {
    const l = ledger(3, 1, false);
    for (let i = 0; i < 3; i++) covenant(["run", "--state", l.state, l.policy]);
    const ok = covenant(["verify", "--state", l.state]);
    expect(ok.code).toBe(0);
    // three baseline approvals, the integrity states of the three files approved as first seen (one record), the first observation (drift), the policy version and the roster of its promises (once each), three run summaries
    expect(ok.out).toMatch(/^intact: 10 records, 3 runs from /);
    const db = new Database(join(l.state, "state.db"));
    const seq = db.prepare("SELECT seq FROM ledger WHERE kind = 'change'").pluck().get() as number;
    db.prepare("UPDATE ledger SET body = replace(body, '\"to\":\"drift\"', '\"to\":\"kept\"') WHERE seq = ?").run(seq);
    db.close();
    const bad = covenant(["verify", "--state", l.state]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain(`TAMPERED: record ${seq} was altered after it was written (altered)`);
  });

  it("a database file written over is tampering to verify, and a configuration error to history and run", () => {
    const l = ledger(1, 1, false);
    covenant(["run", "--state", l.state, l.policy]);
    const db = join(l.state, "state.db");
    const bytes = readFileSync(db);
    bytes.write("not a database at all", 0);
    writeFileSync(db, bytes);
    const v = covenant(["verify", "--state", l.state]);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/^TAMPERED: the store .*state\.db is not a readable database \(SQLITE_NOTADB\).*\(damaged\)\n$/);
    expect(JSON.parse(covenant(["verify", "--json", "--state", l.state]).out)).toMatchObject({ tampering: { kind: "damaged" } });
    for (const args of [["history", "--state", l.state], ["run", "--state", l.state, l.policy]]) {
      const r = covenant(args);
      expect(r.code).toBe(2);
      expect(r.err).toContain("is not a readable database (SQLITE_NOTADB)");
    }
  });

  it("damage anywhere in the database file is never an internal error", () => {
    const l = ledger(3, 1, false);
    for (let i = 0; i < 3; i++) covenant(["run", "--state", l.state, l.policy]);
    const original = readFileSync(join(l.state, "state.db"));
    const pages = original.length / 4096;
    expect(pages).toBeGreaterThan(4);
    for (let page = 1; page < pages; page++) {
      const state = join(temp("damaged"), "state");
      mkdirSync(state);
      // owner-only, as Covenant writes them (as root, a key others can read is refused)
      for (const f of ["host.key", "ledger.head"]) writeFileSync(join(state, f), readFileSync(join(l.state, f)), { mode: 0o600 });
      const bytes = Buffer.from(original);
      bytes.fill(0xab, page * 4096, (page + 1) * 4096);
      writeFileSync(join(state, "state.db"), bytes);
      const at = `page ${page}`;
      const verify = covenant(["verify", "--state", state]);
      expect([0, 1], `${at}: verify ${verify.err}`).toContain(verify.code);
      const history = covenant(["history", "--state", state]);
      expect([0, 2], `${at}: history ${history.err}`).toContain(history.code);
      const run = covenant(["run", "--state", state, l.policy]);
      expect([0, 1, 2], `${at}: run ${run.err}`).toContain(run.code);
    }
    // three commands per page, and schema 5's tables and indexes doubled the pages of a small store
  }, 120_000);

  it("history filters by control and date; both say so when the state directory has no store", () => {
    const l = ledger(1, 1, false);
    covenant(["run", "--state", l.state, l.policy]);
    expect(covenant(["history", "--state", l.state, "--control", "NOPE"]).out).toBe("no records for NOPE\n");
    expect(covenant(["history", "--state", l.state, "--since", "2999-01-01"]).out).toBe("no records since 2999-01-01\n");
    const json = JSON.parse(covenant(["history", "--json", "--changes", "--state", l.state]).out) as { kind: string }[];
    expect(json.map((e) => e.kind)).toEqual(["change"]);
    const none = covenant(["verify", "--state", join(l.dir, "nowhere")]);
    expect(none.code).toBe(2);
    expect(none.err).toContain("no store in");
    expect(covenant(["history", "--since", "yesterday", "--state", l.state]).code).toBe(2);
  });
});

/** Records in a store's history now, read as an auditor would (0 before there is a store). */
function recordCount(state: string): number {
  if (!existsSync(join(state, "state.db"))) return 0;
  try {
    const db = new Database(join(state, "state.db"), { readonly: true, timeout: 1000 });
    try {
      return db.prepare("SELECT count(*) FROM ledger").pluck().get() as number;
    } finally {
      db.close();
    }
  } catch {
    return 0; // being created
  }
}

describe("crash safety", () => {
  it("a run killed at any point leaves a store that opens, verifies and has lost no committed record", async () => {
    const l = ledger(800, 800, true, true);
    let before: { seq: number; mac: string }[] = [];
    for (let i = 0; i < 8; i++) {
      // loosen the files again so that every run has records to write when it is killed
      for (const f of l.files) chmodSync(f, 0o666);
      const child = spawn(bin, ["run", "--quiet", "--state", l.state, l.policy], { stdio: "ignore" });
      let done = false;
      const exited = new Promise((r) => child.once("exit", () => r((done = true))));
      // the first kills at fixed moments (perhaps before the store is open); the others once this
      // run has begun to write, a little later each time: on a loaded machine fixed delays all
      // landed before the store opened
      if (i < 2) await new Promise((r) => setTimeout(r, 50 + i * 150));
      else {
        while (!done && recordCount(l.state) <= before.length) await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => setTimeout(r, (i - 2) * 40));
      }
      child.kill("SIGKILL");
      await exited;
      if (!existsSync(join(l.state, "state.db"))) continue; // killed before it opened the store
      const store = StateStore.open(l.state);
      const report = store.verify();
      store.close();
      expect(report.tampering).toBeUndefined();
      const db = new Database(join(l.state, "state.db"), { readonly: true });
      const now = (db.prepare("SELECT seq, hex(mac) AS mac FROM ledger ORDER BY seq").all() as { seq: number; mac: string }[]);
      db.close();
      // everything committed before this run is still there, unchanged
      expect(now.slice(0, before.length)).toEqual(before);
      before = now;
    }
    // and a normal run afterwards continues the chain
    const r = covenant(["run", "--state", l.state, l.policy]);
    expect(r.code).toBe(0);
    const verify = covenant(["verify", "--state", l.state]);
    expect(verify.code).toBe(0);
    // the kills did land mid-run: some runs wrote changes but never their summary
    expect(verify.out).toMatch(/note: runs? [\d, ]+ stopped before writing a summary/);
  }, 120_000);
});

describe("the sandbox (the README's quick start)", () => {
  it("runs the bundled examples with no root and nothing changed outside the sandbox", () => {
    const sandbox = join(temp("sb"), "sandbox");
    const r = covenant(["run", "--sandbox", "--sandbox-dir", sandbox, "--config", "examples/sox/covenant.yaml", "examples/sox"]);
    expect([0, 1]).toContain(r.code);
    expect(r.err).toBe("");
    expect(r.out).toContain(`note: sandbox created in ${sandbox}`);
    expect(r.out).toMatch(/REPAIRED\s+ITGC-CM-02/);
    // it sends nothing, and says who would have been told of the repair
    expect(r.out).toContain("notifications (nothing sent: dry run or sandbox; --notify sends):");
    expect(r.out).toMatch(/ITGC-CM-02\/file:\/srv\/ledger\/\*\.dat repaired: compliance by mail \(would be told\)/);
    expect(mode(join(sandbox, "root/srv/ledger/gl-2026-11.dat"))).toBe(0o640);
    expect(existsSync("/srv/ledger")).toBe(false);
    // changes to the kernel, services and processes are held, never made
    expect(r.out).not.toMatch(/applied: (sysctl|systemctl|start|terminate)/);
    const again = covenant(["run", "--sandbox", "--sandbox-dir", sandbox, "examples/sox"]);
    expect(again.out).toMatch(/KEPT\s+ITGC-CM-02/);
    expect(covenant(["verify", "--state", join(sandbox, "state")]).code).toBe(0);
  });

  it("--sandbox-dir alone runs in the sandbox, never on the host", () => {
    const sandbox = join(temp("sb"), "sandbox");
    const r = covenant(["run", "--dry-run", "--sandbox-dir", sandbox, "examples/sox"]);
    expect(r.out).toContain(`note: sandbox created in ${sandbox}`);
    expect(existsSync(join(sandbox, "state", "state.db"))).toBe(true);
  });
});
