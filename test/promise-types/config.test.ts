import { chmodSync, cpSync, linkSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { renderJsonParts } from "../../src/cli/run-report.ts";
import { evaluateOne, evaluateText, type EvaluateOptions } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("config", {
  valid: [
    'config "/etc/ssh/sshd_config" { format = sshd key = "PermitRootLogin" one_of = ["no", "prohibit-password"] repair = set }',
    'config "/etc/profile.d/*.sh" { format = key_value separator = " " key = "umask" umask_at_least = 027 files = any }',
    'config "/etc/login.defs" { format = login_defs key = "PASS_MAX_DAYS" at_most = 90 at_least = 1 }',
    'config "/etc/systemd/journald.conf" { format = ini section = "Journal" key = "Storage" equals = "persistent" }',
    'config "/etc/default/useradd" { format = key_value key = "BIND_PW" matches = "^.{20,}$" secret = true }',
    'config "/etc/ssh/sshd_config" { format = sshd key = "X11Forwarding" absent = true repair = remove }',
    'config "/etc/ssh/sshd_config" { format = sshd key = "PermitEmptyPasswords" equals = "no" default = "no" }',
    'config "/etc/apt/apt.conf.d/*" { format = key_value separator = " " comment = "//" wins = last key = "APT::Get::AllowUnauthenticated" equals = "\\"true\\";" files = none }',
    'config "/etc/ssh/sshd_config" { format = sshd key = "Banner" matches = "^/etc/issue(\\\\.net)?$" }',
    'config "/etc/apt/apt.conf.d/*" { format = apt key = "APT::Get::AllowUnauthenticated" matches = "(?i)^(1|true|yes|on|enable|with)$" files = none }',
  ],
  invalid: [
    { promise: 'config "/etc/login.defs" { format = login_defs key = "UMASK" }', code: "E104" },
    { promise: 'config "/etc/login.defs" { format = login_defs key = "UMASK" equals = "027" one_of = ["077"] }', code: "E119" },
    { promise: 'config "/etc/ssh/sshd_config" { format = sshd key = "Banner" matches = "(?=x)" }', code: "E103", message: /RE2|linear/ },
    { promise: 'config "/etc/ssh/sshd_config" { format = yaml key = "Banner" absent = true }', code: "E103" },
    { promise: 'config "etc/ssh/sshd_config" { format = sshd key = "Banner" absent = true }', code: "E103" },
  ],
});

// A copy of a configuration root per test, read and repaired as a sandbox's.
let dir = "";
let root = "";

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cvt-config-"));
  root = join(dir, "root");
  cpSync("test/fixtures/roots/config-cis", root, { recursive: true });
});

const opts = (extra: EvaluateOptions = {}): EvaluateOptions => ({ roots: { proc: "/proc", etc: join(root, "etc") }, filesRoot: root, confineTo: root, ...extra });
const sshd = (body: string) => `config "/etc/ssh/sshd_config" { format = sshd ${body} }`;
const file = (p: string) => readFileSync(join(root, p), "utf8");

describe("config behaviour", () => {
  it("is kept when the setting the program uses holds", async () => {
    // from the drop-in Include reads first; README is not *.conf
    expect(await evaluateOne(sshd('key = "permitemptypasswords" equals = "no"'), opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne(sshd('key = "MaxAuthTries" at_most = 4'), opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne(sshd('key = "LoginGraceTime" equals = 60'), opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne(sshd('key = "Banner" equals = "/etc/issue.net"'), opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne(sshd('key = "HostbasedAuthentication" absent = true'), opts())).toMatchObject({ outcome: "kept" });
    // the last uncommented PASS_MIN_DAYS wins; quotes are not part of the value
    expect(await evaluateOne('config "/etc/login.defs" { format = login_defs key = "PASS_MIN_DAYS" equals = 1 }', opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('config "/etc/login.defs" { format = login_defs key = "ENCRYPT_METHOD" one_of = ["SHA512", "YESCRYPT"] }', opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('config "/etc/sysctl.d/60-net.conf" { format = sysctl key = "net.ipv4.ip_forward" equals = 0 }', opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('config "/etc/sysctl.d/60-net.conf" { format = sysctl key = "net/ipv4/conf/all/rp_filter" equals = 1 }', opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('config "/etc/default/useradd" { format = key_value key = "INACTIVE" at_most = 30 }', opts())).toMatchObject({ outcome: "kept" });
  });

  it("judges a glob of files with at least one / every / none", async () => {
    const umask = (q: string, cmp = "umask_at_least = 027") => `config "/etc/profile.d/*.sh" { format = key_value separator = " " key = "umask" ${cmp} files = ${q} }`;
    expect(await evaluateOne(umask("any"), opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne(umask("none", 'equals = "000"'), opts())).toMatchObject({ outcome: "kept" });
    const every = await evaluateOne(umask("every"), opts());
    expect(every.outcome).toBe("drift");
    expect(every.differences.map((d) => d.subject)).toEqual(["/etc/profile.d/01-locale.sh", "/etc/profile.d/90-lax.sh:2"]);
    const none = await evaluateOne(umask("none", 'equals = "022"'), opts());
    expect(none).toMatchObject({ outcome: "drift", differences: [{ subject: "/etc/profile.d/90-lax.sh", attribute: "files" }] });
    expect(await evaluateOne('config "/etc/nothing.d/*" { format = sysctl key = "a.b" equals = 1 }', opts())).toMatchObject({ outcome: "drift", differences: [{ attribute: "files" }] });
  });

  it("reports drift at the line that applies, the first for sshd and the last for login.defs", async () => {
    const r = await evaluateOne(sshd('key = "PermitRootLogin" equals = "no"'), opts());
    expect(r).toMatchObject({ outcome: "drift", differences: [{ subject: "/etc/ssh/sshd_config:6", attribute: "equals", observed: '"yes"', expected: '"no"' }] });
    const l = await evaluateOne('config "/etc/login.defs" { format = login_defs key = "PASS_MAX_DAYS" at_most = 90 }', opts());
    expect(l).toMatchObject({ outcome: "drift", differences: [{ subject: "/etc/login.defs:4", attribute: "at_most", observed: '"99999"' }] });
    const u = await evaluateOne('config "/etc/login.defs" { format = login_defs key = "UMASK" umask_at_least = 027 }', opts());
    expect(u).toMatchObject({ outcome: "drift", differences: [{ attribute: "umask_at_least", observed: '"022"' }] });
  });

  it("judges a setting inside a Match block too, and a default where no line sets the key", async () => {
    const r = await evaluateOne(sshd('key = "PasswordAuthentication" equals = "no" default = "yes"'), opts());
    expect(r.differences.map((d) => d.subject)).toEqual(["/etc/ssh/sshd_config", "/etc/ssh/sshd_config:13"]);
    expect(r.differences[1]!.reason).toContain("Match User backup");
    const unset = await evaluateOne(sshd('key = "ClientAliveCountMax" at_most = 3'), opts());
    expect(unset).toMatchObject({ outcome: "drift", differences: [{ observed: "not set" }] });
    expect(await evaluateOne(sshd('key = "ClientAliveCountMax" at_most = 3 default = "3"'), opts())).toMatchObject({ outcome: "kept" });
  });

  it("never shows a secret's value", async () => {
    writeFileSync(join(root, "etc/default/useradd"), "SHELL=/bin/sh\nBIND_PW=hunter2-not-shown\n");
    const r = await evaluateOne('config "/etc/default/useradd" { format = key_value key = "BIND_PW" matches = "^.{20,}$" secret = true }', opts());
    expect(r.outcome).toBe("drift");
    expect(JSON.stringify(r)).not.toContain("hunter2");
    expect(r.differences[0]).toMatchObject({ observed: "(withheld: secret)" });
  });

  it("is an error when the file cannot be read as one", async () => {
    mkdirSync(join(root, "etc/ssh/sshd_config.dir"));
    const r = await evaluateOne('config "/etc/ssh/sshd_config.dir" { format = sshd key = "Port" equals = 22 }', opts());
    expect(r).toMatchObject({ outcome: "error" });
    expect(r.reason).toContain("not a regular file");
  });

  it("is an error when the file is larger than 4 MiB, naming its size", async () => {
    writeFileSync(join(root, "etc/ssh/sshd_config"), "#".repeat(4 * 1024 * 1024) + "\nPort 22\n");
    const r = await evaluateOne(sshd('key = "Port" equals = 22'), opts());
    expect(r).toMatchObject({ outcome: "error" });
    expect(r.reason).toContain(`/etc/ssh/sshd_config is ${4 * 1024 * 1024 + 9} bytes, more than 4194304 bytes (4 MiB)`);
  });
});

describe("config behaviour: sudoers", () => {
  const sudo = (body: string) => `config "/etc/sudoers" { format = sudoers ${body} }`;
  it("judges Defaults through @includedir, bound Defaults too", async () => {
    expect(await evaluateOne(sudo('key = "timestamp_timeout" at_most = 15'), opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne(sudo('key = "logfile" matches = "^/var/log/"'), opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne(sudo('key = "use_pty" equals = "true"'), opts())).toMatchObject({ outcome: "drift", differences: [{ subject: "/etc/sudoers:5", observed: '"false"' }] });
    expect(await evaluateOne(sudo('key = "requiretty" absent = true'), opts())).toMatchObject({ outcome: "drift", differences: [{ subject: "/etc/sudoers:7" }] });
  });

  it("repairs a flag in its Defaults list, keeping the other parameters, and adds a missing one", async () => {
    expect(await evaluateOne(sudo('key = "use_pty" equals = "true" repair = set'), opts())).toMatchObject({ outcome: "repaired" });
    expect(file("etc/sudoers")).toContain("Defaults\tmail_badpass, use_pty\n");
    expect(await evaluateOne(sudo('key = "log_input" equals = "true" repair = set'), opts())).toMatchObject({ outcome: "repaired" });
    expect(file("etc/sudoers").endsWith("@includedir /etc/sudoers.d\nDefaults log_input\n")).toBe(true);
    // a line continued over two is read, never edited
    expect(await evaluateOne(sudo('key = "timestamp_timeout" at_most = 5 repair = set'), opts())).toMatchObject({ outcome: "drift", changes: [] });
  });
});

describe("config behaviour: ini", () => {
  const journald = (body: string) => `config "/etc/systemd/journald.conf" { format = ini section = "Journal" ${body} }`;
  it("judges a key in its section, and adds a missing one to its section or a new section", async () => {
    expect(await evaluateOne(journald('key = "Compress" equals = "yes"'), opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne(journald('key = "Storage" equals = "persistent"'), opts())).toMatchObject({ outcome: "drift", differences: [{ subject: "/etc/systemd/journald.conf:4" }] });
    expect(await evaluateOne(journald('key = "Key" absent = true'), opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne(journald('key = "ForwardToSyslog" equals = "yes" repair = set'), opts())).toMatchObject({ outcome: "repaired" });
    expect(file("etc/systemd/journald.conf")).toContain("Compress=yes\nForwardToSyslog = yes\n; ForwardToSyslog=yes\n");
    const r = await evaluateOne('config "/etc/systemd/journald.conf" { format = ini section = "New" key = "A" equals = 1 repair = set }', opts());
    expect(r).toMatchObject({ outcome: "repaired" });
    expect(file("etc/systemd/journald.conf").endsWith("Key = a b\n[New]\nA = 1\n")).toBe(true);
  });
});

describe("config behaviour: pam arguments with files = none", () => {
  it("names the line whose argument no file may have (every line of a pam stack applies: none wins)", async () => {
    mkdirSync(join(root, "etc/pam.d"), { recursive: true });
    writeFileSync(join(root, "etc/pam.d/common-password"), "password\trequisite\tpam_pwquality.so retry=3\npassword\trequisite\tpam_pwquality.so retry=3 minlen=8\n");
    const promise = 'config "/etc/pam.d/common-password" { format = pam key = "password pam_pwquality.so minlen" at_most = 13 files = none }';
    const r = await evaluateOne(promise, opts());
    expect(r).toMatchObject({ outcome: "drift" });
    expect(r.differences.map((d) => d.reason)).toEqual(['/etc/pam.d/common-password:2: minlen is "8", which no file may have']);
    writeFileSync(join(root, "etc/pam.d/common-password"), "password\trequisite\tpam_pwquality.so retry=3 minlen=14\n");
    expect(await evaluateOne(promise, opts())).toMatchObject({ outcome: "kept" });
  });
});

describe("config behaviour: apt", () => {
  const conf = (name: string, text: string) => {
    mkdirSync(join(root, "etc/apt/apt.conf.d"), { recursive: true });
    writeFileSync(join(root, "etc/apt/apt.conf.d", name), text);
  };
  const unauthenticated = (body: string) => `config "/etc/apt/apt.conf.d/*" { format = apt key = "APT::Get::AllowUnauthenticated" ${body} }`;
  const truthy = 'matches = "(?i)^(1|true|yes|on|enable|with)$" files = none';

  it("finds an unauthenticated-packages setting however apt.conf spells it, and only where apt reads it", async () => {
    conf("10flat", 'APT::Get::AllowUnauthenticated "false";\n');
    conf("20nested", "// APT::Get::AllowUnauthenticated \"true\";\napt {\n  get { allowunauthenticated \"On\"; };\n};\n");
    const r = await evaluateOne(unauthenticated(truthy), opts());
    expect(r).toMatchObject({ outcome: "drift", differences: [{ subject: "/etc/apt/apt.conf.d/20nested", observed: "holds" }] });
    expect(r.differences[0]!.reason).toContain("/etc/apt/apt.conf.d/20nested:3: apt::get::allowunauthenticated is \"On\", which no file may have");
    conf("20nested", 'apt { get { allowunauthenticated "On"; }; };\n#clear APT::Get;\n');
    expect(await evaluateOne(unauthenticated(truthy), opts())).toMatchObject({ outcome: "kept" });
  });

  it("repairs a top-level setting in place or by a line at the end, but not one inside a scope", async () => {
    conf("50a", 'APT::Get::AllowUnauthenticated "yes";\nAcquire::Retries "3";\n');
    expect(await evaluateOne('config "/etc/apt/apt.conf.d/50a" { format = apt key = "apt::get::allowunauthenticated" equals = "false" repair = set }', opts())).toMatchObject({ outcome: "repaired" });
    expect(file("etc/apt/apt.conf.d/50a")).toBe('APT::Get::AllowUnauthenticated "false";\nAcquire::Retries "3";\n');
    expect(await evaluateOne('config "/etc/apt/apt.conf.d/50a" { format = apt key = "APT::Sandbox::User" equals = "_apt" repair = set }', opts())).toMatchObject({ outcome: "repaired" });
    expect(file("etc/apt/apt.conf.d/50a").endsWith('Acquire::Retries "3";\nAPT::Sandbox::User "_apt";\n')).toBe(true);
    expect(await evaluateOne('config "/etc/apt/apt.conf.d/50a" { format = apt key = "Acquire::Retries" absent = true repair = remove }', opts())).toMatchObject({ outcome: "repaired" });
    expect(file("etc/apt/apt.conf.d/50a")).not.toContain("Retries");
    const nested = 'APT { Get { AllowUnauthenticated "yes"; }; };\n';
    conf("60b", nested);
    expect(await evaluateOne('config "/etc/apt/apt.conf.d/60b" { format = apt key = "APT::Get::AllowUnauthenticated" equals = "false" repair = set }', opts())).toMatchObject({ outcome: "drift", changes: [] });
    expect(await evaluateOne('config "/etc/apt/apt.conf.d/60b" { format = apt key = "APT::Get::AllowUnauthenticated" absent = true repair = remove }', opts())).toMatchObject({ outcome: "drift", changes: [] });
    expect(file("etc/apt/apt.conf.d/60b")).toBe(nested);
  });

  it("notes a syntax error, judging what apt read before it", async () => {
    conf("70c", 'APT::Get::AllowUnauthenticated "1";\nBroken x y;\n');
    const r = await evaluateOne(unauthenticated(truthy), opts());
    expect(r).toMatchObject({ outcome: "drift" });
    expect(JSON.stringify(r)).toContain("Extra junk after value");
  });
});

describe("config behaviour: pam", () => {
  const pam = (f: string, body: string) => `config "/etc/pam.d/${f}" { format = pam ${body} }`;
  it("judges every line of a stack, and repairs arguments", async () => {
    expect(await evaluateOne(pam("common-password", 'key = "password pam_pwquality.so retry" at_most = 3'), opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne(pam("common-password", 'key = "password pam_unix.so" absent = false'), opts())).toMatchObject({ outcome: "kept" });
    const nullok = await evaluateOne(pam("sshd", 'key = "auth pam_unix.so nullok" absent = true repair = remove'), opts());
    expect(nullok).toMatchObject({ outcome: "repaired", changes: [expect.objectContaining({ description: expect.stringContaining("common-auth: remove auth pam_unix.so nullok (line 1)") })] });
    expect(file("etc/pam.d/common-auth").split("\n")[0]).toBe("auth\t[success=1 default=ignore]\tpam_unix.so");
    // common-password's nullok is in the password stack, which `auth` does not read
    expect(file("etc/pam.d/common-password")).toContain("yescrypt nullok # local");
    const remember = await evaluateOne(pam("common-password", 'key = "password pam_unix.so remember" at_least = 5 repair = set'), opts());
    expect(remember).toMatchObject({ outcome: "repaired" });
    expect(file("etc/pam.d/common-password")).toContain("pam_unix.so obscure use_authtok try_first_pass yescrypt nullok remember=5 # local\n");
    expect(await evaluateOne(pam("common-password", 'key = "password pam_faillock.so" absent = false repair = set'), opts())).toMatchObject({ outcome: "drift", changes: [] });
  });
});

describe("config behaviour: repairs", () => {
  it("sets a value in place, keeping every other byte, the mode and the owner", async () => {
    const path = join(root, "etc/ssh/sshd_config");
    chmodSync(path, 0o600);
    const before = file("etc/ssh/sshd_config");
    const r = await evaluateOne(sshd('key = "PermitRootLogin" equals = "no" repair = set'), opts());
    expect(r).toMatchObject({ outcome: "repaired" });
    expect(r.changes).toEqual([expect.objectContaining({ status: "applied", description: `edit ${path}: set PermitRootLogin to "no" (line 6)` })]);
    expect(file("etc/ssh/sshd_config")).toBe(before.replace("permitrootlogin yes", "permitrootlogin no"));
    expect(statSync(path).mode & 0o7777).toBe(0o600);
  });

  it("adds a line before the first Match block where none sets the key, and values in Match blocks that fail", async () => {
    const r = await evaluateOne(sshd('key = "PasswordAuthentication" equals = "no" repair = set'), opts());
    expect(r).toMatchObject({ outcome: "repaired" });
    const lines = file("etc/ssh/sshd_config").split("\n");
    expect(lines[11]).toBe("PasswordAuthentication no");
    expect(lines[12]).toBe("Match User backup");
    expect(lines[13]).toBe("\tPasswordAuthentication no");
  });

  it("sets login.defs's last setting, and a umask to at least as strict", async () => {
    expect(await evaluateOne('config "/etc/login.defs" { format = login_defs key = "PASS_MAX_DAYS" at_most = 90 repair = set }', opts())).toMatchObject({ outcome: "repaired" });
    expect(file("etc/login.defs")).toContain("#PASS_MAX_DAYS  90\nPASS_MAX_DAYS\t90\n");
    expect(await evaluateOne('config "/etc/login.defs" { format = login_defs key = "UMASK" umask_at_least = 027 repair = set }', opts())).toMatchObject({ outcome: "repaired" });
    expect(file("etc/login.defs")).toContain("UMASK\t\t027\n");
    const every = await evaluateOne('config "/etc/profile.d/*.sh" { format = key_value separator = " " key = "umask" umask_at_least = 027 repair = set }', opts());
    expect(every).toMatchObject({ outcome: "repaired" });
    expect(file("etc/profile.d/90-lax.sh")).toBe("# left by an installer\numask 027\n");
    expect(file("etc/profile.d/01-locale.sh")).toBe("# locale\nexport LANG=C.UTF-8\numask 027\n");
  });

  it("removes every line that sets a key promised absent, in Match blocks too", async () => {
    const r = await evaluateOne(sshd('key = "X11Forwarding" absent = true repair = remove'), opts());
    expect(r).toMatchObject({ outcome: "repaired" });
    expect(file("etc/ssh/sshd_config")).not.toMatch(/X11Forwarding/);
    expect(file("etc/ssh/sshd_config")).toContain("MaxAuthTries 4\nLoginGraceTime=60\n");
  });

  it("edits the included file where the setting that applies is", async () => {
    const r = await evaluateOne(sshd('key = "ClientAliveInterval" at_most = 120 repair = set'), opts());
    expect(r).toMatchObject({ outcome: "repaired" });
    expect(file("etc/ssh/sshd_config.d/10-hardening.conf")).toBe("PermitEmptyPasswords no\nClientAliveInterval 120\n");
  });

  it("keeps the edited file's content out of the JSON report, a secret's value with it", async () => {
    writeFileSync(join(root, "etc/default/useradd"), "SHELL=/bin/sh\nOTHER_PW=other-line-secret\nBIND_PW=old\n");
    const e = await evaluateText('config "/etc/default/useradd" { format = key_value key = "BIND_PW" equals = "new-secret-value" secret = true repair = set }', opts());
    expect(e.results[0]).toMatchObject({ outcome: "repaired" });
    expect(file("etc/default/useradd")).toBe("SHELL=/bin/sh\nOTHER_PW=other-line-secret\nBIND_PW=new-secret-value\n");
    const json = [...renderJsonParts(e, { run: 1, host: "h", started: "", finished: "", policy: "p", dryRun: false, stateDir: "/x", notes: [] })].join("");
    expect(json).toContain('"op": "edit"');
    expect(json).not.toContain("other-line-secret");
    expect(json).not.toMatch(/"old"|new-secret-value/);
  });

  it("plans the edit in a dry run and changes nothing", async () => {
    const before = file("etc/ssh/sshd_config");
    const r = await evaluateOne(sshd('key = "PermitRootLogin" equals = "no" repair = set'), opts({ dryRun: true }));
    expect(r.changes).toEqual([expect.objectContaining({ status: "planned" })]);
    expect(file("etc/ssh/sshd_config")).toBe(before);
  });

  it("fails rather than edit through a symbolic link, and holds an edit of a hard-linked file", async () => {
    const real = join(root, "etc/login.defs.real");
    cpSync(join(root, "etc/login.defs"), real);
    const link = join(root, "etc/login.defs");
    const { rmSync } = await import("node:fs");
    rmSync(link);
    symlinkSync("login.defs.real", link);
    const r = await evaluateOne('config "/etc/login.defs" { format = login_defs key = "PASS_MAX_DAYS" at_most = 90 repair = set }', opts());
    expect(r).toMatchObject({ outcome: "failed", changes: [expect.objectContaining({ status: "failed" })] });
    expect(r.changes[0]!.detail).toMatch(/symbolic link/);
    expect(readFileSync(real, "utf8")).toContain("PASS_MAX_DAYS\t99999");
    linkSync(join(root, "etc/default/useradd"), join(dir, "useradd.other"));
    const h = await evaluateOne('config "/etc/default/useradd" { format = key_value key = "INACTIVE" equals = 30 repair = set }', opts());
    expect(h.changes).toEqual([expect.objectContaining({ status: "held" })]);
    expect(file("etc/default/useradd")).toContain("INACTIVE=-1");
  });

  it("does not write a value that would not read back as promised", async () => {
    writeFileSync(join(root, "etc/ssh/sshd_config"), "Banner none\n");
    const r = await evaluateOne(sshd('key = "Banner" equals = "# not a banner" repair = set'), opts());
    expect(r).toMatchObject({ outcome: "drift", changes: [] });
    expect(file("etc/ssh/sshd_config")).toBe("Banner none\n");
  });
});
