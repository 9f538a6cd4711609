// account-repair.ts: the changes an `account` promise's repair plans, carried out by the real
// usermod and chage against a fixture root.
import { createHash } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toolRoot } from "../../src/evaluator/account-repair.ts";
import { mixedEtc, secretsIn } from "../helpers/account-fixture.ts";
import { evaluateOne } from "../helpers/evaluate.ts";

const now = new Date("2026-12-06T12:00:00Z");

describe("toolRoot", () => {
  it("points the tools at a relocated /etc with -R, and at nothing it cannot name", () => {
    expect([toolRoot("/etc"), toolRoot("/etc/"), toolRoot("/host/etc"), toolRoot("/srv/accounts")]).toEqual([undefined, undefined, "/host", null]);
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

