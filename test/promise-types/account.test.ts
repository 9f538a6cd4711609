import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mixedEtc, secretsIn } from "../helpers/account-fixture.ts";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { checkText, inControl } from "../helpers/diagnose.ts";
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

describe("account promises on `*` with different selections", () => {
  it("are about different accounts, so their attributes do not contradict", () => {
    const control = (body: string) => ({ "p.promise": inControl(body) });
    const three = checkText(
      control(`  account "*" { select = [human, password_set] max_days = 90 }
  account "*" { select = system except = ["root"] shell = "/usr/sbin/nologin" }
  account "*" { select = human shell = "/bin/bash" }
  account "*" { select = human except = ["alice"] shell = "/bin/sh" }`),
    );
    expect(three.diagnostics.filter((d) => d.code === "E111")).toEqual([]);
    const same = checkText(control(`  account "*" { select = human shell = "/bin/bash" }
  account "*" { select = human shell = "/bin/sh" }`));
    expect(same.diagnostics.filter((d) => d.code === "E111").map((d) => d.message)).toEqual(['this promise contradicts another on `account "*"`: `shell = "/bin/sh"` here, `shell = "/bin/bash"` in control "T-1"']);
  });
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

/** A temporary etc with these passwd and (when given) shadow files, and an empty group file. */
function etcWith(passwd: string, shadow?: string): string {
  const etc = join(mkdtempSync(join(tmpdir(), "cvt-account-")), "etc");
  mkdirSync(etc);
  writeFileSync(join(etc, "passwd"), passwd);
  writeFileSync(join(etc, "group"), "");
  if (shadow !== undefined) writeFileSync(join(etc, "shadow"), shadow);
  return etc;
}
