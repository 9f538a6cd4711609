// sandbox.json as a description of a whole host: `extends` and its merge, os_release, packages,
// services and proc, every problem of every file reported at once under that file's name.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseManifest, SandboxError, type SandboxManifest } from "../../src/sandbox/sandbox.ts";

/** A directory of manifests; returns the path of each. */
function manifests(files: Record<string, object | string>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), "covenant-sbm-"));
  const out: Record<string, string> = {};
  for (const [name, body] of Object.entries(files)) {
    out[name] = join(dir, name);
    writeFileSync(out[name], typeof body === "string" ? body : JSON.stringify(body));
  }
  return out;
}

function problemsOf(text: string, where: string): string {
  try {
    parseManifest(text, where);
  } catch (err) {
    expect(err).toBeInstanceOf(SandboxError);
    return (err as Error).message;
  }
  throw new Error("the manifest was accepted");
}

const parse = (o: object, where = join(tmpdir(), "sandbox.json")): SandboxManifest => parseManifest(JSON.stringify(o), where);

const base = {
  description: "Debian 12, compliant",
  users: ["root", "ledger"],
  groups: { root: [], finance: ["ledger"] },
  accounts: { alice: { uid: 1000 } },
  directories: [{ path: "/etc/ssh", mode: "0755" }, { path: "/srv/ledger", mode: "0750" }],
  files: [
    { path: "/etc/ssh/sshd_config", mode: "0600", content: "PermitRootLogin no\n" },
    { path: "/etc/ssh/sshd_config.d/10-site.conf", mode: "0600", content: "X11Forwarding no\n" },
    { path: "/etc/issue", mode: "0644", content: "Authorised use only\n" },
  ],
  os_release: { ID: "debian", VERSION_ID: "12" },
  packages: { "openssh-server": "1:9.2p1-2+deb12u3", auditd: { version: "1:3.0.9-1", architecture: "amd64" } },
  services: { sshd: { active: "active", sub: "running", enabled: "enabled" }, "auditd.service": {} },
  proc: {
    sysctl: { "net.ipv4.ip_forward": "0", "kernel.randomize_va_space": "2" },
    modules: ["ext4"],
    mounts: [
      { target: "/tmp", fstype: "tmpfs", source: "tmpfs", options: "rw,nosuid,nodev,noexec" },
      { target: "/var/tmp", fstype: "ext4", source: "/dev/sda3", options: "rw,nosuid,nodev,noexec" },
    ],
    cmdline: "BOOT_IMAGE=/boot/vmlinuz-6.1.0 root=/dev/sda1 ro audit=1",
  },
};

describe("host state in sandbox.json", () => {
  it("is read as given, services named as systemctl names them", () => {
    const m = parse(base);
    expect(m.os_release).toEqual({ ID: "debian", VERSION_ID: "12" });
    expect(m.packages).toEqual({ "openssh-server": { version: "1:9.2p1-2+deb12u3", status: "installed" }, auditd: { version: "1:3.0.9-1", architecture: "amd64", status: "installed" } });
    expect(m.services).toEqual({ "sshd.service": { active: "active", sub: "running", enabled: "enabled" }, "auditd.service": { active: "active", sub: "running", enabled: "enabled" } });
    expect(m.proc?.mounts.map((x) => x.target)).toEqual(["/tmp", "/var/tmp"]);
  });

  it("a key named __proto__ is an entry like any other, never the object's prototype", () => {
    const text = '{"users": ["alice"], "groups": {"__proto__": ["alice"], "staff": []}, "accounts": {"__proto__": {"uid": 1005}}, "proc": {"sysctl": {"__proto__": "1"}}}';
    const m = parseManifest(text, join(tmpdir(), "sandbox.json"));
    expect(Object.keys(m.groups).sort()).toEqual(["__proto__", "staff"]);
    expect(Object.keys(m.accounts ?? {})).toEqual(["__proto__"]);
    // a package is refused by name, as dpkg would: no entry is lost without a word
    expect(problemsOf('{"packages": {"__proto__": "1.0"}}', join(tmpdir(), "sandbox.json"))).toContain("packages.__proto__");
    expect(Object.keys(m.proc?.sysctl ?? {})).toEqual(["__proto__"]);
    const variant = manifests({ "b.json": text, "v.json": '{"extends": "b.json", "groups": {"__proto__": null}}' });
    expect(Object.keys(parseManifest(readFileSync(variant["v.json"]!, "utf8"), variant["v.json"]!).groups)).toEqual(["staff"]);
  });

  it("every problem is reported at once: unknown keys, sysctl keys, module names, mounts, packages, services", () => {
    const message = problemsOf(
      JSON.stringify({
        users: ["root"],
        colour: "blue",
        os_release: { id: "debian", NAME: "two\nlines" },
        package_database: "apk",
        packages: { "Bad Name": "1.0", zlib1g: { version: "1.2 3" }, curl: { version: "7.88", status: "purged", arch: "amd64" } },
        services: { "-H": {}, sshd: { active: "up", enabled: "sometimes" } },
        proc: {
          sysctl: { "net.ipv4..ip_forward": "0", "Kernel.X": "1", "net.ipv4.tcp_syncookies": "1\n" },
          modules: ["ext4", "../evil", 7],
          mounts: [{ target: "/../tmp", fstype: "tmpfs", options: "rw nosuid" }, { target: "relative", fstype: "EXT 4" }],
          cmdline: "a\nb",
          swap: [],
        },
      }),
      "host.json",
    );
    for (const problem of [
      "host.json:",
      "`colour` is not a key of a sandbox.json",
      "os_release.id: os-release keys are upper case letters",
      "os_release.NAME must be a string without line breaks",
      '`package_database` must be "dpkg" or "rpm"',
      "packages.Bad Name: `Bad Name` is not a dpkg package name",
      "packages.zlib1g.version `1.2 3` is not a dpkg version",
      "packages.curl.status must be one of installed, config-files, half-installed, unpacked",
      "packages.curl.arch is not a field",
      "services.-H: `-H` is not a unit name",
      "services.sshd.service.active must be one of",
      "services.sshd.service.enabled must be one of",
      "proc.sysctl.net.ipv4..ip_forward: `net.ipv4..ip_forward` is not a sysctl key",
      "proc.sysctl.Kernel.X: `Kernel.X` is not a sysctl key",
      "proc.sysctl.net.ipv4.tcp_syncookies must be a string without line breaks",
      'proc.modules[1] must be a module name (letters, digits, `_`, `-`), got "../evil"',
      "proc.modules[2] must be a module name",
      'proc.mounts[0].target "/../tmp" has a `..` component',
      "proc.mounts[0].options must be a comma-separated list",
      'proc.mounts[1].target must be an absolute path such as "/srv/ledger", got "relative"',
      "proc.mounts[1].fstype must be a file system type",
      "`proc.cmdline` must be a string without line breaks",
      "proc.swap is not a field",
    ])
      expect(message).toContain(problem);
  });

  it("an rpm host's versions carry a release, and rpm records only installed packages", () => {
    const message = problemsOf(JSON.stringify({ users: [], package_database: "rpm", packages: { openssh: "8.7p1", audit: { version: "3.0.7-104.el9", status: "config-files" }, bash: "5.1.8-9.el9" } }), "rhel.json");
    expect(message).toContain("packages.openssh.version `8.7p1` is not a rpm version: an rpm version is `[epoch:]version-release`");
    expect(message).toContain("packages.audit.status: rpm records only installed packages");
    expect(message).not.toContain("packages.bash");
  });

  it("a sysctl key that is a group of another is refused", () => {
    expect(problemsOf(JSON.stringify({ users: [], proc: { sysctl: { "net.ipv4": "1", "net.ipv4.ip_forward": "0" } } }), "h.json")).toContain("proc.sysctl.net.ipv4 is a group of other keys");
  });
});

describe("extends", () => {
  it("merges the variant over its base: union of users, keys merged, null deletes, entries replaced in place, remove drops a subtree", () => {
    const f = manifests({
      "debian12.json": base,
      "fail-ssh.json": {
        extends: "debian12.json",
        description: "Debian 12 with root login allowed",
        users: ["root", "auditor"],
        groups: { finance: null, audit: ["auditor"] },
        accounts: { alice: null },
        remove: ["/etc/ssh/sshd_config.d"],
        files: [
          { path: "/etc/ssh/sshd_config", mode: "0644", content: "PermitRootLogin yes\n" },
          { path: "/etc/motd", mode: "0644", content: "hi\n" },
        ],
        os_release: { VERSION_ID: null, PRETTY_NAME: "Debian GNU/Linux 12 (bookworm)" },
        packages: { auditd: null, telnetd: "0.17-44" },
        services: { sshd: { active: "inactive", sub: "dead", enabled: "disabled" } },
        proc: { sysctl: { "net.ipv4.ip_forward": "1", "kernel.randomize_va_space": null }, modules: ["ext4", "cramfs"], mounts: [{ target: "/tmp", fstype: "tmpfs", source: "tmpfs", options: "rw" }] },
      },
    });
    const m = parseManifest(JSON.stringify({ extends: "fail-ssh.json" }), join(f["debian12.json"]!, "..", "top.json"));
    expect(m.description).toBe("Debian 12 with root login allowed");
    expect(m.users).toEqual(["root", "ledger", "auditor"]);
    expect(m.groups).toEqual({ root: [], audit: ["auditor"] });
    expect(m.accounts).toBeUndefined();
    expect(m.directories.map((d) => d.path)).toEqual(["/etc/ssh", "/srv/ledger"]);
    expect(m.files.map((x) => [x.path, x.mode])).toEqual([
      ["/etc/ssh/sshd_config", "0644"],
      ["/etc/issue", "0644"],
      ["/etc/motd", "0644"],
    ]);
    expect(m.os_release).toEqual({ ID: "debian", PRETTY_NAME: "Debian GNU/Linux 12 (bookworm)" });
    expect(Object.keys(m.packages!)).toEqual(["openssh-server", "telnetd"]);
    expect(m.services!["sshd.service"]).toEqual({ active: "inactive", sub: "dead", enabled: "disabled" });
    expect(m.services!["auditd.service"]?.active).toBe("active");
    expect(m.proc!.sysctl).toEqual({ "net.ipv4.ip_forward": "1" });
    expect(m.proc!.modules).toEqual(["ext4", "cramfs"]);
    expect(m.proc!.mounts.map((x) => [x.target, x.options])).toEqual([
      ["/tmp", "rw"],
      ["/var/tmp", "rw,nosuid,nodev,noexec"],
    ]);
    expect(m.proc!.cmdline).toBe(base.proc.cmdline);
  });

  it("a directory at the removed path goes with everything below it, and a base directory named again is replaced", () => {
    const f = manifests({ "b.json": base, "v.json": { extends: "b.json", remove: ["/etc/ssh"], directories: [{ path: "/srv/ledger", mode: "0777" }] } });
    const m = parseManifest(JSON.stringify({ extends: "v.json" }), join(f["b.json"]!, "..", "t.json"));
    expect(m.directories).toEqual([{ path: "/srv/ledger", mode: "0777" }]);
    expect(m.files.map((x) => x.path)).toEqual(["/etc/issue"]);
  });

  it("a null or a remove that names nothing in the base is an error, and so is either without a base", () => {
    const f = manifests({ "b.json": base });
    const message = problemsOf(
      JSON.stringify({ extends: "b.json", remove: ["/etc/sshd"], packages: { telnetd: null }, proc: { sysctl: { "net.ipv4.ip_fowrard": null } } }),
      join(f["b.json"]!, "..", "v.json"),
    );
    expect(message).toContain("remove[0]: the base has no file or directory at or below /etc/sshd");
    expect(message).toContain("packages.telnetd is null, which deletes a key of the base manifest, but the base has no `telnetd`");
    expect(message).toContain("proc.sysctl.net.ipv4.ip_fowrard is null");
    const alone = problemsOf(JSON.stringify({ users: [], remove: ["/etc"], os_release: { ID: null } }), "alone.json");
    expect(alone).toContain("`remove` drops files and directories of the base manifest, but this manifest extends none");
    expect(alone).toContain("os_release.ID is null, which deletes a key of the base manifest, but this manifest extends none");
  });

  it("problems of a base are reported under the base's name, with the variant's own, at once", () => {
    const f = manifests({ "b.json": { users: ["root"], proc: { modules: ["bad/name"] } } });
    const variant = join(f["b.json"]!, "..", "v.json");
    const message = problemsOf(JSON.stringify({ extends: "b.json", services: { sshd: { enabled: "perhaps" } } }), variant);
    expect(message).toMatch(new RegExp(`${f["b.json"]!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\n  - proc.modules\\[0\\] must be a module name`));
    expect(message).toMatch(/v\.json:\n {2}- services\.sshd\.service\.enabled must be one of/);
  });

  it("a cycle is an error naming the chain, and so is a chain deeper than four", () => {
    const f = manifests({ "a.json": { extends: "b.json" }, "b.json": { extends: "a.json" } });
    const message = problemsOf(JSON.stringify({ extends: "a.json" }), f["b.json"]!.replace("b.json", "top.json"));
    expect(message).toContain(`\`extends\` makes a cycle: ${f["a.json"]} -> ${f["b.json"]} -> ${f["a.json"]}`);
    const deep = manifests({ "1.json": { users: [] }, "2.json": { extends: "1.json" }, "3.json": { extends: "2.json" }, "4.json": { extends: "3.json" }, "5.json": { extends: "4.json" }, "6.json": { extends: "5.json" } });
    expect(() => parseManifest(JSON.stringify({ extends: "4.json" }), deep["1.json"]!.replace("1.json", "top.json"))).not.toThrow();
    expect(problemsOf(JSON.stringify({ extends: "5.json" }), deep["1.json"]!.replace("1.json", "top.json"))).toContain("`extends` may follow at most 4 bases");
  });

  it("a base that does not exist, or is a link, is refused", async () => {
    const f = manifests({ "b.json": base });
    const { symlinkSync } = await import("node:fs");
    const link = f["b.json"]!.replace("b.json", "link.json");
    symlinkSync(f["b.json"]!, link);
    expect(problemsOf(JSON.stringify({ extends: "nothing.json" }), link.replace("link.json", "v.json"))).toContain(`\`extends\`: ${link.replace("link.json", "nothing.json")} no such file or directory`);
    expect(problemsOf(JSON.stringify({ extends: "link.json" }), link.replace("link.json", "v.json"))).toContain(`\`extends\`: ${link} is a symbolic link, not a regular file`);
  });

  it("a base that is not JSON is refused without quoting a byte of it (it may be any file the caller can read)", () => {
    const f = manifests({ "secret.json": "root:$y$j9T$notasecretsalt$notahash:19000:0:99999:7:::\n" });
    const message = problemsOf(JSON.stringify({ extends: "secret.json" }), f["secret.json"]!.replace("secret.json", "v.json"));
    expect(message).toContain(`${f["secret.json"]}: not valid JSON`);
    expect(message).not.toContain("root:");
    expect(message).not.toContain("$y$");
    expect(problemsOf("{\"users\": [\"a\",\n  secret-value]}", join(tmpdir(), "sandbox.json"))).not.toContain("secret");
  });
});


describe("facts and commands", () => {
  it("are checked, every problem at once", () => {
    const text = JSON.stringify({ users: [], facts: { hostname: "a b", os_id: "rhel", ip: ["10.0.0.300"], now: "2026-12-01" }, commands: [{ argv: ["pg_isready"] }, { argv: ["/bin/true"], exit_code: 256 }, { argv: ["/bin/x"] }, { argv: ["/bin/x"] }] });
    const said = problemsOf(text, join(tmpdir(), "sandbox.json"));
    for (const p of ["facts.hostname must be a name", "facts.os_id is not a fact a fixture sets", "facts.ip must be a list of IP addresses", "facts.now must be an instant with its zone", "commands[0].argv must be", "commands[1].exit_code must be a whole number from 0 to 255", 'commands[3]: ["/bin/x"] is recorded twice']) expect(said).toContain(p);
  });

  it("merge over a base: facts key by key (null deletes), commands by argv", () => {
    const f = manifests({
      "host.json": { users: [], facts: { hostname: "gl-db-01", ip: ["10.0.0.5"] }, commands: [{ argv: ["/bin/a"], stdout: "1" }, { argv: ["/bin/b"] }] },
      "v.json": { extends: "host.json", facts: { ip: null, now: "2026-12-01T09:00:00Z" }, commands: [{ argv: ["/bin/a"], exit_code: 2 }] },
    });
    const m = parseManifest(readFileSync(f["v.json"]!, "utf8"), f["v.json"]!);
    expect(m.facts).toEqual({ hostname: "gl-db-01", now: "2026-12-01T09:00:00Z" });
    expect(m.commands).toEqual([{ argv: ["/bin/a"], exit_code: 2, stdout: "", stderr: "" }, { argv: ["/bin/b"], exit_code: 0, stdout: "", stderr: "" }]);
  });
});
