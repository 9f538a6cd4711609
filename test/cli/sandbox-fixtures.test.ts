// Fixture hosts for policy tests: `covenant run --sandbox-manifest HOST.json` against a Debian 12
// and a RHEL 9 host described whole (os-release, packages, services, kernel state), and a failing
// variant that extends one, judged promise by promise from the JSON report.
import { mkdtempSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseDpkg } from "../../src/probes/dpkg.ts";
import { parseOsRelease } from "../../src/facts/host.ts";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());

const temp = (prefix: string) => mkdtempSync(join(tmpdir(), `covenant-${prefix}-`));

const POLICY = `context rhel_host = os_family == "rhel"

control "KRN-1" {
  title = "kernel hardening"
  sysctl "net.ipv4.ip_forward" { value = 0 }
  kernel_module "cramfs" { loaded = false }
  mount "/tmp" { options = ["nodev", "nosuid", "noexec"] }
}

control "PKG-1" {
  title = "remote access"
  package "openssh-server" { state = installed }
  package "telnetd" { state = absent }
  service "ssh" {
    state  = running
    repair = start
  }
}

control "RHEL-1" {
  title = "auditing on RHEL"
  when  = rhel_host
  package "audit" { version = ">= 3.0" }
  service "auditd" { state = running }
}
`;

const kernel = {
  sysctl: { "net.ipv4.ip_forward": "0", "kernel.randomize_va_space": "2" },
  modules: ["ext4", "xfs"],
  mounts: [
    { target: "/", fstype: "ext4", source: "/dev/sda1", options: "rw,relatime" },
    { target: "/tmp", fstype: "tmpfs", source: "tmpfs", options: "rw,nosuid,nodev,noexec,relatime" },
  ],
};

const debian12 = {
  description: "Debian 12, compliant",
  users: ["root"],
  groups: { root: [] },
  os_release: { ID: "debian", VERSION_ID: "12", PRETTY_NAME: 'Debian GNU/Linux 12 "bookworm"' },
  packages: { "openssh-server": "1:9.2p1-2+deb12u3", telnetd: { version: "0.17-44", status: "config-files" } },
  services: { ssh: { active: "active", sub: "running", enabled: "enabled" } },
  proc: kernel,
};

const rhel9 = {
  description: "RHEL 9, compliant",
  users: ["root"],
  groups: { root: [] },
  os_release: { ID: "rhel", ID_LIKE: "fedora", VERSION_ID: "9.4" },
  package_database: "rpm",
  packages: { "openssh-server": "8.7p1-38.el9", audit: "3.1.2-2.el9", kernel: { version: "0:5.14.0-427.el9", architecture: "x86_64" } },
  services: { ssh: { active: "active", sub: "running", enabled: "enabled" }, auditd: { active: "active", sub: "running", enabled: "enabled" } },
  proc: kernel,
};

interface Report {
  controls: { id: string; promises: { type: string; promiser: string; outcome: string; reason?: string; changes?: { status: string; description: string }[] }[] }[];
}

/** The fixtures in one directory, the policy in another; runs `host` in a new sandbox. */
function runHost(fixtures: Record<string, object>, host: string): { code: number | null; report: Report; err: string; args: string[] } {
  const dir = temp("fixtures");
  for (const [name, body] of Object.entries(fixtures)) writeFileSync(join(dir, name), JSON.stringify(body));
  const policy = temp("fixpol");
  writeFileSync(join(policy, "p.promise"), POLICY);
  const sandbox = join(temp("fixsb"), "sandbox");
  const args = ["run", "--json", "--sandbox-dir", sandbox, "--sandbox-manifest", join(dir, host), policy];
  const r = covenant(args);
  return { code: r.code, report: JSON.parse(r.out || "{}") as Report, err: r.err, args };
}

const outcomes = (report: Report) => Object.fromEntries(report.controls.flatMap((c) => c.promises.map((p) => [`${c.id} ${p.type} ${p.promiser}`, p.outcome])));

describe("fixture hosts", () => {
  it("a compliant Debian 12 host keeps every promise; the RHEL control is skipped", () => {
    const { code, report, err } = runHost({ "debian12.json": debian12 }, "debian12.json");
    expect(err).toBe("");
    expect(outcomes(report)).toEqual({
      "KRN-1 sysctl net.ipv4.ip_forward": "kept",
      "KRN-1 kernel_module cramfs": "kept",
      "KRN-1 mount /tmp": "kept",
      "PKG-1 package openssh-server": "kept",
      "PKG-1 package telnetd": "kept",
      "PKG-1 service ssh": "kept",
      "RHEL-1 package audit": "skipped",
      "RHEL-1 service auditd": "skipped",
    });
    expect(code).toBe(0);
  });

  it("a compliant RHEL 9 host keeps every promise, its packages read from the recorded answer of rpm", () => {
    const { code, report } = runHost({ "rhel9.json": rhel9 }, "rhel9.json");
    expect(Object.values(outcomes(report))).toEqual(Array(8).fill("kept"));
    expect(code).toBe(0);
  });

  it("a failing variant says only how it differs, and each difference drifts", () => {
    const variant = {
      extends: "rhel9.json",
      description: "RHEL 9 with forwarding on, cramfs loaded, /tmp executable, telnet and an old audit, ssh stopped",
      packages: { audit: "2.8.5-4.el9", telnetd: "0.17-85.el9", "openssh-server": null },
      services: { ssh: { active: "inactive", sub: "dead", enabled: "disabled" } },
      proc: { sysctl: { "net.ipv4.ip_forward": "1" }, modules: ["ext4", "xfs", "cramfs"], mounts: [{ target: "/tmp", fstype: "tmpfs", source: "tmpfs", options: "rw,nosuid,nodev" }] },
    };
    const { code, report } = runHost({ "rhel9.json": rhel9, "fail.json": variant }, "fail.json");
    expect(outcomes(report)).toEqual({
      "KRN-1 sysctl net.ipv4.ip_forward": "drift",
      "KRN-1 kernel_module cramfs": "drift",
      "KRN-1 mount /tmp": "drift",
      "PKG-1 package openssh-server": "drift",
      "PKG-1 package telnetd": "drift",
      "PKG-1 service ssh": "drift",
      "RHEL-1 package audit": "drift",
      "RHEL-1 service auditd": "kept",
    });
    // a service is never started from a sandbox
    const ssh = report.controls[1]!.promises[2]!;
    expect(ssh.changes?.map((c) => c.status)).toEqual(["held"]);
    expect(code).toBe(1);
  });

  it("writes dpkg's status file, an empty updates directory and os-release as the real readers take them", () => {
    const { args } = runHost({ "debian12.json": debian12 }, "debian12.json");
    const sandbox = args[3]!;
    const { packages, skipped } = parseDpkg(readFileSync(join(sandbox, "root/var/lib/dpkg/status"), "utf8"));
    expect(skipped).toEqual([]);
    expect(packages.map((p) => [p.name, p.version, p.architecture, p.want, p.status])).toEqual([
      ["openssh-server", "1:9.2p1-2+deb12u3", "amd64", "install", "installed"],
      ["telnetd", "0.17-44", "amd64", "deinstall", "config-files"],
    ]);
    expect(readdirSync(join(sandbox, "root/var/lib/dpkg/updates"))).toEqual([]);
    expect(parseOsRelease(readFileSync(join(sandbox, "etc/os-release"), "utf8")).get("PRETTY_NAME")).toBe('Debian GNU/Linux 12 "bookworm"');
    expect(readFileSync(join(sandbox, "proc/self/mountinfo"), "utf8")).toBe("21 1 0:40 / / rw,relatime - ext4 /dev/sda1 rw\n22 21 0:41 / /tmp rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw\n");
    expect(readFileSync(join(sandbox, "proc/cmdline"), "utf8")).toBe("BOOT_IMAGE=/boot/vmlinuz root=/dev/sda1 ro quiet\n");
  });

  it("a unit the answers do not list is one systemd does not know", () => {
    const { report } = runHost({ "debian12.json": { ...debian12, services: {} } }, "debian12.json");
    const ssh = report.controls[1]!.promises[2]!;
    expect(ssh).toMatchObject({ outcome: "error", reason: expect.stringContaining("ssh.service is not installed on this host") });
  });

  it("a reused sandbox whose own /proc was replaced by a link is refused", () => {
    const { args } = runHost({ "debian12.json": debian12 }, "debian12.json");
    const sandbox = args[3]!;
    // reused as it is, its own /proc read again
    const again = covenant(args);
    expect(outcomes(JSON.parse(again.out) as Report)["KRN-1 sysctl net.ipv4.ip_forward"]).toBe("kept");
    renameSync(join(sandbox, "proc"), join(sandbox, "proc.old"));
    symlinkSync(join(sandbox, "proc.old"), join(sandbox, "proc"));
    const r = covenant(args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${join(sandbox, "proc")} is not owned by you or is a link; not using the sandbox ${sandbox}`);
  });

  it("a reused sandbox whose recorded answer was swapped for a link is refused, naming the file", () => {
    const { args } = runHost({ "debian12.json": debian12 }, "debian12.json");
    const sandbox = args[3]!;
    const units = join(sandbox, "answers", "units.json");
    renameSync(units, `${units}.old`);
    symlinkSync(`${units}.old`, units);
    const r = covenant(args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${units} is not owned by you or is a link; not using the sandbox ${sandbox}`);
  });

  it("a manifest's problems are printed one per line, each escaped", () => {
    const { code, err } = runHost({ "bad.json": { proc: { modules: ["a/b", "c\u001b[31m"] } } }, "bad.json");
    expect(code).toBe(2);
    const lines = err.split("\n");
    expect(lines.filter((l) => l.startsWith("  - proc.modules")).length).toBe(2);
    expect(err).not.toContain("\u001b");
    expect(err).not.toContain("\\n");
  });
});


describe("a fixture host's facts and recorded commands, in `run --sandbox`", () => {
  const policy = `context ledger_host = hostname ~ "gl-db-*"
context web_host = hostname ~ "web-*"

control "BK-1" {
  title = "the ledger's backup verifies"
  when  = ledger_host
  command ["/usr/bin/pg_verifybackup", "--quiet", "/var/backups/ledger/latest"] { exit_code = 0 }
}

control "WEB-1" {
  title = "web hosts answer"
  when  = web_host
  command ["/usr/bin/curl", "-fsS", "http://127.0.0.1/"] { exit_code = 0 }
}
`;
  const run = (manifest: object) => {
    const dir = temp("factpol");
    writeFileSync(join(dir, "p.promise"), policy);
    writeFileSync(join(dir, "host.json"), JSON.stringify(manifest));
    const r = covenant(["run", "--json", "--sandbox-dir", join(temp("factsb"), "sandbox"), "--sandbox-manifest", join(dir, "host.json"), dir]);
    const report = JSON.parse(r.out || "{}") as Report;
    return { code: r.code, err: r.err, report, promise: (id: string) => report.controls.find((c) => c.id === id)!.promises[0]! };
  };

  it("judges contexts on the manifest's facts and commands on their recorded answers; nothing is run", () => {
    const failing = run({ users: ["root"], facts: { hostname: "gl-db-01", now: "2026-12-01T14:00:00Z" }, commands: [{ argv: ["/usr/bin/pg_verifybackup", "--quiet", "/var/backups/ledger/latest"], exit_code: 1, stderr: "checksum mismatch\n" }] });
    expect(failing.promise("BK-1")).toMatchObject({ outcome: "drift", reason: expect.stringMatching(/exited with status 1, promised 0 \("checksum mismatch" on standard error\)/) as unknown });
    expect(failing.promise("WEB-1").outcome).toBe("skipped");
    expect(failing.code).toBe(1);
    const passing = run({ users: ["root"], facts: { hostname: "gl-db-01" }, commands: [{ argv: ["/usr/bin/pg_verifybackup", "--quiet", "/var/backups/ledger/latest"], exit_code: 0 }] });
    expect(passing.promise("BK-1").outcome).toBe("kept");
    expect(passing.code).toBe(0);
    // another host name: the other control applies, and a command with no recorded answer is an error that says so
    const web = run({ users: ["root"], facts: { hostname: "web-07" }, commands: [] });
    expect(web.promise("BK-1").outcome).toBe("skipped");
    expect(web.promise("WEB-1")).toMatchObject({ outcome: "error", reason: expect.stringMatching(/no recorded answer/) as unknown });
  });
});
