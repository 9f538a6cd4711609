import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { keyToPath, normalise, read } from "../../src/probes/sysctl.ts";
import { ensureDebianTool } from "../helpers/debian-package.ts";

// sysctl (Debian's procps, absent from a minimal image) is installed when missing
const sysctlMissing = ensureDebianTool("sysctl", "procps");

describe("sysctl probe", () => {
  it("maps dotted keys to /proc/sys paths and rejects others", () => {
    expect(keyToPath("net.ipv4.ip_forward")).toBe("net/ipv4/ip_forward");
    expect(keyToPath("../etc/passwd")).toBeUndefined();
    expect(keyToPath("kernel")).toBeUndefined();
    expect(keyToPath("net.ipv4.conf.eth0/100.rp_filter")).toBe("net/ipv4/conf/eth0.100/rp_filter");
    expect(keyToPath("net.ipv4.conf./etc.x")).toBeUndefined();
  });
  it("folds white space as sysctl prints it", () => {
    expect(normalise("4096\t16384\t4194304\n")).toBe("4096 16384 4194304");
  });
  it("reads a fixture, and says when a key does not exist", () => {
    expect(read({ proc: "test/fixtures/proc/debian12-vm" }, "net.ipv4.ip_forward").ok).toBe(true);
    expect(read({ proc: "/proc" }, "net.ipv4.no_such_key")).toMatchObject({ ok: false, error: { code: "not-found" } });
    expect(read({ proc: "/proc" }, "net.ipv4")).toMatchObject({ ok: false, error: { code: "malformed" } });
  });
  it.skipIf(sysctlMissing !== undefined)(`agrees with sysctl(8) on the live host${sysctlMissing ? ` (skipped: ${sysctlMissing})` : ""}`, () => {
    for (const key of ["net.ipv4.ip_forward", "kernel.randomize_va_space", "net.ipv4.tcp_rmem", "fs.file-max"]) {
      const r = read({ proc: "/proc" }, key);
      expect(r.ok && r.value, key).toBe(normalise(execFileSync("sysctl", ["-n", key], { encoding: "utf8" })));
    }
  });
});
