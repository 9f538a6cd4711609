import { createHash } from "node:crypto";
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toolRoot } from "../../src/evaluator/account-repair.ts";
import { mixedEtc, secretsIn } from "../helpers/account-fixture.ts";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { evaluateOne, evaluateText } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("account", {
  valid: [
    'account "*" { uid0_only = ["root"] unique = true shadowed = true }',
    'account "*" { select = human empty_password = false home_exists = true home_owned = true home_max_mode = 0750 repair = home }',
    'account "*" { select = system except = ["root", "sync", "halt", "shutdown"] shell = ["/usr/sbin/nologin", "/bin/false"] repair = shell }',
    'account "*" { select = [human, password_set] max_days = 90 min_days = 1 warn_days = 7 inactive_days = 30 repair = aging }',
    'account "games" { exists = false }',
    'account "olduser" { locked = true expired = true repair = [lock, expire] }',
  ],
  invalid: [
    { promise: 'account "bad name" { locked = true }', code: "E103", message: /a user name/ },
    { promise: 'account "*" { min_days = 30 max_days = 7 }', code: "E119" },
    { promise: 'account "alice" { locked = false repair = unlock }', code: "E103", message: /`unlock` is not a valid value/ },
    { promise: 'account "*" { select = admins unique = true }', code: "E103" },
    { promise: 'account "*" { select = human }', code: "E104" },
  ],
});

const roots = { proc: "/proc", etc: mixedEtc };
// the fixture's carol expired on day 19000 (2022-01-08)
const now = new Date("2026-12-06T12:00:00Z");

describe("account behaviour", () => {
  it("is kept when the account is as promised", async () => {
    const r = await evaluateOne(
      `account "alice" { uid0_only = ["root"] unique = true empty_password = false locked = false expired = false max_days = 90 min_days = 1 warn_days = 7 inactive_days = 30 shell = "/bin/bash" }`,
      { roots, now },
    );
    expect([r.outcome, r.reason, r.differences]).toEqual(["kept", "as promised", []]);
    expect(r.notes).toEqual([
      `skipped ${mixedEtc}/shadow:9: ends with a carriage return (a CRLF line): shadow-utils reads no entry from it`,
      `skipped ${mixedEtc}/shadow:12: expected 9 fields separated by \`:\`, got 1`,
      `skipped ${mixedEtc}/shadow:13: malformed entry for \`weird\`: field 3 is not a number of days`,
      `skipped ${mixedEtc}/shadow:14: malformed entry: the first field is not a user name`,
      `skipped ${mixedEtc}/shadow:15: NIS compat entry`,
    ]);
    expect((await evaluateOne(`account "carol" { locked = true expired = true }`, { roots, now })).outcome).toBe("kept");
  });

  it("finds every uid 0 account but the named ones, and shared uids", async () => {
    const r = await evaluateOne(`account "*" { uid0_only = ["root"] unique = true }`, { roots, now });
    expect(r.outcome).toBe("drift");
    expect(r.differences).toEqual([
      { subject: "root", attribute: "unique", expected: "uid 0 its own", observed: "uid 0 shared", reason: "root: shares uid 0 with toor" },
      { subject: "bob", attribute: "unique", expected: "uid 1001 its own", observed: "uid 1001 shared", reason: "bob: shares uid 1001 with mallory" },
      { subject: "toor", attribute: "uid0_only", expected: "uid 0 only for root", observed: "uid 0", reason: "toor: has uid 0, which only root may have" },
      { subject: "toor", attribute: "unique", expected: "uid 0 its own", observed: "uid 0 shared", reason: "toor: shares uid 0 with root" },
      { subject: "mallory", attribute: "unique", expected: "uid 1001 its own", observed: "uid 1001 shared", reason: "mallory: shares uid 1001 with bob" },
    ]);
  });

  it("finds passwords held in /etc/passwd rather than /etc/shadow", async () => {
    const r = await evaluateOne(`account "*" { shadowed = true }`, { roots, now });
    expect(r.differences).toEqual([{ subject: "legacy", attribute: "shadowed", expected: "x", observed: "a $6$ hash", reason: "legacy: the password is held in /etc/passwd (a $6$ hash), which every user can read, not in /etc/shadow" }]);
  });

  it("finds empty passwords in /etc/shadow and in /etc/passwd", async () => {
    const r = await evaluateOne(`account "*" { empty_password = false }`, { roots, now });
    expect(r.differences.map((d) => d.reason)).toEqual(["bob: the password field in /etc/shadow is empty: no password is needed to log in"]);
    const etc = etcWith("u1:x:1000:1000::/home/u1:/bin/bash\nu2::1001:1001::/home/u2:/bin/bash\n", "u1:$y$j9T$abcdefgh$ijklmnopqrstuvwxyz0123456789ABCDEFGH:20000:0:99999:7:::\n");
    const p = await evaluateOne(`account "*" { empty_password = false }`, { roots: { proc: "/proc", etc }, now });
    expect(p.differences.map((d) => d.reason)).toEqual(["u2: the password field in /etc/passwd is empty: no password is needed to log in"]);
  });

  it("judges aging per account, as in /etc/shadow, for the accounts `select` picks", async () => {
    const r = await evaluateOne(`account "*" { select = [human, password_set] max_days = 90 min_days = 1 warn_days = 14 inactive_days = 30 }`, { roots, now });
    expect(r.differences.map((d) => d.reason)).toEqual([
      "alice: warning before the password expires is 7 days, promised at least 14",
      "legacy: has no entry in /etc/shadow, so no password maximum age; promised at most 90 days",
      "legacy: has no entry in /etc/shadow, so no password minimum age; promised at least 1 days",
      "legacy: has no entry in /etc/shadow, so no warning before the password expires; promised at least 14 days",
      "legacy: has no entry in /etc/shadow, so no inactivity lock after the password expires; promised at most 30 days",
    ]);
  });

  it("judges system accounts' shells, leaving out those named in `except`", async () => {
    const r = await evaluateOne(`account "*" { select = system except = ["root"] shell = ["/usr/sbin/nologin", "/bin/false"] }`, { roots, now });
    expect(r.differences.map((d) => d.reason)).toEqual(["bin: login shell is /bin/sh, promised one of /usr/sbin/nologin, /bin/false", "toor: login shell is /bin/sh, promised one of /usr/sbin/nologin, /bin/false"]);
    // `select` narrows `*` only: a named account is judged whatever kind it is
    expect((await evaluateOne(`account "daemon" { select = human shell = "/bin/bash" }`, { roots, now })).reason).toBe("daemon: login shell is /usr/sbin/nologin, promised /bin/bash");
  });

  it("judges locked and expired accounts", async () => {
    const r = await evaluateOne(`account "*" { select = human locked = true expired = true }`, { roots, now });
    expect(r.differences.map((d) => d.reason)).toEqual([
      "alice: password is not locked (a $6$ hash), promised locked",
      "alice: has not expired (no expiry date), promised expired",
      "bob: password is not locked (empty), promised locked",
      "bob: has not expired (no expiry date), promised expired",
      "dave: has not expired (no expiry date), promised expired",
      // its shadow line ends in CR: shadow-utils sees no entry, and neither does Covenant
      "mallory: has no entry in /etc/shadow, promised locked",
      "mallory: has no entry in /etc/shadow, promised expired",
      "legacy: password is not locked (a $6$ hash), promised locked",
      "legacy: has no entry in /etc/shadow, promised expired",
    ]);
    const c = await evaluateOne(`account "carol" { locked = false expired = false }`, { roots, now });
    expect(c.differences.map((d) => d.reason)).toEqual(["carol: password is locked, promised not", "carol: expired on 2022-01-08, promised not"]);
  });

  it("reports a named account that is missing, or present when promised absent", async () => {
    expect(await evaluateOne(`account "zed" { locked = true }`, { roots, now })).toMatchObject({ outcome: "drift", reason: "there is no account zed in /etc/passwd" });
    expect((await evaluateOne(`account "zed" { exists = false }`, { roots, now })).outcome).toBe("kept");
    expect(await evaluateOne(`account "toor" { exists = false }`, { roots, now })).toMatchObject({ outcome: "drift", reason: "account toor exists (uid 0), promised not to" });
  });

  it("is an error when /etc/shadow cannot be read, and does not read it when no attribute needs it", async () => {
    const etc = etcWith("u1:x:1000:1000::/home/u1:/bin/bash\n");
    const r = await evaluateOne(`account "u1" { locked = true }`, { roots: { proc: "/proc", etc }, now });
    expect([r.outcome, r.reason]).toEqual(["error", `cannot read the password state: ${etc}/shadow does not exist`]);
    expect((await evaluateOne(`account "u1" { shell = "/bin/bash" uid0_only = [] }`, { roots: { proc: "/proc", etc }, now })).outcome).toBe("kept");
  });

  it("lets no password hash into a result: reasons, differences, notes", async () => {
    const e = await evaluateText(
      `account "*" { uid0_only = ["root"] unique = true shadowed = true empty_password = false locked = true expired = true max_days = 1 min_days = 1 warn_days = 99 inactive_days = 1 shell = "/x" }`,
      { roots, now },
    );
    expect(e.results[0]!.differences.length).toBeGreaterThan(30);
    expect(secretsIn(JSON.stringify(e))).toEqual([]);
  });

  it("points the tools at a relocated /etc with -R, and at nothing it cannot name", () => {
    expect([toolRoot("/etc"), toolRoot("/etc/"), toolRoot("/host/etc"), toolRoot("/srv/accounts")]).toEqual([undefined, undefined, "/host", null]);
  });
});

describe("account home directories", () => {
  const root = mkdtempSync(join(tmpdir(), "cvt-account-home-"));
  const etc = join(root, "etc");
  mkdirSync(etc);
  writeFileSync(join(etc, "passwd"), ["u1:x:1000:1000::/home/u1:/bin/bash", "u2:x:1001:1001::/home/u2:/bin/bash", "u3:x:1002:1002::/home/u3:/bin/bash", "u4:x:1003:1003::/home/u4:/bin/bash", ""].join("\n"));
  writeFileSync(join(etc, "group"), "u1:x:1000:\n");
  const home = (name: string, mode: number, uid: number) => {
    const path = join(root, "home", name);
    mkdirSync(path, { recursive: true });
    chmodSync(path, mode);
    if (process.getuid?.() === 0) chownSync(path, uid, uid);
    return path;
  };
  const opts = { roots: { proc: "/proc", etc }, filesRoot: root, now };
  const asRoot = process.getuid?.() === 0;

  it.skipIf(!asRoot)("judges existence, owner and mode, and repairs mode and owner with `repair = home`", async () => {
    home("u1", 0o750, 1000);
    const loose = home("u2", 0o755, 1001);
    const stolen = home("u3", 0o700, 1000);
    const policy = `account "*" { home_exists = true home_owned = true home_max_mode = 0750 }`;
    const r = await evaluateOne(policy, opts);
    expect(r.differences.map((d) => d.reason)).toEqual([
      "u2: home directory /home/u2 has mode 0755, bits outside 0750 (0005)",
      "u3: home directory /home/u3 is owned by uid 1000, not by the account (uid 1002)",
      "u4: home directory /home/u4 does not exist",
    ]);
    const fixed = await evaluateOne(policy.replace("}", "repair = home }"), opts);
    expect(fixed.outcome).toBe("failed"); // u4's missing home is not created
    expect(fixed.changes.map((c) => [c.description, c.status])).toEqual([
      [`chmod 0750 ${loose}`, "applied"],
      [`chown u3 ${stolen}`, "applied"],
    ]);
    expect([statSync(loose).mode & 0o7777, statSync(stolen).uid]).toEqual([0o750, 1002]);
    home("u4", 0o700, 1003);
    expect((await evaluateOne(policy, opts)).outcome).toBe("kept");
  });

  it("takes a link where a home should be for no home, and changes nothing through it", async () => {
    const etc2 = etcWith("u9:x:1009:1009::/home/u9:/bin/bash\n");
    const root2 = join(etc2, "..");
    mkdirSync(join(root2, "home"));
    const { symlinkSync } = await import("node:fs");
    symlinkSync("/etc", join(root2, "home", "u9"));
    const r = await evaluateOne(`account "u9" { home_owned = true home_max_mode = 0700 repair = home }`, { roots: { proc: "/proc", etc: etc2 }, filesRoot: root2, now });
    expect([r.outcome, r.reason, r.changes]).toEqual(["drift", "u9: home directory /home/u9 is a symbolic link (to /etc)", []]);
  });
});

// Repairs run the real usermod and chage, pointed at a fixture root with -R, through stand-ins
// first on PATH that record the argv and refuse any call not confined to that root: this
// machine's own accounts are never changed (checked by their digests).
const asRoot = process.getuid?.() === 0 && existsSync("/usr/sbin/usermod") && existsSync("/usr/bin/chage");
describe.skipIf(!asRoot)("account repairs through usermod and chage", () => {
  const dir = mkdtempSync(join(tmpdir(), "cvt-account-tools-"));
  const bin = join(dir, "bin");
  const log = join(dir, "calls.log");
  const root = join(dir, "root");
  const realDigest = () => ["/etc/passwd", "/etc/shadow"].map((f) => createHash("sha256").update(readFileSync(f)).digest("hex"));
  const before = realDigest();
  const path = process.env["PATH"];

  const standIn = (name: string, real: string) => {
    writeFileSync(
      join(bin, name),
      `#!/bin/sh
echo "${name} $*" >> '${log}'
if [ "$1" != "-R" ] || [ "$2" != '${root}' ]; then echo "stand-in: refused, not confined to the fixture root" >&2; exit 3; fi
if [ -e '${root}/refuse' ]; then echo "${name}: cannot lock /etc/shadow; try again later." >&2; exit 1; fi
if [ -e '${root}/noop' ]; then exit 0; fi
exec ${real} "$@"
`,
    );
    chmodSync(join(bin, name), 0o755);
  };

  beforeAll(() => {
    mkdirSync(bin);
    standIn("usermod", "/usr/sbin/usermod");
    standIn("chage", "/usr/bin/chage");
    process.env["PATH"] = `${bin}:${path}`;
  });
  afterAll(() => {
    process.env["PATH"] = path;
    expect(realDigest()).toEqual(before);
  });

  /** a fresh fixture root: passwd, shadow, group, gshadow and login.defs below root/etc */
  function fixture(): { proc: string; etc: string } {
    rmSync(root, { recursive: true, force: true });
    mkdirSync(join(root, "etc"), { recursive: true });
    writeFileSync(log, "");
    writeFileSync(
      join(root, "etc", "passwd"),
      ["root:x:0:0:root:/root:/bin/bash", "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin", "bin:x:2:2:bin:/bin:/bin/sh", "alice:x:1000:1000::/home/alice:/bin/bash", "erin:x:1001:1001::/home/erin:/bin/bash", "bob:x:1002:1002::/home/bob:/bin/bash", "olduser:x:1003:1003::/home/olduser:/bin/bash", ""].join("\n"),
    );
    writeFileSync(
      join(root, "etc", "shadow"),
      [
        "root:*:20000:0:99999:7:::",
        "daemon:*:20000:0:99999:7:::",
        "bin:*:20000:0:99999:7:::",
        "alice:$6$Q9xKnownSalt$Ueup10TisB6Ws4ZVF/GNrctXv7UqbVgY4iK8TOQWovjXUsQM.qwEVbsjVKWt2.SLI1p5azTW2LCglnZgJUQLw/:20000:1:90:7:::",
        "erin:$y$j9T$F5Jx5fExrKuPp53xLKQ..1$Ey8cPUbvMtXBpyhFPj13PJYo0WOpoMNanlb/CqXyoTD:20000:0:99999:7:::",
        "bob::20000:0:99999:7:::",
        "olduser:$1$Md5Salt8$LBdodkCWj8i0d6mBLDgAo0:20000:0:99999:7:::",
        "",
      ].join("\n"),
    );
    chmodSync(join(root, "etc", "shadow"), 0o640);
    writeFileSync(join(root, "etc", "group"), "root:x:0:\ndaemon:x:1:\nbin:x:2:\nalice:x:1000:\nerin:x:1001:\nbob:x:1002:\nolduser:x:1003:\n");
    writeFileSync(join(root, "etc", "gshadow"), "root:*::\n");
    cpSync(join(mixedEtc, "login.defs"), join(root, "etc", "login.defs"));
    return { proc: "/proc", etc: join(root, "etc") };
  }
  const calls = () => readFileSync(log, "utf8").trim().split("\n").filter(Boolean);
  const shadowLine = (name: string) => readFileSync(join(root, "etc", "shadow"), "utf8").split("\n").find((l) => l.startsWith(`${name}:`))!;

  it("sets aging with chage, only the fields that differ, the user after --", async () => {
    const r = await evaluateOne(`account "*" { select = [human, password_set] max_days = 90 min_days = 1 warn_days = 7 repair = aging }`, { roots: fixture(), now });
    expect(r.outcome).toBe("repaired");
    expect(r.reason).toBe(`erin: password maximum age is 99999 days, promised at most 90 (and 3 more); fixed: chage -R ${root} -m 1 -M 90 -- erin; chage -R ${root} -m 1 -M 90 -- olduser`);
    expect(calls()).toEqual([`chage -R ${root} -m 1 -M 90 -- erin`, `chage -R ${root} -m 1 -M 90 -- olduser`]);
    expect(shadowLine("erin").split(":").slice(2)).toEqual(["20000", "1", "90", "7", "", "", ""]);
  });

  it("locks an empty password and an account promised locked with usermod -L, keeping the hash behind the lock", async () => {
    const roots2 = fixture();
    const r = await evaluateOne(`account "bob" { empty_password = false repair = lock }`, { roots: roots2, now });
    expect([r.outcome, calls()]).toEqual(["repaired", [`usermod -R ${root} -L -- bob`]]);
    expect(shadowLine("bob").split(":")[1]).toBe("!");
    const o = await evaluateOne(`account "olduser" { locked = true expired = true repair = [lock, expire] }`, { roots: roots2, now });
    expect(o.outcome).toBe("repaired");
    expect(calls().slice(1)).toEqual([`usermod -R ${root} -L -- olduser`, `chage -R ${root} -E 1 -- olduser`]);
    expect(shadowLine("olduser")).toBe("olduser:!$1$Md5Salt8$LBdodkCWj8i0d6mBLDgAo0:20000:0:99999:7::1:");
    expect(secretsIn(JSON.stringify(o))).toEqual([]);
  });

  it("sets system accounts' shells with usermod -s", async () => {
    const r = await evaluateOne(`account "*" { select = system except = ["root"] shell = ["/usr/sbin/nologin", "/bin/false"] repair = shell }`, { roots: fixture(), now });
    expect([r.outcome, calls()]).toEqual(["repaired", [`usermod -R ${root} -s /usr/sbin/nologin -- bin`]]);
    expect(readFileSync(join(root, "etc", "passwd"), "utf8")).toContain("bin:x:2:2:bin:/bin:/usr/sbin/nologin\n");
  });

  it("fails, saying why, when the tool refuses or changes nothing", async () => {
    const roots2 = fixture();
    writeFileSync(join(root, "refuse"), "");
    const r = await evaluateOne(`account "erin" { max_days = 90 repair = aging }`, { roots: roots2, now });
    expect([r.outcome, r.reason]).toEqual(["failed", `repair failed: chage -R ${root} -M 90 -- erin: ${bin}/chage -R exited with status 1: chage: cannot lock /etc/shadow; try again later.`]);
    rmSync(join(root, "refuse"));
    writeFileSync(join(root, "noop"), "");
    const n = await evaluateOne(`account "erin" { max_days = 90 repair = aging }`, { roots: roots2, now });
    expect([n.outcome, n.reason]).toEqual(["failed", "still not as promised after repair: erin: password maximum age is 99999 days, promised at most 90"]);
  });

  it("does not chroot into accounts another user can change (they could name their own NSS modules)", async () => {
    const roots2 = fixture();
    chmodSync(join(root, "etc"), 0o777);
    const r = await evaluateOne(`account "erin" { max_days = 90 repair = aging }`, { roots: roots2, now });
    expect(r.outcome).toBe("failed");
    expect(r.reason).toContain(`repair failed: chage -R ${root} -M 90 -- erin: ${bin}/chage was not run: the directory ${root}/etc is writable by group and others (mode 0777)`);
    expect(calls()).toEqual([]);
  });

  it("plans without running in a dry run, holds in a sandbox, and runs nothing without `repair`", async () => {
    const roots2 = fixture();
    const dry = await evaluateOne(`account "erin" { max_days = 90 repair = aging }`, { roots: roots2, now, dryRun: true });
    expect([dry.outcome, dry.changes.map((c) => c.status)]).toEqual(["drift", ["planned"]]);
    const held = await evaluateOne(`account "erin" { max_days = 90 repair = aging }`, { roots: roots2, now, confineTo: join(root, "files") });
    expect([held.outcome, held.changes.map((c) => [c.status, c.detail])]).toEqual(["drift", [["held", `the sandbox changes only files below ${join(root, "files")}`]]]);
    expect((await evaluateOne(`account "erin" { max_days = 90 }`, { roots: roots2, now })).changes).toEqual([]);
    expect(calls()).toEqual([]);
    expect(shadowLine("erin")).toContain(":99999:");
  });
});

// The whole way, as users run it: the report (text and JSON), the history and the store's own
// bytes, after a run that finds every kind of deficiency on the fixture and plans its repairs.
describe("account passwords in reports and the store", () => {
  it("keeps no hash, salt or part of one anywhere a run writes", () => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), "cvt-account-store-"));
    const state = join(dir, "state");
    const policy = join(dir, "accounts.promise");
    writeFileSync(
      policy,
      `stakeholder security { description = "the security team" }
control "ACC-1" {
  title = "local accounts"
  owner = security
  account "*" {
    uid0_only      = ["root"]
    unique         = true
    empty_password = false
    locked         = true
    expired        = true
    max_days       = 90
    min_days       = 1
    warn_days      = 7
    inactive_days  = 30
    shell          = "/usr/sbin/nologin"
    repair         = [lock, expire, aging, shell]
  }
}
`,
    );
    // a copy: as root, the run's repairs change it with usermod -R and chage -R
    const etc = join(dir, "etc");
    cpSync(mixedEtc, etc, { recursive: true });
    const run = (extra: string[]) => covenant(["run", policy, "--etc-root", etc, "--state", state, ...extra]);
    const text = run(["--dry-run"]);
    const json = run(["--json"]);
    expect([text.code, json.code]).toEqual([1, 1]);
    expect(text.out).toContain("root: shares uid 0 with toor");
    const history = covenant(["history", "--state", state, "--json"]);
    expect(history.out).toContain("shares uid 1001 with mallory");
    const stored = readdirSync(state).map((f) => readFileSync(join(state, f)).toString("latin1"));
    expect(stored.join("\n")).toContain("promised locked");
    for (const out of [text.out, text.err, json.out, json.err, history.out, ...stored]) expect(secretsIn(out)).toEqual([]);
    if (process.getuid?.() === 0) expect(history.out).toContain(`usermod -R ${dir} -L -- root`);
  });
});

// A sandbox.json's `accounts`: the sandbox's passwd, shadow and login.defs hold them, so that a
// policy's account controls can be tried on fixtures that pass and fixtures that fail.
describe("account promises in a sandbox", () => {
  it("judges the accounts of sandbox.json, and holds their repairs", () => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), "cvt-account-sandbox-"));
    const policyDir = join(dir, "policy");
    mkdirSync(policyDir);
    writeFileSync(
      join(policyDir, "sandbox.json"),
      JSON.stringify({
        users: ["root", "daemon"],
        accounts: {
          root: { uid: 0, home: "/root" },
          toor: { uid: 0, shell: "/bin/sh" },
          alice: { uid: 1000, max_days: 90, min_days: 1, warn_days: 7 },
          bob: { uid: 1001, password: "empty", max_days: 99999 },
          olduser: { uid: 1002, password: "locked", expires: "2022-01-08" },
        },
      }),
    );
    writeFileSync(
      join(policyDir, "accounts.promise"),
      `stakeholder security { description = "the security team" }
control "ACC-1" {
  title = "local accounts"
  owner = security
  account "*" { uid0_only = ["root"] }
  account "*" { select = human empty_password = false max_days = 90 repair = [lock, aging] }
  account "olduser" { locked = true expired = true }
}
`,
    );
    const r = covenant(["run", "--json", "--sandbox-dir", join(dir, "sandbox"), policyDir]);
    const results = (JSON.parse(r.out) as { controls: { promises: { outcome: string; differences: { reason: string }[]; changes: { status: string }[] }[] }[] }).controls[0]!.promises;
    expect(results.map((p) => [p.outcome, p.differences.map((d) => d.reason)])).toEqual([
      ["drift", ["toor: has uid 0, which only root may have"]],
      ["drift", ["bob: the password field in /etc/shadow is empty: no password is needed to log in", "bob: password maximum age is 99999 days, promised at most 90", "olduser: no password maximum age is set, promised at most 90 days"]],
      ["kept", []],
    ]);
    expect(results[1]!.changes.map((c) => c.status)).toEqual(["held", "held", "held"]);
    expect(readFileSync(join(dir, "sandbox", "etc", "shadow"), "utf8")).toContain("bob::20000::99999::::\n");
  });

  it("refuses account fields that would forge lines of passwd", () => {
    const dir = mkdtempSync(join(tmpdir(), "cvt-account-sandbox-"));
    writeFileSync(join(dir, "sandbox.json"), JSON.stringify({ accounts: { eve: { shell: "/bin/sh\nroot2:x:0:0::/:/bin/sh", password: "none", max_days: -1 }, "bad:name": {} } }));
    writeFileSync(join(dir, "p.promise"), `control "A" {\n  title = "a"\n  account "*" { unique = true }\n}\n`);
    const r = covenant(["run", "--sandbox-dir", join(dir, "sandbox"), dir]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("accounts.eve.shell must be an absolute path without `:` or line breaks");
    expect(r.err).toContain('accounts.eve.password must be "hashed", "locked" or "empty"');
    expect(r.err).toContain("accounts.eve.max_days must be a number of days from 0 to 99999");
    expect(r.err).toContain("is not an account name");
  });
});

/** A temporary etc with these passwd and (when given) shadow files, and an empty group file. */
function etcWith(passwd: string, shadow?: string): string {
  const etc = join(mkdtempSync(join(tmpdir(), "cvt-account-")), "etc");
  mkdirSync(etc);
  writeFileSync(join(etc, "passwd"), passwd);
  writeFileSync(join(etc, "group"), "");
  if (shadow !== undefined) writeFileSync(join(etc, "shadow"), shadow);
  return etc;
}
