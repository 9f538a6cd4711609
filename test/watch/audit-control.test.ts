// What Covenant can do with audit (pure: decideAudit fed `auditctl -s` text, since the immutable
// mode cannot be tested for real: `auditctl -e 2` locks the kernel's rules until reboot), the
// rules it reads back, and the audit log read as it grows and rotates.
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AuditRules, covers, decideAudit, parseAuditRules, parseAuditStatus, ruleLine, type Runner } from "../../src/watch/audit-control.ts";
import { AuditLogTail, parseAuditdConf } from "../../src/watch/audit-log.ts";
import { auditPaths } from "../../src/watch/made-by.ts";

const status = (enabled: number, pid: number) => `enabled ${enabled}\nfailure 1\npid ${pid}\nrate_limit 0\nbacklog_limit 8192\nlost 0\nbacklog 0\nbacklog_wait_time 60000\nbacklog_wait_time_actual 0\nloginuid_immutable 0 unlocked\n`;
const facts = (text: string) => ({ root: true, auditctl: "/usr/sbin/auditctl", status: { ok: true as const, text } });

describe("deciding what audit can do", () => {
  it("enabled 1 with auditd running: rules may be added; enabled 2: immutable, nothing changed", () => {
    expect(parseAuditStatus(status(2, 812))).toEqual({ enabled: 2, pid: 812 });
    expect(decideAudit(facts(status(1, 812)))).toEqual({ mode: "mutable" });
    expect(decideAudit(facts(status(2, 812)))).toEqual({ mode: "immutable" });
  });

  it("unavailable, in words: not root, no tools, the kernel refusing, audit disabled, no auditd", () => {
    const reason = (f: Parameters<typeof decideAudit>[0]) => {
      const d = decideAudit(f);
      return d.mode === "unavailable" ? d.reason : d.mode;
    };
    expect(reason({ ...facts(status(1, 1)), root: false })).toMatch(/needs root/);
    expect(reason({ root: true, status: { ok: false, error: "x" } })).toMatch(/not installed \(Debian: apt-get install auditd\)/);
    expect(reason({ root: true, auditctl: "/usr/sbin/auditctl", status: { ok: false, error: "Error sending status request (Operation not permitted)" } })).toMatch(/cannot be read .*Operation not permitted.*may not allow audit/);
    expect(reason(facts(status(0, 0)))).toMatch(/disabled in the kernel/);
    expect(reason(facts(status(1, 0)))).toMatch(/auditd is not running/);
    expect(reason(facts("garbage"))).toMatch(/did not say/);
  });
});

describe("audit rules", () => {
  it("reads the watch rules of auditctl -l, and which paths they cover", () => {
    const rules = parseAuditRules(["-w /srv/ledger/ -p wa -k ledger", "-w /etc/shadow -p r", "-w /etc/sudoers -p wa", "-a always,exit -F arch=b64 -S openat -F dir=/opt/app -F perm=w -F key=app", "No rules"].join("\n"));
    expect(rules).toEqual([
      { path: "/srv/ledger/", perms: "wa", tree: true, key: "ledger" },
      { path: "/etc/sudoers", perms: "wa", tree: false },
      { path: "/opt/app", perms: "w", tree: true, key: "app" },
    ]);
    expect(covers(rules[0]!, "/srv/ledger/a/b")).toBe(true);
    expect(covers(rules[0]!, "/srv/ledgerx")).toBe(false);
    expect(covers(rules[1]!, "/etc/sudoers")).toBe(true);
    expect(covers(rules[1]!, "/etc/sudoers.d/x")).toBe(false);
    expect(covers({ path: "/srv", perms: "wa", tree: false }, "/srv/x", (p) => p === "/srv")).toBe(true);
    expect(ruleLine("/srv/ledger")).toBe("-w /srv/ledger -p wa -k covenant-watch");
  });

  it("the paths a policy's realtime promises need rules for: the file, the directory, a glob's literal start", () => {
    expect(auditPaths([
      { key: "a", type: "file", pattern: "/etc/sudoers", depth: 0 },
      { key: "b", type: "directory", pattern: "/srv/ledger", depth: 16 },
      { key: "c", type: "file", pattern: "/opt/app/*.conf", depth: 0 },
      { key: "d", type: "file", pattern: "/etc/sudoers", depth: 0 },
    ])).toEqual(["/etc/sudoers", "/srv/ledger", "/opt/app"]);
  });

  it("adds rules through argv, removes exactly those it added, and leaves one already loaded", async () => {
    const calls: string[][] = [];
    const run: Runner = async (file, args) => {
      calls.push([file, ...args]);
      if (args[1] === "/exists") return { code: 255, stdout: "", stderr: "Error sending add rule data request (Rule exists)" };
      if (args[1] === "/bad") return { code: 255, stdout: "", stderr: "Error sending add rule data request (No such file or directory)" };
      return { code: 0, stdout: "", stderr: "" };
    };
    const rules = new AuditRules("/usr/sbin/auditctl", run);
    const notes = await rules.sync(["/a", "/exists", "/bad"]);
    expect(notes.join("\n")).toMatch(/already loaded .*left in place/);
    expect(notes.join("\n")).toMatch(/cannot add a watch rule for \/bad/);
    expect(notes.join("\n")).toMatch(/added watch rule \(key covenant-watch\) for \/a/);
    expect(calls[0]).toEqual(["/usr/sbin/auditctl", "-w", "/a", "-p", "wa", "-k", "covenant-watch"]);
    calls.length = 0;
    expect(await rules.sync(["/a", "/b"])).toEqual(["audit: added watch rule (key covenant-watch) for /b"]);
    calls.length = 0;
    expect(await rules.sync(["/b"])).toEqual(["audit: removed watch rule for /a"]);
    expect(calls).toEqual([["/usr/sbin/auditctl", "-W", "/a", "-p", "wa", "-k", "covenant-watch"]]);
    calls.length = 0;
    await rules.removeAll();
    expect(calls).toEqual([["/usr/sbin/auditctl", "-W", "/b", "-p", "wa", "-k", "covenant-watch"]]);
    expect(rules.addedPaths()).toEqual([]);
  });
});

describe("the audit log, read as it grows", () => {
  const dir = mkdtempSync(join(tmpdir(), "covenant-auditlog-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const rec = (serial: number) => `type=SYSCALL msg=audit(${Math.floor(Date.now() / 1000)}.000:${serial}): arch=c000003e syscall=2 success=yes pid=${serial} uid=0 items=1\n`;

  it("reads only what is appended after it opened, a line split across writes once, and across a rotation", () => {
    const log = join(dir, "audit.log");
    writeFileSync(log, rec(1));
    const tail = new AuditLogTail(log);
    expect(tail.poll()).toEqual([]);
    const line = rec(2);
    appendFileSync(log, line.slice(0, 20));
    expect(tail.poll()).toEqual([]);
    appendFileSync(log, line.slice(20));
    expect(tail.poll().map((e) => e.serial)).toEqual([2]);
    // rotation: what was written to the old file before it was renamed is read, then the new one
    appendFileSync(log, rec(3));
    renameSync(log, `${log}.1`);
    writeFileSync(log, rec(4));
    expect(tail.poll().map((e) => e.serial)).toEqual([2, 3, 4]);
    // truncated in place (auditd itself never does): seen when the log is shorter than what was read
    truncateSync(log, 0);
    tail.poll();
    appendFileSync(log, rec(5));
    expect(tail.poll().map((e) => e.serial)).toEqual([2, 3, 4, 5]);
    tail.close();
  });

  it("auditd.conf: the log file and whether logs are written", () => {
    expect(parseAuditdConf("log_file = /var/log/a.log\nwrite_logs = no\n")).toEqual({ logFile: "/var/log/a.log", writeLogs: false });
    expect(parseAuditdConf("# nothing\n")).toEqual({ logFile: "/var/log/audit/audit.log", writeLogs: true });
  });
});
