import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { evaluateOne, type EvaluateOptions } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("sysctl", {
  valid: ['sysctl "kernel.randomize_va_space" { value = 2 repair = set }', 'sysctl "kernel.kptr_restrict" { value = 2 persistent = true repair = set }', 'sysctl "net.ipv4.tcp_congestion_control" { value = "cubic" }'],
  invalid: [
    { promise: 'sysctl "ip_forward" { value = 0 }', code: "E103", message: /a dotted key/ },
    { promise: 'sysctl "net.ipv4.ip_forward" { repair = set }', code: "E104", message: "`sysctl` promise needs `value`" },
  ],
});

// A fixture proc root: parameters as files under <root>/sys, so that repairs never touch the
// real /proc/sys. A parameter the kernel silently ignores is a link to /dev/null; one it
// refuses is a link to /proc/version, which rejects every write.
let proc = "";

function parameter(key: string, value: string): string {
  const path = join(proc, "sys", ...key.split(".").map((part) => part.replace(/\//g, ".")));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, value);
  return path;
}

function linkedParameter(key: string, target: string): string {
  const path = parameter(key, "");
  rmSync(path);
  symlinkSync(target, path);
  return path;
}

describe("sysctl behaviour", () => {
  beforeEach(() => {
    proc = mkdtempSync(join(tmpdir(), "cvt-sysctl-"));
  });
  const fixture = () => ({ roots: { proc, etc: "/etc" } });

  it("is kept when the value is as promised, with white space folded", async () => {
    parameter("kernel.randomize_va_space", "2\n");
    parameter("net.ipv4.tcp_rmem", "4096\t131072\t6291456\n");
    expect(await evaluateOne('sysctl "kernel.randomize_va_space" { value = 2 }', fixture())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('sysctl "net.ipv4.tcp_rmem" { value = " 4096 131072   6291456" }', fixture())).toMatchObject({ outcome: "kept" });
    // the real /proc/sys, only read
    expect(await evaluateOne('sysctl "kernel.ostype" { value = "Linux" }')).toMatchObject({ outcome: "kept" });
  });

  it("drifts when the value differs and no repair is declared", async () => {
    parameter("net.ipv4.ip_forward", "1\n");
    expect(await evaluateOne('sysctl "net.ipv4.ip_forward" { value = 0 }', fixture())).toMatchObject({
      outcome: "drift",
      reason: 'net.ipv4.ip_forward is "1", promised "0"',
      differences: [{ subject: "net.ipv4.ip_forward", attribute: "value", expected: "0", observed: "1" }],
      changes: [],
    });
  });

  it("writes the promised value to the parameter's file", async () => {
    const path = parameter("net.ipv4.ip_forward", "1\n");
    const r = await evaluateOne('sysctl "net.ipv4.ip_forward" { value = 0 repair = set }', fixture());
    expect(r).toMatchObject({ outcome: "repaired", reason: 'net.ipv4.ip_forward is "1", promised "0"; fixed: sysctl net.ipv4.ip_forward=0' });
    expect(r.changes).toEqual([expect.objectContaining({ status: "applied", change: { op: "sysctl", key: "net.ipv4.ip_forward", path, value: "0" } })]);
    expect(readFileSync(path, "utf8")).toBe("0\n");
  });

  it("promises every parameter a `*` names, and sets those that differ", async () => {
    const all = parameter("net.ipv4.conf.all.rp_filter", "1\n");
    const vlan = parameter("net.ipv4.conf.eth0/100.rp_filter", "0\n");
    mkdirSync(join(proc, "sys", "net", "ipv4", "conf", "lo")); // no rp_filter here: not a parameter
    const r = await evaluateOne('sysctl "net.ipv4.conf.*.rp_filter" { value = 1 repair = set }', fixture());
    expect(r).toMatchObject({ outcome: "repaired", reason: expect.stringMatching(/; fixed: sysctl net\.ipv4\.conf\.eth0\/100\.rp_filter=1$/) });
    expect([readFileSync(all, "utf8"), readFileSync(vlan, "utf8")]).toEqual(["1\n", "1\n"]);
    expect(await evaluateOne('sysctl "net.ipv6.conf.*.rp_filter" { value = 1 }', fixture())).toMatchObject({
      outcome: "error",
      reason: `no kernel parameter matches net.ipv6.conf.*.rp_filter (under ${join(proc, "sys")})`,
    });
  });

  it("fails when the kernel ignores or refuses the value", async () => {
    linkedParameter("vm.ignored", "/dev/null");
    expect(await evaluateOne('sysctl "vm.ignored" { value = 1 repair = set }', fixture())).toMatchObject({
      outcome: "failed",
      reason: 'still not as promised after repair: vm.ignored is "", promised "1"',
    });
    linkedParameter("vm.refused", "/proc/version");
    expect(await evaluateOne('sysctl "vm.refused" { value = 1 repair = set }', fixture())).toMatchObject({
      outcome: "failed",
      reason: expect.stringMatching(/^repair failed: sysctl vm.refused=1: EIO/),
    });
  });

  it("is an error when the parameter does not exist", async () => {
    parameter("net.ipv4.ip_forward", "0\n");
    expect(await evaluateOne('sysctl "net.ipv4.no_such_key" { value = 0 }', fixture())).toMatchObject({
      outcome: "error",
      reason: `no such kernel parameter: net.ipv4.no_such_key (${join(proc, "sys", "net", "ipv4", "no_such_key")} does not exist)`,
    });
    expect(await evaluateOne('sysctl "net.ipv4" { value = 0 }', fixture())).toMatchObject({ outcome: "error", reason: "`net.ipv4` is a group of parameters, not one" });
  });

  it("in a dry run, plans the write and leaves the parameter as it is", async () => {
    const path = parameter("net.ipv4.ip_forward", "1\n");
    const r = await evaluateOne('sysctl "net.ipv4.ip_forward" { value = 0 repair = set }', { ...fixture(), dryRun: true });
    expect(r).toMatchObject({ outcome: "drift", reason: 'net.ipv4.ip_forward is "1", promised "0" (dry run: repair not applied)' });
    expect(r.changes).toEqual([expect.objectContaining({ status: "planned", change: { op: "sysctl", key: "net.ipv4.ip_forward", path, value: "0" } })]);
    expect(readFileSync(path, "utf8")).toBe("1\n");
  });
});

// `persistent = true`: the configuration read at boot, from a copy of a fixture root read and
// repaired as a sandbox's (never the host's /etc); runtime values from a fixture proc root.
describe("sysctl persistent", () => {
  let root = "";
  beforeEach(() => {
    proc = mkdtempSync(join(tmpdir(), "cvt-sysctl-"));
    root = join(proc, "root");
    cpSync("test/fixtures/roots/sysctl-mixed", root, { recursive: true });
  });
  const sandbox = (extra: EvaluateOptions = {}): EvaluateOptions => ({ roots: { proc, etc: join(root, "etc") }, filesRoot: root, confineTo: root, ...extra });
  const own = (key: string) => join(root, "etc", "sysctl.d", `99-covenant-${key}.conf`);

  it("is kept when every file that sets the key sets the promised value, and says which line wins at boot", async () => {
    parameter("net.ipv6.conf.all.accept_ra", "0\n");
    const r = await evaluateOne('sysctl "net.ipv6.conf.all.accept_ra" { value = 0 persistent = true }', sandbox());
    expect(r).toMatchObject({ outcome: "kept" });
    expect(r.notes).toContain(
      'net.ipv6.conf.all.accept_ra at boot: /etc/sysctl.d/60-ipv6.conf:1 = "0" (applies last: wins at boot); /run/sysctl.d/60-ipv6.conf:2 = "1" (not read: hidden by /etc/sysctl.d/60-ipv6.conf)',
    );
    // only /usr/lib sets it: judged there, as the SCAP Security Guide does
    parameter("kernel.sysrq", "16\n");
    expect(await evaluateOne('sysctl "kernel.sysrq" { value = 16 persistent = true }', sandbox())).toMatchObject({ outcome: "kept" });
    // written with `/` separators in the file
    parameter("net.ipv4.conf.all.send_redirects", "0\n");
    expect(await evaluateOne('sysctl "net.ipv4.conf.all.send_redirects" { value = 0 persistent = true }', sandbox())).toMatchObject({ outcome: "kept" });
  });

  it("drifts when the runtime value holds but nothing sets it at boot", async () => {
    parameter("vm.swappiness", "10\n");
    expect(await evaluateOne('sysctl "vm.swappiness" { value = 10 }', sandbox())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('sysctl "vm.swappiness" { value = 10 persistent = true }', sandbox())).toMatchObject({
      outcome: "drift",
      reason: "vm.swappiness is set by no sysctl.d file and not in /etc/sysctl.conf: at boot it keeps the kernel's default",
      differences: [{ subject: "vm.swappiness", attribute: "persistent", expected: "10", observed: "not set" }],
    });
  });

  it("drifts on every file outside /usr/lib that sets another value", async () => {
    parameter("net.ipv4.ip_forward", "0\n");
    expect(await evaluateOne('sysctl "net.ipv4.ip_forward" { value = 0 persistent = true }', sandbox())).toMatchObject({
      outcome: "drift",
      reason: 'net.ipv4.ip_forward is set to "1" at /run/sysctl.d/20-forward.conf:1, promised "0"',
    });
    // /etc/sysctl.conf (read last) sets 2: the earlier line of 10-hardening.conf still counts
    parameter("kernel.kptr_restrict", "2\n");
    expect(await evaluateOne('sysctl "kernel.kptr_restrict" { value = 2 persistent = true }', sandbox())).toMatchObject({
      outcome: "drift",
      reason: 'kernel.kptr_restrict is set to "1" at /etc/sysctl.d/10-hardening.conf:8, promised "2"',
    });
    parameter("fs.protected_symlinks", "0\n");
    expect(await evaluateOne('sysctl "fs.protected_symlinks" { value = 0 persistent = true }', sandbox())).toMatchObject({ outcome: "drift", reason: 'fs.protected_symlinks is set to "1" at /usr/lib/sysctl.d/50-default.conf:3, promised "0"' });
  });

  it("drifts when a later file undoes the promised value at boot, though every file outside /usr/lib holds it", async () => {
    parameter("kernel.randomize_va_space", "2\n");
    expect(await evaluateOne('sysctl "kernel.randomize_va_space" { value = 2 persistent = true }', sandbox())).toMatchObject({
      outcome: "drift",
      reason: 'at boot kernel.randomize_va_space is set to "1" by /usr/lib/sysctl.d/protect-links.conf:2, which applies last, promised "2"',
    });
  });

  it("judges each key a `*` names, an explicit line over a glob", async () => {
    parameter("net.ipv4.conf.all.rp_filter", "2\n");
    parameter("net.ipv4.conf.eth0/100.rp_filter", "2\n");
    expect(await evaluateOne('sysctl "net.ipv4.conf.*.rp_filter" { value = 2 persistent = true }', sandbox())).toMatchObject({
      outcome: "drift",
      differences: [{ subject: "net.ipv4.conf.eth0/100.rp_filter", attribute: "persistent", observed: "1" }],
    });
  });

  it("writes a sysctl.d file of its own, and is kept afterwards", async () => {
    const path = parameter("vm.swappiness", "60\n");
    const promise = 'sysctl "vm.swappiness" { value = 10 persistent = true repair = set }';
    const r = await evaluateOne(promise, sandbox({ confineTo: undefined }));
    expect(r).toMatchObject({ outcome: "repaired" });
    expect(r.changes.map((c) => [c.change.op, c.status])).toEqual([
      ["sysctl", "applied"],
      ["write", "applied"],
    ]);
    expect(readFileSync(path, "utf8")).toBe("10\n");
    expect(readFileSync(own("vm.swappiness"), "utf8")).toBe("# Written by Covenant (sysctl vm.swappiness). Covenant rewrites this file while a policy promises it.\nvm.swappiness = 10\n");
    const again = await evaluateOne(promise, sandbox());
    expect(again).toMatchObject({ outcome: "kept", changes: [] });
    expect(again.notes).toContain('vm.swappiness at boot: /etc/sysctl.d/99-covenant-vm.swappiness.conf:2 = "10" (applies last: wins at boot)');
  });

  it("in a sandbox, writes its file there and holds the runtime write", async () => {
    parameter("vm.swappiness", "60\n");
    rmSync(join(root, "etc", "sysctl.d"), { recursive: true });
    const r = await evaluateOne('sysctl "vm.swappiness" { value = 10 persistent = true repair = set }', sandbox());
    expect(r.changes.map((c) => [c.change.op, c.status])).toEqual([
      ["sysctl", "held"],
      ["mkdir", "applied"],
      ["write", "applied"],
    ]);
    expect(readFileSync(own("vm.swappiness"), "utf8")).toContain("vm.swappiness = 10\n");
  });

  it("fails when another file still sets another value, and names it", async () => {
    parameter("net.ipv4.ip_forward", "0\n");
    const r = await evaluateOne('sysctl "net.ipv4.ip_forward" { value = 0 persistent = true repair = set }', sandbox());
    expect(r).toMatchObject({ outcome: "failed", reason: 'still not as promised after repair: net.ipv4.ip_forward is set to "1" at /run/sysctl.d/20-forward.conf:1, promised "0"' });
    expect(readFileSync(own("net.ipv4.ip_forward"), "utf8")).toContain("net.ipv4.ip_forward = 0\n");
  });

  it("fails, writing nothing through it, when its file's path is a link", async () => {
    parameter("vm.swappiness", "10\n");
    const target = join(proc, "elsewhere");
    writeFileSync(target, "kept\n");
    symlinkSync(target, own("vm.swappiness"));
    const r = await evaluateOne('sysctl "vm.swappiness" { value = 10 persistent = true repair = set }', sandbox());
    expect(r).toMatchObject({ outcome: "failed", reason: expect.stringMatching(/^repair failed: write .*99-covenant-vm\.swappiness\.conf.*is a symbolic link/) });
    expect(readFileSync(target, "utf8")).toBe("kept\n");
  });

  it("in a dry run, plans its file and writes nothing", async () => {
    parameter("vm.swappiness", "10\n");
    const r = await evaluateOne('sysctl "vm.swappiness" { value = 10 persistent = true repair = set }', sandbox({ dryRun: true }));
    expect(r).toMatchObject({ outcome: "drift" });
    expect(r.changes.map((c) => [c.change.op, c.status])).toEqual([["write", "planned"]]);
    expect(existsSync(own("vm.swappiness"))).toBe(false);
  });
});
