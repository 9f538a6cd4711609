import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { behavioursFor } from "../../src/evaluator/behaviours.ts";
import { read as readLocks, locksOnFile, splitDevice } from "../../src/probes/locks.ts";
import { evaluateOne } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("locks", {
  valid: ['locks "/srv/ledger/journal.dat" { min = 1 max = 4 kind = [posix, flock] access = write }', 'locks "/srv/*.dat" { holders = ["ledger-postd"] kind = ofd }'],
  invalid: [
    { promise: 'locks "/srv/a" { access = read }', code: "E104", message: /promises nothing/ },
    { promise: 'locks "/srv/a" { min = 3 max = 2 }', code: "E119" },
  ],
});

describe("locks behaviour", () => {
  const root = mkdtempSync(join(tmpdir(), "covenant-locks-"));
  const dir = join(root, "ledger");
  const journal = join(dir, "journal.dat");
  const ledger = join(dir, "ledger.dat");
  const children: ChildProcess[] = [];
  let flockPid = 0;
  let pythonPid = 0;
  let pythonComm = "";

  /** waits until /proc/locks shows what `ready` looks for (flock(1) gives no sign of having locked) */
  async function until(ready: () => boolean) {
    for (let i = 0; i < 200 && !ready(); i++) await new Promise((r) => setTimeout(r, 20));
    if (!ready()) throw new Error("the test's locks did not appear in /proc/locks");
  }
  const locksOn = (path: string) => {
    const all = readLocks({ proc: "/proc" });
    const on = all.ok ? locksOnFile(all.value, path) : undefined;
    return on?.ok ? on.value : [];
  };

  beforeAll(async () => {
    mkdirSync(dir);
    writeFileSync(journal, "j");
    writeFileSync(ledger, "l".repeat(100));
    writeFileSync(join(dir, "notes.txt"), "n");
    // detached: each child leads its own process group, so that cleanup also ends `sleep`
    const holder = spawn("flock", ["--exclusive", journal, "sleep", "60"], { stdio: "ignore", detached: true });
    children.push(holder);
    flockPid = holder.pid!;
    await until(() => locksOn(journal).some((l) => l.pid === flockPid && !l.blocked));
    // a second flock(1) waits for the first: /proc/locks lists it as a blocked waiter
    const waiter = spawn("flock", ["--exclusive", journal, "true"], { stdio: "ignore", detached: true });
    children.push(waiter);
    await until(() => locksOn(journal).some((l) => l.pid === waiter.pid && l.blocked));
    const py = "import fcntl,sys,time\nf=open(sys.argv[1],'r')\nfcntl.lockf(f,fcntl.LOCK_SH)\nprint('locked',flush=True)\ntime.sleep(60)";
    const python = spawn("python3", ["-c", py, ledger], { stdio: ["ignore", "pipe", "ignore"], detached: true });
    children.push(python);
    await new Promise<void>((resolve) => python.stdout!.once("data", () => resolve()));
    pythonPid = python.pid!;
    pythonComm = readFileSync(`/proc/${pythonPid}/comm`, "utf8").trim();
  });

  afterAll(() => {
    for (const c of children) if (c.pid && c.exitCode === null) process.kill(-c.pid, "SIGTERM");
  });

  it("is kept when the locks on the matching files are held by the allowed holders, within bounds", async () => {
    const r = await evaluateOne(`locks "${dir}/*.dat" { holders = ["flock", "${pythonComm}"] min = 2 max = 2 }`);
    expect([r.outcome, r.reason]).toEqual(["kept", "as promised"]);
  });

  it("does not count a blocked waiter as a held lock", async () => {
    expect(locksOn(journal).filter((l) => l.blocked)).toHaveLength(1);
    expect((await evaluateOne(`locks "${journal}" { max = 1 holders = ["flock"] }`)).outcome).toBe("kept");
  });

  it("reports each lock held by a process that is not an allowed holder", async () => {
    const r = await evaluateOne(`locks "${dir}/*.dat" { holders = ["ledger-postd"] }`);
    expect(r.outcome).toBe("drift");
    expect(r.differences).toEqual([
      { subject: journal, attribute: "holders", expected: "ledger-postd", observed: "flock", reason: `${journal}: flock write lock held by flock (pid ${flockPid}), not one of the allowed holders (ledger-postd)` },
      {
        subject: ledger,
        attribute: "holders",
        expected: "ledger-postd",
        observed: pythonComm,
        reason: `${ledger}: posix read lock held by ${pythonComm} (pid ${pythonPid}), not one of the allowed holders (ledger-postd)`,
      },
    ]);
  });

  it("counts only the promised kinds and access", async () => {
    expect((await evaluateOne(`locks "${dir}/*" { kind = flock min = 1 max = 1 }`)).outcome).toBe("kept");
    expect((await evaluateOne(`locks "${dir}/*" { kind = [posix, ofd] access = write max = 0 }`)).outcome).toBe("kept");
    const r = await evaluateOne(`locks "${dir}/*" { access = read max = 0 }`);
    expect(r.reason).toBe(`1 lock held on ${dir}/* (${ledger}: posix read lock held by ${pythonComm} (pid ${pythonPid})), at most 0 promised`);
  });

  it("reports too few locks, also when the glob matches nothing", async () => {
    const unlocked = await evaluateOne(`locks "${dir}/notes.txt" { min = 1 }`);
    expect(unlocked.differences).toEqual([{ attribute: "min", expected: "at least 1", observed: "0", reason: `0 locks held on ${dir}/notes.txt, at least 1 promised` }]);
    const none = await evaluateOne(`locks "${dir}/*.wal" { min = 1 }`);
    expect([none.reason, none.notes]).toEqual([`0 locks held on ${dir}/*.wal, at least 1 promised`, [`no file matches ${dir}/*.wal`]]);
  });

  it("notes a lock whose holder the kernel does not give (older kernels' OFD locks), without failing it", async () => {
    const proc = mkdtempSync(join(tmpdir(), "covenant-lockproc-"));
    const st = statSync(journal);
    const { major, minor } = splitDevice(st.dev);
    const hex = (n: number) => n.toString(16).padStart(2, "0");
    writeFileSync(join(proc, "locks"), `1: OFDLCK ADVISORY  WRITE -1 ${hex(major)}:${hex(minor)}:${st.ino} 0 EOF\n`);
    const r = await evaluateOne(`locks "${journal}" { holders = ["ledger-postd"] min = 1 }`, { roots: { proc, etc: "/etc" } });
    expect([r.outcome, r.notes]).toEqual(["kept", [`1 lock has no known holder (${journal}: not given by the kernel): not judged on \`holders\``]]);
  });

  it("names the files as the policy does when a sandbox maps them", async () => {
    const r = await evaluateOne(`locks "/ledger/*.dat" { holders = ["${pythonComm}"] }`, { filesRoot: root });
    expect(r.differences.map((d) => d.reason)).toEqual([`/ledger/journal.dat: flock write lock held by flock (pid ${flockPid}), not one of the allowed holders (${pythonComm})`]);
  });

  it("is an error, not `no locks`, when a named file or the lock table cannot be read", async () => {
    const missing = await evaluateOne(`locks "${dir}/gone.dat" { max = 0 }`);
    expect([missing.outcome, missing.reason]).toEqual(["error", `cannot observe the locks on ${dir}/gone.dat: ${dir}/gone.dat does not exist`]);
    const empty = mkdtempSync(join(tmpdir(), "covenant-noproc-"));
    const table = await evaluateOne(`locks "${journal}" { max = 0 }`, { roots: { proc: empty, etc: "/etc" } });
    expect([table.outcome, table.reason]).toEqual(["error", `cannot read the lock table: ${join(empty, "locks")} does not exist`]);
  });

  it("plans no changes: breaking a lock is never a repair", async () => {
    expect((await behavioursFor(["locks"])).get("locks")?.repair).toBeUndefined();
    const r = await evaluateOne(`locks "${journal}" { max = 0 }`);
    expect([r.outcome, r.changes]).toEqual(["drift", []]);
  });
});
