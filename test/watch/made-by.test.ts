// AuditWho end to end over a log of its own (a temporary auditd.conf naming it) with a runner
// standing in for auditctl: the immutable mode (which cannot be made for real without locking the
// kernel's rules until reboot), the mutable one, and auditd not running. The real auditd is
// exercised in test/cli/watch-who.test.ts.
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Runner } from "../../src/watch/audit-control.ts";
import { AuditWho } from "../../src/watch/made-by.ts";

const root = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), "covenant-madeby-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = join(dir, "audit.log");
writeFileSync(log, "", { mode: 0o600 });
const conf = join(dir, "auditd.conf");
writeFileSync(conf, `log_file = ${log}\nwrite_logs = yes\n`, { mode: 0o600 });

const status = (enabled: number, pid: number) => `enabled ${enabled}\nfailure 1\npid ${pid}\n`;

function fake(enabled: number, pid: number, rules = ""): { run: Runner; calls: string[][] } {
  const calls: string[][] = [];
  const run: Runner = async (_file, args) => {
    calls.push(args);
    if (args[0] === "-s") return { code: 0, stdout: status(enabled, pid), stderr: "" };
    if (args[0] === "-l") return { code: 0, stdout: rules || "No rules\n", stderr: "" };
    return { code: 0, stdout: "", stderr: "" };
  };
  return { run, calls };
}

function write(path: string, serial: number, pid: number): void {
  const t = (Date.now() / 1000).toFixed(3);
  appendFileSync(log, [
    `type=SYSCALL msg=audit(${t}:${serial}): arch=c000003e syscall=2 success=yes exit=3 items=1 ppid=1 pid=${pid} auid=1000 uid=0 comm="vi" exe="/usr/bin/vi" key="covenant-watch"`,
    `type=PATH msg=audit(${t}:${serial}): item=0 name="${path}" inode=5 dev=08:01 nametype=NORMAL`,
    "",
  ].join("\n"));
}

describe.skipIf(!root)("AuditWho", () => {
  it("immutable rules: changes none, says which paths no rule covers with the lines to add, and attributes the covered ones", async () => {
    const { run, calls } = fake(2, 812, "-w /etc/sudoers -p wa -k sudoers\n");
    const who = new AuditWho({ run, confPath: conf, auditctl: "/usr/sbin/auditctl", waitMs: 100, userName: (u) => (u === 1000 ? "alice" : u === 0 ? "root" : undefined) });
    const notes = (await who.start(["/srv/a", "/etc/sudoers"])).join("\n");
    expect(notes).toMatch(/rules are immutable \(enabled 2\): Covenant changes none and uses the 1 watch rule loaded/);
    expect(notes).toContain("no loaded rule watches /srv/a");
    expect(notes).toContain("-w /srv/a -p wa -k covenant-watch");
    expect(calls).toEqual([["-s"], ["-l"]]);
    write("/etc/sudoers", 41, 4242);
    const since = Date.now() - 100;
    const found = await who.attribute([{ path: "/srv/a", files: [] }, { path: "/etc/sudoers", files: [] }], since);
    expect(found.get("/srv/a")).toEqual({ status: "unavailable", reason: expect.stringContaining("/etc/audit/rules.d/covenant.rules: -w /srv/a -p wa -k covenant-watch") });
    expect(found.get("/etc/sudoers")).toMatchObject({ status: "attributed", changes: [{ serial: 41, pid: 4242, uid: 0, user: "root", auid: 1000, loginUser: "alice", exe: "/usr/bin/vi", comm: "vi", syscall: "open" }] });
    expect(await who.stop()).toEqual([]);
    expect(calls).toEqual([["-s"], ["-l"]]);
  });

  it("mutable rules: adds its rules, waits a bounded time for records, none found said; removes them on stop", async () => {
    const { run, calls } = fake(1, 812);
    const who = new AuditWho({ run, confPath: conf, auditctl: "/usr/sbin/auditctl", waitMs: 100 });
    expect(await who.start(["/srv/b"])).toEqual(["audit: added watch rule (key covenant-watch) for /srv/b"]);
    const started = Date.now();
    const found = await who.attribute([{ path: "/srv/b", files: [] }], Date.now());
    expect(Date.now() - started).toBeLessThan(1000);
    expect(found.get("/srv/b")).toMatchObject({ status: "none-found", reason: expect.stringContaining("audit watches /srv/b and logged no change to it") });
    // a record arriving during the wait is taken
    setTimeout(() => write("/srv/b", 42, 99), 30);
    const later = await who.attribute([{ path: "/srv/b", files: [] }], Date.now());
    expect(later.get("/srv/b")).toMatchObject({ status: "attributed", changes: [{ pid: 99 }] });
    expect(await who.stop()).toEqual(["audit: removed watch rule for /srv/b"]);
    expect(calls.slice(1)).toEqual([["-w", "/srv/b", "-p", "wa", "-k", "covenant-watch"], ["-W", "/srv/b", "-p", "wa", "-k", "covenant-watch"]]);
  });

  it("never a rule on / (a glob starting at the root): it would log every write on the host", async () => {
    const { run, calls } = fake(1, 812);
    const who = new AuditWho({ run, confPath: conf, auditctl: "/usr/sbin/auditctl" });
    const notes = await who.start(["/", "/srv/e"]);
    expect(notes[0]).toMatch(/no rule is added for \//);
    expect(calls.filter((c) => c[0] === "-w")).toEqual([["-w", "/srv/e", "-p", "wa", "-k", "covenant-watch"]]);
    await who.stop();
  });

  it("auditd not running: unavailable, in words, for every path, at once", async () => {
    const { run } = fake(1, 0);
    const who = new AuditWho({ run, confPath: conf, auditctl: "/usr/sbin/auditctl" });
    expect(await who.start(["/srv/c"])).toEqual(["audit: who made a change cannot be told: auditd is not running (auditctl -s: pid 0): no audit log is written"]);
    const found = await who.attribute([{ path: "/srv/c", files: [] }], Date.now());
    expect(found.get("/srv/c")).toEqual({ status: "unavailable", reason: "auditd is not running (auditctl -s: pid 0): no audit log is written" });
  });

  it("a user flooding the log (16 MiB of their own creations in a watched tree) and a batch of 200 paths: attributed within seconds, not one pass over the log per path", async () => {
    const up = join(dir, "up");
    mkdirSync(up);
    const { run } = fake(1, 812);
    const who = new AuditWho({ run, confPath: conf, auditctl: "/usr/sbin/auditctl", waitMs: 100 });
    await who.start([up]);
    const t = (Date.now() / 1000).toFixed(3);
    const lines: string[] = [];
    let bytes = 0;
    for (let serial = 100_000; bytes < 16 << 20; serial++) {
      const event = [
        `type=SYSCALL msg=audit(${t}:${serial}): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=55 a2=241 a3=1b6 items=2 ppid=1 pid=4242 auid=4294967295 uid=65534 gid=65534 euid=65534 comm="sh" exe="/usr/bin/dash" key="covenant-watch"\x1dARCH=x86_64 SYSCALL=openat AUID="unset" UID="nobody"`,
        `type=CWD msg=audit(${t}:${serial}): cwd="${up}/x"`,
        `type=PATH msg=audit(${t}:${serial}): item=0 name="${up}/x/" inode=12 dev=08:01 mode=040755 nametype=PARENT`,
        `type=PATH msg=audit(${t}:${serial}): item=1 name="${up}/x/junk${serial}" inode=${serial} dev=08:01 mode=0100644 nametype=CREATE`,
      ].join("\n");
      lines.push(event);
      bytes += event.length + 1;
    }
    appendFileSync(log, `${lines.join("\n")}\n`);
    write(`${up}/f7.dat`, 99, 77);
    const started = Date.now();
    const found = await who.attribute(Array.from({ length: 200 }, (_, i) => ({ path: `${up}/f${i}.dat`, files: [{ dev: "8:1", ino: String(50_000_000 + i) }] })), Date.now() - 100);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(found.get(`${up}/f7.dat`)).toMatchObject({ status: "attributed", changes: [{ pid: 77 }] });
    expect(found.get(`${up}/f8.dat`)).toMatchObject({ status: "none-found" });
    await who.stop();
  }, 60_000);

  it("a log another user may write is not trusted", async () => {
    const open = join(dir, "open.log");
    writeFileSync(open, "");
    chmodSync(open, 0o666);
    const conf2 = join(dir, "auditd2.conf");
    writeFileSync(conf2, `log_file = ${open}\n`, { mode: 0o600 });
    const { run } = fake(1, 812);
    const who = new AuditWho({ run, confPath: conf2, auditctl: "/usr/sbin/auditctl" });
    expect((await who.start(["/srv/d"])).join()).toMatch(/the audit log cannot be trusted: .*open\.log may be written by users other than root/);
  });
});
