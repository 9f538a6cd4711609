import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { evaluateOne } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("sysctl", {
  valid: ['sysctl "kernel.randomize_va_space" { value = 2 repair = set }', 'sysctl "net.ipv4.tcp_congestion_control" { value = "cubic" }'],
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
