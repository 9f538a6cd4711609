// Who may hold a lock, judged on what a process cannot forge: `locks` (holders, holder_exe,
// holder_user) and `file` (locked_by, locked_by_exe, locked_by_user) share one rule. Real locks,
// taken by a copy of flock(1) renamed to the name of the service it pretends to be.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { splitDevice } from "../../src/probes/locks.ts";
import { evaluateOne } from "../helpers/evaluate.ts";

const root = mkdtempSync(join(tmpdir(), "covenant-holders-"));
const children: ChildProcess[] = [];

/** Starts `program` holding an exclusive flock on `file` for a minute; resolves with its pid once /proc/locks shows it. */
async function holdLock(program: string, file: string, uid?: number): Promise<number> {
  const child = spawn(program, ["--exclusive", file, "sleep", "60"], { stdio: "ignore", detached: true, ...(uid !== undefined ? { uid, gid: uid } : {}) });
  children.push(child);
  await new Promise((resolve, reject) => child.once("spawn", resolve).once("error", reject));
  const ino = statSync(file).ino;
  for (let i = 0; i < 200; i++) {
    if (readFileSync("/proc/locks", "utf8").split("\n").some((l) => l.includes(`:${ino} `) && l.includes(` ${child.pid} `))) return child.pid!;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${program} did not lock ${file}`);
}

const ledger = join(root, "srv");
const journal = join(ledger, "journal.dat");
const shared = join(ledger, "shared.dat");
const binDir = join(root, "bin");
/** an impostor: flock(1) under the posting service's name, so the kernel's comm says `ledger-postd` */
const impostor = join(binDir, "ledger-postd");
let impostorPid = 0;
let nobodyPid = 0;

beforeAll(async () => {
  // `nobody` must reach the files and run the copy
  for (const d of [root, ledger, binDir]) {
    mkdirSync(d, { recursive: true });
    chmodSync(d, 0o755);
  }
  writeFileSync(journal, "j");
  writeFileSync(shared, "s");
  chmodSync(shared, 0o644);
  copyFileSync("/usr/bin/flock", impostor);
  chmodSync(impostor, 0o755);
  impostorPid = await holdLock(impostor, journal);
  nobodyPid = await holdLock("/usr/bin/flock", shared, 65534);
});

afterAll(() => {
  for (const c of children) if (c.pid && c.exitCode === null) process.kill(-c.pid, "SIGKILL");
});

describe("lock holders judged by name, program and user", () => {
  it("a name alone is fooled by an impostor; the program is not", async () => {
    expect(await evaluateOne(`locks "${journal}" { holders = ["ledger-postd"] }`)).toMatchObject({ outcome: "kept" });
    const r = await evaluateOne(`locks "${journal}" { holders = ["ledger-postd"] holder_exe = "/usr/local/bin/ledger-postd" }`);
    expect(r.outcome).toBe("drift");
    expect(r.differences).toEqual([
      {
        subject: journal,
        attribute: "holder_exe",
        expected: "/usr/local/bin/ledger-postd",
        observed: impostor,
        reason: `${journal}: flock write lock held by ledger-postd (pid ${impostorPid}, ${impostor}), which does not run an allowed program (/usr/local/bin/ledger-postd)`,
      },
    ]);
    expect(await evaluateOne(`locks "${journal}" { holder_exe = ["${impostor}"] }`)).toMatchObject({ outcome: "kept" });

    const file = await evaluateOne(`file "${journal}" { locked_by = ["ledger-postd"] locked_by_exe = "/usr/local/bin/ledger-postd" }`);
    expect(file).toMatchObject({
      outcome: "drift",
      reason: `${journal} is locked by ledger-postd (pid ${impostorPid}, ${impostor}), which does not run an allowed program (/usr/local/bin/ledger-postd)`,
      differences: [expect.objectContaining({ attribute: "locked_by_exe", observed: impostor })],
    });
    expect(await evaluateOne(`file "${journal}" { locked_by_exe = "${impostor}" }`)).toMatchObject({ outcome: "kept" });
  });

  it("judges the user on the effective uid, by name or number", async () => {
    const r = await evaluateOne(`locks "${shared}" { holder_user = ["root"] }`);
    expect(r.differences).toEqual([
      {
        subject: shared,
        attribute: "holder_user",
        expected: "root",
        observed: "nobody",
        reason: `${shared}: flock write lock held by flock (pid ${nobodyPid}, user nobody), which does not run as an allowed user (root)`,
      },
    ]);
    expect(await evaluateOne(`locks "${shared}" { holder_user = ["nobody"] }`)).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne(`file "${shared}" { locked_by_user = ["65534"] }`)).toMatchObject({ outcome: "kept" });
    const unknown = await evaluateOne(`file "${shared}" { locked_by_user = ["cvt-no-such-user"] }`);
    expect(unknown.reason).toBe(`${shared} is locked by flock (pid ${nobodyPid}, user nobody), which does not run as an allowed user (cvt-no-such-user; cvt-no-such-user does not exist on this host)`);
  });

  it("does not allow a holder whose program was deleted or replaced since it started", async () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-holders-upgrade-"));
    const program = join(dir, "ledger-postd");
    copyFileSync("/usr/bin/flock", program);
    chmodSync(program, 0o755);
    const file = join(dir, "wal.dat");
    writeFileSync(file, "w");
    await holdLock(program, file);
    rmSync(program);
    const r = await evaluateOne(`locks "${file}" { holder_exe = "${program}" }`);
    expect(r).toMatchObject({ outcome: "drift", reason: expect.stringContaining(`${program} (deleted or replaced since it started: not the installed program)`) });
  });

  it("is an error, never a pass, when a holder's program cannot be read", async () => {
    // a /proc whose lock holder's exe link cannot be read as a link
    const proc = mkdtempSync(join(tmpdir(), "covenant-holders-proc-"));
    const st = statSync(journal);
    const { major, minor } = splitDevice(st.dev);
    const hex = (n: number) => n.toString(16).padStart(2, "0");
    writeFileSync(join(proc, "locks"), `1: FLOCK  ADVISORY  WRITE 42 ${hex(major)}:${hex(minor)}:${st.ino} 0 EOF\n`);
    mkdirSync(join(proc, "42", "exe"), { recursive: true });
    writeFileSync(join(proc, "42", "stat"), "42 (ledger-postd) S 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
    writeFileSync(join(proc, "42", "status"), "Name:\tledger-postd\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n");
    writeFileSync(join(proc, "42", "cmdline"), "ledger-postd\0");
    const roots = { roots: { proc, etc: "/etc" } };
    const locks = await evaluateOne(`locks "${journal}" { holder_exe = "/usr/local/bin/ledger-postd" }`, roots);
    expect(locks).toMatchObject({ outcome: "error", reason: expect.stringMatching(new RegExp(`^cannot tell who holds the locks on ${journal}: the program of ledger-postd \\(pid 42\\) cannot be read: cannot read ${proc}/42/exe`)) });
    const file = await evaluateOne(`file "${journal}" { locked_by_exe = "/usr/local/bin/ledger-postd" }`, roots);
    expect(file.outcome).toBe("error");
    // names alone need no program: the same table is judged
    expect(await evaluateOne(`locks "${journal}" { holders = ["ledger-postd"] }`, roots)).toMatchObject({ outcome: "kept" });
  });
});
