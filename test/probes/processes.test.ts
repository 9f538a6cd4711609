import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseBootTime, parseCmdline, parseStat, parseStatus, readBootTime, readExecutable, readProcess, readProcesses, startedAt } from "../../src/probes/processes.ts";
import { identityOfPath } from "../../src/probes/file-identity.ts";

const stat = (comm: string) => `4242 (${comm}) S 1 4242 4242 0 -1 4194560 120 0 0 0 1 2 0 0 20 0 1 0 987654 10000000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0`;

describe("process parsers", () => {
  it("reads names with spaces and parentheses", () => {
    expect(parseStat(stat("a) b (c"))).toEqual({ pid: 4242, comm: "a) b (c", state: "S", ppid: 1, startTicks: 987654 });
    expect(parseStat(stat("(sd-pam)"))?.comm).toBe("(sd-pam)");
    expect(parseStat(stat(""))?.comm).toBe("");
  });

  it("rejects truncated stat lines instead of reading zeros", () => {
    expect(parseStat("4242 (x) S 1 2")).toBeUndefined();
    expect(parseStat("garbage")).toBeUndefined();
  });

  it("finds the name of any comm between the first `(` and the last `)`", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 15 }).filter((s) => !s.includes("\n")), (comm) => {
        expect(parseStat(stat(comm))?.comm).toBe(comm);
      }),
    );
  });

  it("reads user and group ids from status, never an empty field as id 0", () => {
    expect(parseStatus("Name:\tpostgres\nUid:\t101\t102\t101\t101\nGid:\t104\t104\t104\t104\n")).toEqual({ name: "postgres", uid: 101, euid: 102, gid: 104 });
    expect(parseStatus("Name:\tx\n")).toBeUndefined();
    expect(parseStatus("Name:\tx\nUid:\t1000\t\nGid:\t1\t1\t1\t1\n")).toBeUndefined();
    expect(parseStatus("Name:\tx\nUid:\t1\t1\t1\t1\nGid:")).toBeUndefined();
  });

  it("gives no start time for absurd tick counts instead of failing", () => {
    expect(parseStat(stat("x").replace(" 987654 ", " 99999999999999999999 "))).toBeUndefined();
    expect(startedAt(1e18, 100)).toBeUndefined();
  });

  it("reads the boot time, and so the start time of a process, as ps does", () => {
    expect(parseBootTime("cpu  1 2 3\nbtime 1763900000\nprocesses 9\n")).toBe(1763900000 * 1000);
    expect(parseBootTime("cpu 1\n")).toBeUndefined();
    const boot = readBootTime({ proc: "/proc" })!;
    const me = readProcess({ proc: "/proc" }, process.pid);
    if (!me.ok) throw new Error(me.error.message);
    const ps = Number(execFileSync("date", ["-d", execFileSync("ps", ["-o", "lstart=", "-p", String(process.pid)], { encoding: "utf8" }).trim(), "+%s"], { encoding: "utf8" }));
    expect(Math.abs(startedAt(boot, me.value.startTicks)!.getTime() / 1000 - ps)).toBeLessThanOrEqual(1);
  });

  it("splits command lines on NUL", () => {
    expect(parseCmdline("/usr/bin/sleep\u000030\u0000")).toEqual(["/usr/bin/sleep", "30"]);
    expect(parseCmdline("")).toEqual([]);
  });
});

describe("processes on the live host", () => {
  it("reads a process whose name has a space and a parenthesis, as ps does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-proc-"));
    const exe = join(dir, "a) b");
    copyFileSync("/usr/bin/sleep", exe);
    execFileSync("chmod", ["+x", exe]);
    const child = spawn(exe, ["30"]);
    try {
      await new Promise((r) => setTimeout(r, 200));
      const r = readProcess({ proc: "/proc" }, child.pid!);
      if (!r.ok) throw new Error(r.error.message);
      expect(r.value.comm).toBe("a) b");
      expect(r.value.argv).toEqual([exe, "30"]);
      expect(r.value.ppid).toBe(process.pid);
      const ps = execFileSync("ps", ["-o", "comm=", "-p", String(child.pid)], { encoding: "utf8" }).trim();
      expect(r.value.comm).toBe(ps);
    } finally {
      child.kill();
    }
  });

  it("lists the same processes as ps, counting those that end mid-read as skips", () => {
    const r = readProcesses({ proc: "/proc" });
    if (!r.ok) throw new Error(r.error.message);
    const ps = new Set(execFileSync("ps", ["-e", "-o", "pid="], { encoding: "utf8" }).trim().split(/\s+/).map(Number));
    const mine = new Set(r.value.map((p) => p.pid));
    // processes come and go between the two reads; the long-lived ones must agree
    const missing = [...ps].filter((p) => !mine.has(p) && p < process.pid);
    expect(missing).toEqual([]);
    for (const s of r.skipped) expect(s.reason).toBe("process ended while being read");
  });

  it("says a vanished process is gone rather than inventing one", () => {
    const r = readProcess({ proc: "/proc" }, 2 ** 22 + 12345);
    expect(r).toMatchObject({ ok: false, error: { code: "not-found" } });
  });
});

describe("a process's executable (/proc/PID/exe)", () => {
  const started: { kill(): void }[] = [];
  const dir = mkdtempSync(join(tmpdir(), "covenant-exe-"));
  /** a copy of sleep at `path`, started; resolves once the kernel shows it running that file */
  async function startCopy(path: string): Promise<number> {
    copyFileSync("/usr/bin/sleep", path);
    execFileSync("chmod", ["755", path]);
    const child = spawn(path, ["30"]);
    started.push(child);
    await new Promise((r) => child.once("spawn", r));
    return child.pid!;
  }
  const me = () => {
    const r = readProcess({ proc: "/proc" }, process.pid);
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };

  it("names the program the kernel started, whatever the process calls itself", async () => {
    const path = join(dir, "postgres");
    const pid = await startCopy(path);
    const table = readProcess({ proc: "/proc" }, pid);
    expect(table.ok && table.value.comm).toBe("postgres");
    expect(readExecutable({ proc: "/proc" }, pid)).toEqual({ ok: true, value: { path, deleted: false, file: identityOfPath(path, true) }, skipped: [] });
    expect(readExecutable({ proc: "/proc" }, process.pid, me())).toMatchObject({ ok: true, value: { path: process.execPath } });
    for (const c of started.splice(0)) c.kill();
  });

  it("tells a program deleted since it started from a path that ends in \" (deleted)\"", async () => {
    const gone = join(dir, "ledger-postd");
    const pid = await startCopy(gone);
    rmSync(gone);
    expect(readExecutable({ proc: "/proc" }, pid)).toMatchObject({ ok: true, value: { path: gone, deleted: true } });
    const literal = join(dir, "odd (deleted)");
    const pid2 = await startCopy(literal);
    expect(readExecutable({ proc: "/proc" }, pid2)).toMatchObject({ ok: true, value: { path: literal, deleted: false } });
    for (const c of started.splice(0)) c.kill();
  });

  it("is not-found, never another process's program, when the pid was reused or the process ran another program", () => {
    const self = me();
    expect(readExecutable({ proc: "/proc" }, process.pid, { ...self, startTicks: self.startTicks + 1 })).toMatchObject({ ok: false, error: { code: "not-found" } });
    expect(readExecutable({ proc: "/proc" }, process.pid, { ...self, comm: "other" })).toMatchObject({ ok: false, error: { code: "not-found" } });
    expect(readExecutable({ proc: "/proc" }, 2 ** 22 + 12345)).toMatchObject({ ok: false, error: { code: "not-found" } });
  });

  it("gives no executable for a kernel thread, and an error for a link it cannot read", () => {
    if (readFileSync("/proc/2/comm", "utf8").trim() === "kthreadd") expect(readExecutable({ proc: "/proc" }, 2)).toEqual({ ok: true, value: null, skipped: [] });
    // a proc tree where the link is not a link: the error is reported, not read as "no program"
    const proc = mkdtempSync(join(tmpdir(), "covenant-exeproc-"));
    mkdirSync(join(proc, "42"));
    writeFileSync(join(proc, "42", "stat"), "42 (x) S 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
    mkdirSync(join(proc, "42", "exe"));
    expect(readExecutable({ proc }, 42)).toMatchObject({ ok: false, error: { code: "io" } });
    rmSync(join(proc, "42", "exe"), { recursive: true });
    symlinkSync("/usr/sbin/in.telnetd", join(proc, "42", "exe"));
    expect(readExecutable({ proc }, 42, { startTicks: 100, comm: "x" })).toEqual({ ok: true, value: { path: "/usr/sbin/in.telnetd", deleted: false }, skipped: [] });
  });
});
