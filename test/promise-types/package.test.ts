import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "../../src/probes/dpkg.ts";
import { checkText, inControl } from "../helpers/diagnose.ts";
import { evaluateOne } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("package", {
  valid: [
    'package "openssh-server" { state = installed version = [">= 1:9.2", "<< 1:10"] architecture = "amd64" repair = install }',
    'package "telnet*" { state = absent repair = purge }',
    'package "openssl" { state = absent version = "< 3.0.7" repair = remove }',
    'package "auditd" { version = "1:3.0.9-1" }',
  ],
  invalid: [
    { promise: 'package "bad name" { state = installed }', code: "E103", message: /a package name/ },
    { promise: 'package "-o" { state = installed }', code: "E103", message: /a package name/ },
    { promise: 'package "auditd" { state = present }', code: "E103", message: /`present` is not a valid value/ },
    { promise: 'package "auditd" { version = ">= banana split" }', code: "E103", message: /a version constraint/ },
    { promise: 'package "auditd" { version = "=> 1.0" }', code: "E103", message: /a version constraint/ },
    { promise: 'package "auditd" { repair = upgrade }', code: "E103", message: /`upgrade` is not a valid value/ },
  ],
});

describe("package promises on one package", () => {
  it("may constrain its version in two promises (the constraints hold together), but not promise it installed and absent", () => {
    const check = (body: string) => checkText({ "p.promise": inControl(body) }).diagnostics.map((d) => `${d.code} ${d.message}`);
    expect(check('  package "openssl" { version = ">= 3.0.7" }\n  package "openssl" { version = "< 4" }\n  package "libc6" { architecture = "i386" }\n  package "libc6" { architecture = "amd64" }').filter((d) => d.startsWith("E"))).toEqual([]);
    expect(check('  package "telnet" { state = absent }\n  package "telnet" { state = installed }')).toContainEqual(expect.stringMatching(/^E111 this promise contradicts another on `package "telnet"`/));
  });
});

// The machine's packages are never changed by these tests: a stand-in `apt-get`, first on PATH,
// carries out install, remove and purge by editing the status file of a root of the test's own
// (what the promise reads, as a sandbox's root would be), from a `repo.json` of available
// versions and reverse dependencies, and logs each call's argv and environment.
const dir = mkdtempSync(join(tmpdir(), "cvt-package-"));
const bin = join(dir, "bin");
mkdirSync(bin);
const log = join(dir, "calls.log");
writeFileSync(
  join(bin, "apt-get"),
  `#!${process.execPath}
const fs = require("node:fs");
const args = process.argv.slice(2);
const root = fs.readFileSync(${JSON.stringify(join(dir, "current-root"))}, "utf8");
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ argv: args, env: process.env }) + "\\n");
const [action, ...rest] = args;
const names = rest.slice(rest.indexOf("--") + 1);
const statusPath = root + "/var/lib/dpkg/status";
const repo = JSON.parse(fs.readFileSync(root + "/repo.json", "utf8"));
let stanzas = fs.readFileSync(statusPath, "utf8").split(/\\n\\n+/).filter((s) => s.trim() !== "");
const find = (name, arch) => stanzas.findIndex((s) => s.includes("Package: " + name + "\\n") && (!arch || s.includes("Architecture: " + arch + "\\n")));
const out = [];
for (const spec of names) {
  const [nameArch, version] = spec.split("=");
  const [name, arch] = nameArch.split(":");
  const available = repo[name];
  if (action === "install") {
    if (available && available.sleepMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, available.sleepMs);
    if (!available) { console.error("E: Unable to locate package " + name); process.exit(100); }
    const v = version ?? available.versions.at(-1);
    if (!available.versions.includes(v)) { console.error("E: Version '" + v + "' for '" + name + "' was not found"); process.exit(100); }
    const i = find(name, arch);
    const stanza = "Package: " + name + "\\nStatus: install ok installed\\nArchitecture: " + (arch ?? "amd64") + "\\nVersion: " + v;
    if (i >= 0) stanzas[i] = stanza; else stanzas.push(stanza);
  } else if (args.includes("-s")) {
    out.push((action === "purge" ? "Purg " : "Remv ") + spec, ...((available && available.rdepends) || []).map((d) => "Remv " + d));
  } else {
    const i = find(name, arch);
    if (i < 0) { console.error("E: Unable to locate package " + name); process.exit(100); }
    if (action === "purge") stanzas.splice(i, 1);
    else stanzas[i] = stanzas[i].replace(/^Status: .*$/m, "Status: deinstall ok config-files");
  }
}
if (out.length > 0) console.log(out.join("\\n"));
if (!args.includes("-s")) fs.writeFileSync(statusPath, stanzas.join("\\n\\n") + "\\n");
`,
);
chmodSync(join(bin, "apt-get"), 0o755);

const repo = {
  aide: { versions: ["0.18.3-1"] },
  auditd: { versions: ["1:3.0.9-1", "1:3.1.2-1"] },
  "rsh-server": { versions: ["0.17-24"] },
  nis: { versions: ["4.17"], rdepends: ["ypbind-mt"] },
  telnet: { versions: ["0.17+2.4-2"] },
  libc6: { versions: ["2.36-9+deb12u3", "2.36-9+deb12u4"] },
  slowpkg: { versions: ["1.0"], sleepMs: 2500 },
};

/** A root of the test's own holding the fixture database; the stand-in apt-get edits it. */
function hostRoot(status = readFileSync("test/fixtures/packages/debian12-status", "utf8")): string {
  const root = mkdtempSync(join(tmpdir(), "cvt-package-root-"));
  mkdirSync(join(root, "var/lib/dpkg"), { recursive: true });
  writeFileSync(join(root, "var/lib/dpkg/status"), status);
  writeFileSync(join(root, "repo.json"), JSON.stringify(repo));
  writeFileSync(join(dir, "current-root"), root);
  return root;
}

function calls(): { argv: string[]; env: Record<string, string> }[] {
  if (!existsSync(log)) return [];
  const all = readFileSync(log, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { argv: string[]; env: Record<string, string> });
  writeFileSync(log, "");
  return all;
}

function record(root: string, name: string) {
  return parse(readFileSync(join(root, "var/lib/dpkg/status"), "utf8")).packages.find((p) => p.name === name);
}

const conffiles = ["-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"];
const path = process.env["PATH"];
beforeAll(() => {
  process.env["PATH"] = `${bin}:${path}`;
});
afterAll(() => {
  process.env["PATH"] = path;
});

describe("package behaviour", () => {
  it("is kept when the package is installed (and at a version that satisfies the promise) or absent as promised", async () => {
    const root = hostRoot();
    const at = { filesRoot: root };
    for (const promise of [
      'package "auditd" { version = [">= 1:3.0", "< 1:4"] }',
      'package "auditd" { version = "1:3.0.9-1" architecture = "amd64" }',
      // a trigger still to run: installed, as dpkg counts it; held: installed
      'package "man-db" { state = installed }',
      'package "openssh-server" { version = ">> 1:9.2p1-2+deb12u1" }',
      'package "libc6" { architecture = "i386" version = "2.36-9+deb12u3" }',
      'package "libc*" { state = installed }',
      // removed with its configuration files left, or purged: absent
      'package "telnet" { state = absent }',
      'package "talk" { state = absent }',
      'package "no-such-package" { state = absent }',
      // absent with a version: no installed version satisfies it
      'package "auditd" { state = absent version = "< 1:3.0" }',
    ]) {
      expect(await evaluateOne(promise, at), promise).toMatchObject({ outcome: "kept" });
    }
    expect(calls()).toEqual([]);
  });

  it("drifts when the package is missing, half there, at another version, or present when it must be absent", async () => {
    const at = { filesRoot: hostRoot() };
    const cases: [string, string][] = [
      ['package "aide" { }', "aide is not installed, promised installed"],
      ['package "telnet" { }', "telnet is removed (only its configuration files remain), promised installed"],
      ['package "nis" { }', "nis is unpacked (dpkg status), not installed, promised installed"],
      ['package "auditd" { version = ">= 1:3.1" }', "auditd 1:3.0.9-1 does not satisfy >= 1:3.1"],
      // `<` is strictly less, not Debian's deprecated `<` (which meant `<=`)
      ['package "auditd" { version = "< 1:3.0.9-1" }', "auditd 1:3.0.9-1 does not satisfy < 1:3.0.9-1"],
      ['package "libc6" { architecture = "arm64" }', "libc6 (arm64) is not installed, promised installed"],
      ['package "openssh-server" { version = ">= 1:9.2p1-2+deb12u6" }', "openssh-server 1:9.2p1-2+deb12u2 does not satisfy >= 1:9.2p1-2+deb12u6 (held at its version: `apt-mark hold`)"],
      ['package "x11-*" { }', "x11-* matches no installed package, promised installed"],
      ['package "rsh-server" { state = absent }', "rsh-server 0.17-24 is half-installed (dpkg status), promised absent"],
      ['package "openssh-server" { state = absent version = ">= 1:9" }', "openssh-server 1:9.2p1-2+deb12u2 is installed, which satisfies >= 1:9, promised absent"],
    ];
    for (const [promise, reason] of cases) expect(await evaluateOne(promise, at), promise).toMatchObject({ outcome: "drift", reason });
    // every installed architecture of a name must satisfy the version: an old i386 copy is a finding
    const oldCopy = await evaluateOne('package "libc6" { version = ">= 2.36-9+deb12u4" }', at);
    expect(oldCopy).toMatchObject({ outcome: "drift", reason: "libc6:i386 2.36-9+deb12u3 does not satisfy >= 2.36-9+deb12u4" });
    // for a pattern, one matching package that satisfies it is enough
    expect(await evaluateOne('package "libc*" { version = ">= 2.36-9+deb12u4" }', at)).toMatchObject({ outcome: "kept" });
    const neither = await evaluateOne('package "libc*" { version = ">= 2.37" }', at);
    expect(neither.differences.map((d) => d.reason)).toEqual(["libc6:amd64 2.36-9+deb12u4 does not satisfy >= 2.37", "libc6:i386 2.36-9+deb12u3 does not satisfy >= 2.37"]);
    const both = await evaluateOne('package "libc6" { state = absent }', at);
    expect(both.differences.map((d) => d.reason)).toEqual(["libc6:amd64 2.36-9+deb12u4 is installed, promised absent", "libc6:i386 2.36-9+deb12u3 is installed, promised absent"]);
    // a repair that does not fit the state plans nothing
    expect(await evaluateOne('package "aide" { repair = remove }', at)).toMatchObject({ outcome: "drift", changes: [] });
    // nor one that would take a downgrade: installing the candidate cannot make a version older
    expect(await evaluateOne('package "auditd" { version = ["< 1:3.0", ">= 1:2"] repair = install }', at)).toMatchObject({ outcome: "drift", reason: "auditd 1:3.0.9-1 does not satisfy < 1:3.0", changes: [] });
    expect(await evaluateOne('package "auditd" { version = "!= 1:3.0.9-1" repair = install }', at)).toMatchObject({ outcome: "drift", changes: [] });
    expect(calls()).toEqual([]);
  });

  it("installs through apt-get by argv, with the package after `--`, no recommends, a noninteractive environment of its own", async () => {
    const root = hostRoot();
    process.env["COVENANT_TEST_SECRET"] = "not for maintainer scripts";
    const r = await evaluateOne('package "aide" { repair = install }', { filesRoot: root });
    delete process.env["COVENANT_TEST_SECRET"];
    const argv = ["install", "-y", "--no-install-recommends", ...conffiles, "--", "aide"];
    expect(r).toMatchObject({ outcome: "repaired", reason: `aide is not installed, promised installed; fixed: apt-get ${argv.join(" ")}` });
    expect(r.changes).toEqual([{ change: { op: "package", manager: "apt-get", action: "install", packages: ["aide"] }, description: `apt-get ${argv.join(" ")}`, status: "applied" }]);
    const made = calls();
    expect(made.map((c) => c.argv)).toEqual([argv]);
    expect(Object.keys(made[0]!.env).sort()).toEqual(["DEBIAN_FRONTEND", "LC_ALL", "PATH"]);
    expect(made[0]!.env).toEqual({ DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C", PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" });
    expect(record(root, "aide")).toMatchObject({ version: "0.18.3-1", status: "installed" });
  });

  it("installs the exact version of an `=` constraint, and upgrades to the candidate for others", async () => {
    const root = hostRoot();
    expect(await evaluateOne('package "auditd" { version = "= 1:3.1.2-1" architecture = "amd64" repair = install }', { filesRoot: root })).toMatchObject({ outcome: "repaired" });
    expect(calls().map((c) => c.argv.at(-1))).toEqual(["auditd:amd64=1:3.1.2-1"]);
    expect(record(root, "auditd")?.version).toBe("1:3.1.2-1");
    // a multi-arch package: the architecture that fails is upgraded, by name
    expect(await evaluateOne('package "libc6" { version = ">= 2.36-9+deb12u4" repair = install }', { filesRoot: root })).toMatchObject({ outcome: "repaired" });
    expect(calls().map((c) => c.argv.at(-1))).toEqual(["libc6:i386"]);
    const again = hostRoot();
    expect(await evaluateOne('package "auditd" { version = ">= 1:3.1" repair = install }', { filesRoot: again })).toMatchObject({ outcome: "repaired" });
    expect(calls().map((c) => c.argv.at(-1))).toEqual(["auditd"]);
  });

  it("removes and purges what must be absent, after a simulation shows nothing else would go", async () => {
    const root = hostRoot();
    const r = await evaluateOne('package "rsh-server" { state = absent repair = remove }', { filesRoot: root });
    expect(r).toMatchObject({ outcome: "repaired", reason: `rsh-server 0.17-24 is half-installed (dpkg status), promised absent; fixed: apt-get remove -y ${conffiles.join(" ")} -- rsh-server` });
    expect(calls().map((c) => c.argv)).toEqual([
      ["remove", "-s", "-y", "--", "rsh-server"],
      ["remove", "-y", ...conffiles, "--", "rsh-server"],
    ]);
    expect(record(root, "rsh-server")?.status).toBe("config-files");
    expect(await evaluateOne('package "libc6" { state = absent architecture = "i386" repair = purge }', { filesRoot: root })).toMatchObject({ outcome: "repaired" });
    expect(calls().map((c) => c.argv.at(-1))).toEqual(["libc6:i386", "libc6:i386"]);
    expect(record(root, "libc6")?.architecture).toBe("amd64");
  });

  it("fails, with apt's own reason, when the package manager cannot or would do more than asked", async () => {
    const root = hostRoot();
    const missing = await evaluateOne('package "nosuch" { repair = install }', { filesRoot: root });
    expect(missing).toMatchObject({
      outcome: "failed",
      reason: `repair failed: apt-get install -y --no-install-recommends ${conffiles.join(" ")} -- nosuch: apt-get install exited with status 100: E: Unable to locate package nosuch`,
    });
    // removing nis would remove ypbind-mt too, which the policy does not name
    const cascade = await evaluateOne('package "nis" { state = absent repair = remove }', { filesRoot: root });
    expect(cascade).toMatchObject({ outcome: "failed", reason: expect.stringContaining("not removed: apt-get would also remove ypbind-mt, which the policy does not name") });
    expect(calls().map((c) => c.argv[0] + (c.argv.includes("-s") ? " -s" : ""))).toEqual(["install", "remove -s"]);
    expect(record(root, "nis")?.status).toBe("unpacked");
    // the candidate does not satisfy the constraint: apt-get ran, and the promise still does not hold
    const tooNew = await evaluateOne('package "auditd" { version = ">= 1:4" repair = install }', { filesRoot: root });
    expect(tooNew).toMatchObject({ outcome: "failed", reason: "still not as promised after repair: auditd 1:3.1.2-1 does not satisfy >= 1:4" });
    expect(calls().map((c) => c.argv.at(-1))).toEqual(["auditd"]);
  });

  it("never stops the package manager at the promise's timeout: dpkg stopped half-way leaves packages half-installed", async () => {
    const root = hostRoot();
    const r = await evaluateOne('package "slowpkg" { repair = install timeout = 1s }', { filesRoot: root });
    expect(r).toMatchObject({ outcome: "error", reason: "timed out after 1s" });
    expect(r.changes.map((c) => [c.status, c.detail])).toEqual([["failed", "in progress when the promise's timeout expired"]]);
    const deadline = Date.now() + 10_000;
    while (record(root, "slowpkg")?.status !== "installed" && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    expect(record(root, "slowpkg")).toMatchObject({ status: "installed", version: "1.0" });
    expect(calls().map((c) => c.argv.at(-1))).toEqual(["slowpkg"]);
  });

  it.skipIf(process.getuid?.() !== 0)("as root, runs no package manager another user can change", async () => {
    const root = hostRoot();
    const open = mkdtempSync(join(tmpdir(), "cvt-package-open-"));
    writeFileSync(join(open, "apt-get"), readFileSync(join(bin, "apt-get")));
    chmodSync(join(open, "apt-get"), 0o777);
    process.env["PATH"] = `${open}:${bin}:${path}`;
    try {
      const r = await evaluateOne('package "aide" { repair = install }', { filesRoot: root });
      expect(r.outcome).toBe("failed");
      expect(r.reason).toContain(`${join(open, "apt-get")} was not run: `);
      expect(r.reason).toContain("chmod go-w");
    } finally {
      process.env["PATH"] = `${bin}:${path}`;
    }
    expect(calls()).toEqual([]);
    expect(record(root, "aide")).toBeUndefined();
  });

  it("is an error when there is no package database, or a constraint is not a version of its kind", async () => {
    const empty = mkdtempSync(join(tmpdir(), "cvt-package-empty-"));
    const r = await evaluateOne('package "auditd" { }', { filesRoot: empty });
    expect(r.outcome).toBe("error");
    expect(r.reason).toMatch(/^no package database under .*: neither .*\/var\/lib\/dpkg\/status nor an rpm database \(.*\/var\/lib\/rpm, .*\/usr\/lib\/sysimage\/rpm\) exists$/);
    expect(await evaluateOne('package "auditd" { version = ">= abc" }', { filesRoot: hostRoot() })).toMatchObject({
      outcome: "error",
      reason: "version `>= abc` cannot be compared with dpkg versions: the upstream version of `abc` does not start with a digit",
    });
    expect(calls()).toEqual([]);
  });

  it("notes records of the database it could not read, and judges the rest", async () => {
    const r = await evaluateOne('package "good-three" { }', { filesRoot: hostRoot(readFileSync("test/fixtures/packages/malformed-status", "utf8")) });
    expect(r.outcome).toBe("kept");
    expect(r.notes).toEqual([expect.stringMatching(/^10 records of .*status could not be read \(first: line 6: a continuation line before any field\)$/)]);
  });

  it("in a dry run plans the apt-get call and runs nothing; in a sandbox holds it", async () => {
    const root = hostRoot();
    const before = readFileSync(join(root, "var/lib/dpkg/status"), "utf8");
    const dry = await evaluateOne('package "aide" { repair = install }', { filesRoot: root, dryRun: true });
    expect(dry).toMatchObject({ outcome: "drift", reason: "aide is not installed, promised installed (dry run: repair not applied)" });
    expect(dry.changes).toEqual([{ change: { op: "package", manager: "apt-get", action: "install", packages: ["aide"] }, description: `apt-get install -y --no-install-recommends ${conffiles.join(" ")} -- aide`, status: "planned" }]);
    const sandboxed = await evaluateOne('package "aide" { repair = install }', { filesRoot: root, confineTo: root });
    expect(sandboxed).toMatchObject({ outcome: "drift", reason: `aide is not installed, promised installed (repair held: the sandbox changes only files below ${root})` });
    expect(calls()).toEqual([]);
    expect(readFileSync(join(root, "var/lib/dpkg/status"), "utf8")).toBe(before);
  });

  it("reads rpm's database where there is no dpkg, and repairs through dnf", async () => {
    const root = mkdtempSync(join(tmpdir(), "cvt-package-rpm-"));
    mkdirSync(join(root, "var/lib/rpm"), { recursive: true });
    const rpmBin = join(root, "bin");
    mkdirSync(rpmBin);
    writeFileSync(join(rpmBin, "rpm"), `#!/bin/sh\ncat '${join(process.cwd(), "test/fixtures/packages/rhel9-rpm-qa.txt")}'\n`);
    chmodSync(join(rpmBin, "rpm"), 0o755);
    process.env["PATH"] = `${rpmBin}:${bin}:${path}`;
    try {
      const at = { filesRoot: root, dryRun: true };
      expect(await evaluateOne('package "audit" { version = ">= 3.0.7" }', at)).toMatchObject({ outcome: "kept" });
      // rpm's ordering: a constraint without a release holds for every release
      expect(await evaluateOne('package "audit" { version = "= 3.0.7" }', at)).toMatchObject({ outcome: "kept" });
      expect(await evaluateOne('package "shadow-utils" { version = "> 4.10" }', at)).toMatchObject({ outcome: "kept" });
      const install = await evaluateOne('package "aide" { version = "= 0.16-100.el9" architecture = "x86_64" repair = install }', at);
      expect(install.changes.map((c) => c.description)).toEqual(["dnf install -y --setopt=install_weak_deps=False -- aide-0.16-100.el9.x86_64"]);
      const remove = await evaluateOne('package "glibc" { state = absent architecture = "i686" repair = purge }', at);
      expect(remove.changes.map((c) => c.description)).toEqual(["dnf remove -y -- glibc.i686"]);
    } finally {
      process.env["PATH"] = `${bin}:${path}`;
    }
  });
});
