import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { below, listConfFiles } from "../../src/probes/conf-dirs.ts";
import { atBoot, dottedKey, names, parse, read, sysctlDirs } from "../../src/probes/sysctl-d.ts";
import { ensureDebianTool } from "../helpers/debian-package.ts";

const root = resolve("test/fixtures/roots/sysctl-mixed");

// systemd-analyze (Debian's systemd) is installed when missing, so that the comparison runs
const systemdAnalyzeMissing = ensureDebianTool("systemd-analyze", "systemd");

describe("sysctl-d probe", () => {
  it("reads `key = value` lines: comments, `-`, `/` separators, white space folded", () => {
    const r = parse("# c\n; c\n\n-net.ipv4.ip_forward=0\nnet/ipv4/conf/eth0.100/rp_filter = 1\nnet.ipv4.tcp_rmem = 4096\t131072  6291456 \nnonsense\n = 3\n", "/etc/sysctl.d/x.conf");
    expect(r.settings).toEqual([
      { key: "net.ipv4.ip_forward", value: "0", path: "/etc/sysctl.d/x.conf", line: 4, ignoreErrors: true, glob: false },
      { key: "net.ipv4.conf.eth0/100.rp_filter", value: "1", path: "/etc/sysctl.d/x.conf", line: 5, ignoreErrors: false, glob: false },
      { key: "net.ipv4.tcp_rmem", value: "4096 131072 6291456", path: "/etc/sysctl.d/x.conf", line: 6, ignoreErrors: false, glob: false },
    ]);
    expect(r.skipped.map((s) => [s.line, s.reason])).toEqual([
      [7, "not an assignment (`key = value`)"],
      [8, "no key before `=`"],
    ]);
  });

  it("takes a key written with `/` or `.` as one key", () => {
    expect(dottedKey("kernel/domainname")).toBe("kernel.domainname");
    expect(dottedKey("net.ipv4.conf.enp3s0/200.forwarding")).toBe("net.ipv4.conf.enp3s0/200.forwarding");
    expect(dottedKey("net/ipv4/conf/enp3s0.200/forwarding")).toBe("net.ipv4.conf.enp3s0/200.forwarding");
    const part = fc.stringMatching(/^[a-z0-9_]{1,8}(\.[a-z0-9_]{1,4})?$/);
    // the first part holds no `.`: the first separator decides which form a key is written in
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9_]{1,8}$/), fc.array(part, { minLength: 1, maxLength: 5 }), (head, tail) => {
        const parts = [head, ...tail];
        // the path form: parts separated by `/`, a `.` inside a part stands for itself
        const slashed = parts.join("/");
        const dotted = parts.map((p) => p.replace(/\./g, "/")).join(".");
        expect(dottedKey(slashed)).toBe(dotted);
        expect(dottedKey(dotted)).toBe(dotted);
      }),
    );
  });

  it("matches glob keys part by part", () => {
    expect(names("net.ipv4.conf.*.rp_filter", "net.ipv4.conf.eth0.rp_filter")).toBe(true);
    expect(names("net.ipv4.conf.*.rp_filter", "net.ipv4.conf.all.accept_redirects")).toBe(false);
    expect(names("net.*.rp_filter", "net.ipv4.conf.all.rp_filter")).toBe(false);
    expect(names("net.ipv4.ip_forward", "net.ipv4.ip_forward")).toBe(true);
  });

  it("never throws, whatever the text, and reads back any setting it is given", () => {
    fc.assert(fc.property(fc.string(), (s) => void parse(s, "/x.conf")));
    const key = fc.array(fc.stringMatching(/^[a-z0-9_]{1,10}$/), { minLength: 2, maxLength: 5 }).map((p) => p.join("."));
    const value = fc.array(fc.stringMatching(/^[a-z0-9]{1,6}$/), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(key, value, fc.constantFrom(" = ", "=", "  =\t"), (k, v, eq) => {
        expect(parse(`${k}${eq}${v.join("  ")}\n`, "/x.conf").settings).toEqual([expect.objectContaining({ key: k, value: v.join(" "), line: 1 })]);
      }),
    );
  });

  it("reads the files in sysctl.d(5) order: by name across directories, /etc hiding /run, /etc/sysctl.conf last", () => {
    const c = read(below(root));
    expect(c.files.map((f) => f.path)).toEqual([
      "/etc/sysctl.d/10-hardening.conf",
      "/run/sysctl.d/20-forward.conf",
      "/usr/lib/sysctl.d/50-default.conf",
      "/etc/sysctl.d/60-ipv6.conf",
      "/usr/local/lib/sysctl.d/70-local.conf",
      "/usr/lib/sysctl.d/protect-links.conf",
      "/etc/sysctl.conf",
    ]);
    expect(c.skipped).toEqual([{ path: "/etc/sysctl.d/10-hardening.conf", line: 7, reason: "not an assignment (`key = value`)" }]);
    const forward = atBoot(c, "net.ipv4.ip_forward");
    expect(forward.settings.map((s) => [s.path, s.value])).toEqual([
      ["/etc/sysctl.d/10-hardening.conf", "0"],
      ["/run/sysctl.d/20-forward.conf", "1"],
    ]);
    expect(forward.winner).toMatchObject({ path: "/run/sysctl.d/20-forward.conf", value: "1" });
    const ra = atBoot(c, "net.ipv6.conf.all.accept_ra");
    expect(ra.winner).toMatchObject({ path: "/etc/sysctl.d/60-ipv6.conf", value: "0" });
    expect(ra.shadowed).toEqual([expect.objectContaining({ path: "/run/sysctl.d/60-ipv6.conf", value: "1", shadowedBy: "/etc/sysctl.d/60-ipv6.conf" })]);
    // /usr/lib's protect-links.conf sorts after /etc's 10-hardening.conf and undoes it
    expect(atBoot(c, "kernel.randomize_va_space").winner).toMatchObject({ path: "/usr/lib/sysctl.d/protect-links.conf", value: "1" });
    // /etc/sysctl.conf is read last
    expect(atBoot(c, "kernel.kptr_restrict").winner).toMatchObject({ path: "/etc/sysctl.conf", value: "2" });
    // an explicit setting wins over a glob whatever their order (systemd-sysctl)
    const rp = atBoot(c, "net.ipv4.conf.all.rp_filter");
    expect(rp.settings.map((s) => [s.path, s.value, s.glob])).toEqual([
      ["/usr/lib/sysctl.d/50-default.conf", "2", false],
      ["/etc/sysctl.d/60-ipv6.conf", "2", true],
    ]);
    expect(rp.winner).toMatchObject({ path: "/usr/lib/sysctl.d/50-default.conf" });
    expect(atBoot(c, "net.ipv4.conf.eth0/100.rp_filter").winner).toMatchObject({ path: "/etc/sysctl.d/10-hardening.conf", ignoreErrors: true });
    expect(atBoot(c, "net.ipv4.conf.all.send_redirects").winner).toMatchObject({ value: "0" });
    expect(atBoot(c, "kernel.dmesg_restrict").settings.map((s) => s.path)).toEqual(["/usr/local/lib/sysctl.d/70-local.conf"]);
    expect(atBoot(c, "vm.swappiness")).toEqual({ settings: [], shadowed: [] });
  });

  it("reads a merged-/usr system's /lib as the /usr/lib it is, not as files it hides", () => {
    const merged = mkdtempSync(join(tmpdir(), "cvt-sysctl-d-"));
    mkdirSync(join(merged, "usr", "lib", "sysctl.d"), { recursive: true });
    writeFileSync(join(merged, "usr", "lib", "sysctl.d", "50-pid-max.conf"), "kernel.pid_max = 4194304\n");
    symlinkSync("usr/lib", join(merged, "lib"));
    const c = read(below(merged));
    expect(c.files.map((f) => f.path)).toEqual(["/usr/lib/sysctl.d/50-pid-max.conf"]);
    expect(c.shadowed).toEqual([]);
  });

  it("reads no directory that is missing, and a missing root as no configuration", () => {
    expect(read(below("/nonexistent"))).toEqual({ settings: [], shadowed: [], files: [], skipped: [] });
  });

  it.skipIf(systemdAnalyzeMissing !== undefined)(`orders files as systemd-analyze cat-config does${systemdAnalyzeMissing ? ` (skipped: ${systemdAnalyzeMissing})` : ""}`, () => {
    for (const r of [root, undefined]) {
      const out = execFileSync("systemd-analyze", ["cat-config", ...(r ? [`--root=${r}`] : []), "sysctl.d"], { encoding: "utf8" });
      // systemd reads /etc/sysctl.conf only through the link 99-sysctl.conf that distributions ship, and no /lib of its own on a merged-/usr system
      const theirs = out.split("\n").filter((l) => /^# \/\S+\.conf$/.test(l)).map((l) => l.slice(2 + (r?.length ?? 0)));
      const ours = listConfFiles(sysctlDirs.filter((d) => !d.startsWith("/lib/")), below(r), (n) => n.endsWith(".conf")).applied.map((f) => f.path);
      expect(ours).toEqual(theirs);
    }
  });
});
