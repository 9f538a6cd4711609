import { chmodSync, chownSync, closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { evaluateOne } from "../helpers/evaluate.ts";
import { MemoryBaselines } from "../../src/store/memory.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";
import { MemoryIntegrity } from "../../src/evaluator/memory-integrity.ts";
import { diagnose, inControl } from "../helpers/diagnose.ts";

testPromiseType("file", {
  valid: [
    'file "/srv/ledger/gl.dat" { mode = "0640" owner = "ledger" group = "finance" }',
    'file "/srv/ledger/*.dat" { integrity = sha512 watch = realtime locked_by = ["ledger-postd"] nodiff = true }',
    'file "/srv/ledger/journal.dat" { locked_by_exe = "/usr/local/bin/ledger-postd" locked_by_user = ["ledger", "0"] }',
    'file "/etc/shadow" { max_mode = 0640 max_size = 5MB }',
    'file "/var/backups/latest.dump" { max_age = 26h }',
    'file "/etc/ledger.conf" { baseline = "/var/lib/covenant/approved/ledger.conf" repair = [perms, content] }',
    'file "/tmp/forbidden.flag" { exists = false }',
    'file "/etc/cron.allow" { exists = optional mode = 0600 owner = "root" }',
    'file "/srv/ledger/shared.dat" { max_links = 1 }',
    'file "/srv/ledger/archive.dat" { integrity = sha256 max_hash_size = 4GiB }',
    'file "/etc/ledger/app.conf" { integrity = sha256 mask = ["^ledger_key_v2\\\\s+(?<secret>\\\\S+)", "LGR-[0-9A-F]{32}"] }',
    'file "/srv/ledger/linked.dat" { mode = 0640 repair = perms allow_hardlinks = true }',
  ],
  invalid: [
    { promise: 'file "relative/path" { mode = 0640 }', code: "E103", message: 'the promiser of `file` must be an absolute path, got `relative/path`' },
    { promise: 'file "/srv/[ab.dat" { mode = 0640 }', code: "E103", message: /unclosed `\[`/ },
    { promise: 'file "/a" { repair = content }', code: "E104", message: "`repair = content` needs `baseline`" },
    { promise: 'file "/a" { mode = 0640 max_mode = 0644 }', code: "E119" },
    { promise: 'file "/a" { baseline = "/approved/*.conf" }', code: "E103", message: /globs are not allowed here/ },
    { promise: 'file "/a" { mode = 64 }', code: "E103", message: /write three or four octal digits/ },
    { promise: 'file "/a" { max_links = 0 }', code: "E103", message: /`max_links` must be a whole number from 1/ },
    { promise: 'file "/a" { integrity = sha256 mask = ["(?<=key=)\\\\S+"] }', code: "E103", message: /cannot run in time linear in the line \(RE2\)/ },
    { promise: 'file "/srv/../etc/passwd" { mode = 0640 }', code: "E103", message: "`/srv/../etc/passwd` is not valid for the promiser of `file`: a path may not have `.` or `..` components" },
    { promise: 'file "/srv/a" { baseline = "/../etc/shadow" repair = content }', code: "E103", message: /a path may not have `.` or `..` components/ },
  ],
});

describe("file behaviour", () => {
  const dir = () => mkdtempSync(join(tmpdir(), "covenant-file-"));
  const mode = (p: string) => statSync(p).mode & 0o7777;
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill("SIGKILL");
  });

  it("kept: mode, owner and group as promised, on every file a glob matches", async () => {
    const d = dir();
    for (const n of ["a.dat", "b.dat"]) {
      writeFileSync(join(d, n), "x");
      chmodSync(join(d, n), 0o640);
    }
    writeFileSync(join(d, "other.txt"), "not matched");
    const r = await evaluateOne(`file "${d}/*.dat" { mode = 0640 owner = "root" group = "root" }`);
    expect(r.outcome).toBe("kept");
  });

  it("drift: each difference names the file, the observed and the promised value", async () => {
    const d = dir();
    writeFileSync(join(d, "gl.dat"), "x");
    chmodSync(join(d, "gl.dat"), 0o644);
    const r = await evaluateOne(`file "${d}/gl.dat" { mode = 0640 owner = "nobody" }`);
    expect(r.outcome).toBe("drift");
    expect(r.differences.map((x) => x.reason)).toEqual([`${d}/gl.dat: mode is 0644, promised 0640`, `${d}/gl.dat: owner is root, promised nobody`]);
    expect(mode(join(d, "gl.dat"))).toBe(0o644);
  });

  it("repaired: mode and owner fixed through the gate, then observed again", async () => {
    const d = dir();
    const f = join(d, "gl.dat");
    writeFileSync(f, "x");
    chmodSync(f, 0o666);
    const r = await evaluateOne(`file "${d}/*.dat" { mode = 0640 owner = "nobody" group = "root" repair = perms }`);
    expect(r.outcome).toBe("repaired");
    expect(r.changes.map((c) => [c.status, c.description])).toEqual([
      ["applied", `chmod 0640 ${f}`],
      ["applied", `chown nobody ${f}`],
    ]);
    expect(mode(f)).toBe(0o640);
    expect(statSync(f).uid).toBe(65534);
  });

  it("max_mode removes only the bits outside the mask", async () => {
    const d = dir();
    const f = join(d, "shadow");
    writeFileSync(f, "x");
    chmodSync(f, 0o664);
    const r = await evaluateOne(`file "${f}" { max_mode = 0640 repair = perms }`);
    expect(r.outcome).toBe("repaired");
    expect(mode(f)).toBe(0o640);
  });

  it("dry run: reports the repair it would make and changes nothing on disk", async () => {
    const d = dir();
    const f = join(d, "gl.dat");
    writeFileSync(f, "x");
    chmodSync(f, 0o666);
    const r = await evaluateOne(`file "${f}" { mode = 0640 repair = perms }`, { dryRun: true });
    expect(r.outcome).toBe("drift");
    expect(r.reason).toContain("dry run");
    expect(r.changes).toEqual([expect.objectContaining({ status: "planned", description: `chmod 0640 ${f}` })]);
    expect(mode(f)).toBe(0o666);
  });

  it("failed: a repair that cannot bring everything back is failed, not repaired", async () => {
    const d = dir();
    const f = join(d, "ledger.dat");
    writeFileSync(f, "x");
    chmodSync(f, 0o666);
    const owner = "no-such-user-covenant";
    const r = await evaluateOne(`file "${f}" { mode = 0640 owner = "${owner}" repair = perms }`);
    // the mode is repaired but the owner cannot be: still not as promised
    expect(r.outcome).toBe("failed");
    expect(r.reason).toContain(`no user \`${owner}\``);
    expect(mode(f)).toBe(0o640);
  });

  it("integrity: the first observation records the baseline; a later content change is drift", async () => {
    const d = dir();
    const f = join(d, "gl.dat");
    writeFileSync(f, "balance 100\n");
    const baselines = new MemoryBaselines();
    const first = await evaluateOne(`file "${f}" { integrity = sha256 }`, { baselines });
    expect(first.outcome).toBe("kept");
    expect(first.notes).toContain(`${f}: sha256 baseline recorded (first observation)`);
    expect(baselines.get(f)?.digest).toMatch(/^[0-9a-f]{64}$/);
    expect((await evaluateOne(`file "${f}" { integrity = sha256 }`, { baselines })).outcome).toBe("kept");
    writeFileSync(f, "balance 999\n");
    const changed = await evaluateOne(`file "${f}" { integrity = sha256 }`, { baselines });
    expect(changed.outcome).toBe("drift");
    expect(changed.differences[0]!.attribute).toBe("integrity");
    expect(changed.reason).toMatch(/content differs from the baseline of/);
  });

  it("content repair restores the approved copy atomically, with the approved copy's mode and owner, never the replaced file's", async () => {
    const d = dir();
    const f = join(d, "postd.conf");
    const approved = join(d, "approved.conf");
    writeFileSync(approved, "listen = 127.0.0.1\n");
    chmodSync(approved, 0o600);
    writeFileSync(f, "listen = 0.0.0.0\n");
    chmodSync(f, 0o644);
    chownSync(f, 65534, 65534);
    const r = await evaluateOne(`file "${f}" { integrity = sha512 baseline = "${approved}" repair = content }`);
    expect(r.outcome).toBe("repaired");
    expect(readFileSync(f, "utf8")).toBe("listen = 127.0.0.1\n");
    expect([mode(f), statSync(f).uid]).toEqual([0o600, 0]);
  });

  it("content and perms repaired in one run: the restored file gets the promised mode and owner", async () => {
    const d = dir();
    const conf = join(d, "conf");
    mkdirSync(conf);
    chmodSync(conf, 0o777); // a directory someone else can write: they replaced the file
    const f = join(conf, "db.conf");
    writeFileSync(f, "db_password=attacker\n");
    chmodSync(f, 0o644);
    chownSync(f, 65534, 65534);
    const approved = join(d, "approved.conf");
    writeFileSync(approved, "db_password=hunter2\n");
    chmodSync(approved, 0o600);
    const r = await evaluateOne(`file "${f}" { baseline = "${approved}" repair = [perms, content] mode = 0640 owner = "root" group = "42" }`);
    expect(r.outcome, r.reason).toBe("repaired");
    expect(readFileSync(f, "utf8")).toBe("db_password=hunter2\n");
    expect([mode(f), statSync(f).uid, statSync(f).gid]).toEqual([0o640, 0, 42]);
    expect(r.changes.map((c) => c.status)).toEqual(["applied"]);
  });

  it("error: an approved copy that cannot be read means the promise cannot be judged", async () => {
    const d = dir();
    writeFileSync(join(d, "a.conf"), "x");
    const r = await evaluateOne(`file "${d}/a.conf" { baseline = "${d}/missing.conf" repair = content }`);
    expect(r.outcome).toBe("error");
    expect(r.reason).toContain(`the approved copy cannot be read: ${d}/missing.conf does not exist`);
  });

  it("exists: a missing file is drift; `exists = false` wants it absent", async () => {
    const d = dir();
    expect((await evaluateOne(`file "${d}/missing.dat" { mode = 0640 }`)).reason).toBe(`${d}/missing.dat does not exist`);
    expect((await evaluateOne(`file "${d}/*.dat" { mode = 0640 }`)).reason).toBe(`no file matches ${d}/*.dat`);
    writeFileSync(join(d, "flag"), "");
    expect((await evaluateOne(`file "${d}/flag" { exists = false }`)).reason).toBe(`${d}/flag exists, promised absent`);
    expect((await evaluateOne(`file "${d}/other" { exists = false }`)).outcome).toBe("kept");
  });

  it("max_size and max_age", async () => {
    const d = dir();
    const f = join(d, "latest.dump");
    writeFileSync(f, Buffer.alloc(2048));
    const old = new Date(Date.now() - 30 * 3_600_000);
    utimesSync(f, old, old);
    const r = await evaluateOne(`file "${f}" { max_size = 1KiB max_age = 26h }`);
    expect(r.outcome).toBe("drift");
    expect(r.differences.map((x) => x.attribute)).toEqual(["max_size", "max_age"]);
    expect(r.differences[1]!.reason).toMatch(/last modified 30\.\dh ago, longer than the 26h allowed/);
  });

  it("a symbolic link where a file is promised is reported, never followed into a repair", async () => {
    const d = dir();
    writeFileSync(join(d, "real"), "x");
    symlinkSync(join(d, "real"), join(d, "gl.dat"));
    const r = await evaluateOne(`file "${d}/gl.dat" { mode = 0640 repair = perms }`);
    expect(r.outcome).toBe("drift");
    expect(r.reason).toBe(`${d}/gl.dat is a symbolic link to ${d}/real, not a regular file`);
  });

  it("locked_by: a lock held by another process than the named one is drift (a real flock)", async () => {
    const d = dir();
    const f = join(d, "journal.dat");
    writeFileSync(f, "x");
    const child = spawn("flock", ["--exclusive", f, "sleep", "30"], { stdio: "ignore" });
    children.push(child);
    for (let i = 0; i < 50; i++) {
      if (readFileSync("/proc/locks", "utf8").includes(`:${statSync(f).ino} `)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const r = await evaluateOne(`file "${f}" { locked_by = ["ledger-postd"] }`);
    expect(r.outcome).toBe("drift");
    expect(r.reason).toMatch(new RegExp(`${f} is locked by flock \\(pid \\d+\\), not one of the allowed holders \\(ledger-postd\\)`));
    expect((await evaluateOne(`file "${f}" { locked_by = ["flock"] }`)).outcome).toBe("kept");
  });

  it("paths are read below the sandbox root, and the gate holds changes outside it", async () => {
    const root = dir();
    mkdirSync(join(root, "srv/ledger"), { recursive: true });
    const f = join(root, "srv/ledger/gl.dat");
    writeFileSync(f, "x");
    chmodSync(f, 0o666);
    const r = await evaluateOne(`file "/srv/ledger/*.dat" { mode = 0640 repair = perms }`, { filesRoot: root, confineTo: root });
    expect(r.outcome).toBe("repaired");
    expect(r.differences[0]!.subject).toBe("/srv/ledger/gl.dat");
    expect(mode(f)).toBe(0o640);
    expect(existsSync("/srv/ledger/gl.dat")).toBe(false);
  });

  it("a symbolic link inside the sandbox cannot lead a change outside it", async () => {
    const root = dir();
    const outside = dir();
    const victim = join(outside, "payroll.dat");
    writeFileSync(victim, "x");
    chmodSync(victim, 0o600);
    symlinkSync(outside, join(root, "srv"));
    const r = await evaluateOne(`file "/srv/*.dat" { mode = 0640 repair = perms }`, { filesRoot: root, confineTo: root });
    // nothing is observed or changed through a link, wherever it points
    expect(r.outcome).toBe("error");
    expect(r.reason).toContain(`${join(root, "srv")} is a symbolic link, and Covenant never reads or changes a file through a link`);
    expect(r.changes).toEqual([]);
    expect(mode(victim)).toBe(0o600);
  });

  it("nothing is read through a link in a parent directory: no digest, no size of a file outside the tree", async () => {
    const d = dir();
    const secrets = dir();
    writeFileSync(join(secrets, "shadow"), "root:$6$secret\n");
    mkdirSync(join(d, "tree"));
    symlinkSync(secrets, join(d, "tree", "sub"));
    const r = await evaluateOne(`file "${d}/tree/sub/shadow" { integrity = sha256 max_size = 1B }`);
    expect(r.outcome).toBe("error");
    expect(r.reason).toBe(
      `${d}/tree/sub/shadow cannot be observed: ${d}/tree/sub is a symbolic link, and Covenant never reads or changes a file through a link; name the real path ${secrets}/shadow in the policy`,
    );
    expect(JSON.stringify(r)).not.toMatch(/[0-9a-f]{12}/);
    const glob = await evaluateOne(`file "${d}/tree/*/shadow" { integrity = sha256 }`);
    expect(glob).toMatchObject({ outcome: "drift", reason: `no file matches ${d}/tree/*/shadow` });
  });

  it("content is never restored through a symbolic link", async () => {
    const d = dir();
    const target = join(d, "elsewhere.conf");
    writeFileSync(target, "precious\n");
    writeFileSync(join(d, "approved.conf"), "approved\n");
    symlinkSync(target, join(d, "postd.conf"));
    const r = await evaluateOne(`file "${d}/postd.conf" { baseline = "${d}/approved.conf" repair = content }`);
    expect(r.outcome).toBe("drift"); // a link where a file is promised is reported, not repaired
    expect(readFileSync(target, "utf8")).toBe("precious\n");
  });

  it("a 16 GiB file is hashed no longer than the promise's timeout allows, and is then an error, never kept", async () => {
    const d = dir();
    const f = join(d, "huge.dat");
    const fd = openSync(f, "w");
    ftruncateSync(fd, 16 * 2 ** 30);
    closeSync(fd);
    const started = Date.now();
    const r = await evaluateOne(`file "${f}" { integrity = sha256 timeout = 1s }`);
    expect(r).toMatchObject({ outcome: "error", reason: "timed out after 1s" });
    expect(Date.now() - started).toBeLessThan(4000);
    const capped = await evaluateOne(`file "${f}" { integrity = sha256 max_hash_size = 1GiB }`);
    expect(capped).toMatchObject({ outcome: "error", reason: `${f} is 16.0 GiB, more than max_hash_size 1.0 GiB: its content was not hashed` });
  });

  it("a FIFO or a device as the file or its approved copy is an error at once, never a hang", async () => {
    const d = dir();
    const conf = join(d, "postd.conf");
    writeFileSync(conf, "listen = 127.0.0.1\n");
    const fifo = join(d, "approved.fifo");
    execFileSync("mkfifo", [fifo]);
    for (const copy of [fifo, "/dev/zero"]) {
      const started = Date.now();
      const r = await evaluateOne(`file "${conf}" { baseline = "${copy}" repair = content timeout = 20s }`);
      expect(r.outcome).toBe("error");
      expect(r.reason).toMatch(/^the approved copy cannot be read: .* not a regular file: its content is not read$/);
      expect(Date.now() - started).toBeLessThan(2000);
    }
    const r = await evaluateOne(`file "${fifo}" { integrity = sha256 }`);
    expect(r).toMatchObject({ outcome: "drift", reason: `${fifo} is a fifo, not a regular file` });
  });

  it("a file name that is not valid UTF-8 makes the promise an error, never a silent skip", async () => {
    const d = dir();
    writeFileSync(Buffer.from(`${d}/bad\xff.dat`, "latin1"), "x");
    const r = await evaluateOne(`file "${d}/*.dat" { mode = 0640 }`);
    expect(r.outcome).toBe("error");
    expect(r.reason).toContain("not valid UTF-8");
  });
});

describe("numeric owners and groups", () => {
  it('`owner = "0"` and `group = "42"` are compared as ids when no account has that name', async () => {
    const d = mkdtempSync(join(tmpdir(), "covenant-file-"));
    const f = join(d, "gl.dat");
    writeFileSync(f, "x");
    chownSync(f, 0, 42);
    expect((await evaluateOne(`file "${f}" { owner = "0" group = "42" }`)).outcome).toBe("kept");
    const r = await evaluateOne(`file "${f}" { owner = "1" group = "42" repair = perms }`);
    expect(r.outcome).toBe("repaired");
    expect(statSync(f).uid).toBe(1);
  });
});

describe("file: exists = optional (\"if present\")", () => {
  const dir = () => mkdtempSync(join(tmpdir(), "covenant-file-optional-"));

  it("kept: a missing file, or a glob that matches none, as SSG's missing_file_pass (OVAL any_exist)", async () => {
    const d = dir();
    expect(await evaluateOne(`file "${d}/missing.conf" { exists = optional mode = 0600 }`)).toMatchObject({ outcome: "kept", reason: "as promised" });
    expect((await evaluateOne(`file "${d}/*.conf" { exists = optional mode = 0600 }`)).outcome).toBe("kept");
  });

  it("drift: a file that is there is judged by every other attribute, and repaired as any other", async () => {
    const d = dir();
    const f = join(d, "present.conf");
    writeFileSync(f, "x");
    chmodSync(f, 0o644);
    const r = await evaluateOne(`file "${f}" { exists = optional mode = 0600 }`);
    expect(r.outcome).toBe("drift");
    expect(r.reason).toBe(`${f}: mode is 0644, promised 0600`);
    expect((await evaluateOne(`file "${f}" { exists = optional mode = 0600 repair = perms }`)).outcome).toBe("repaired");
    expect(statSync(f).mode & 0o7777).toBe(0o600);
  });

  it("a symbolic link at the path is not followed: drift (type), even on owner alone", async () => {
    const d = dir();
    writeFileSync(join(d, "target"), "x");
    symlinkSync(join(d, "target"), join(d, "link.conf"));
    const r = await evaluateOne(`file "${d}/link.conf" { exists = optional owner = "root" }`);
    expect(r.outcome).toBe("drift");
    expect(r.differences).toMatchObject([{ attribute: "type", expected: "file", observed: "symlink" }]);
  });

  it("with integrity: a file approved as absent may stay absent; one approved present that goes is `deleted` drift", async () => {
    const d = dir();
    const f = join(d, "app.conf");
    const integrity = new MemoryIntegrity();
    const promise = `file "${f}" { exists = optional integrity = sha256 }`;
    expect((await evaluateOne(promise, { integrity })).outcome).toBe("kept");
    expect((await evaluateOne(promise, { integrity })).outcome).toBe("kept");
    const g = join(d, "other.conf");
    writeFileSync(g, "approved\n");
    const other = `file "${g}" { exists = optional integrity = sha256 }`;
    expect((await evaluateOne(other, { integrity })).outcome).toBe("kept");
    unlinkSync(g);
    const r = await evaluateOne(other, { integrity });
    expect(r.outcome).toBe("drift");
    expect(r.findings?.[0]).toMatchObject({ path: g });
    expect(JSON.stringify(r.findings)).toContain("deleted");
  });

  it("repair = content: a missing file is not created from `baseline`; with integrity, one approved there and deleted is restored", async () => {
    const d = dir();
    const approved = join(d, "approved.conf");
    writeFileSync(approved, "approved\n");
    const never = join(d, "never.conf");
    expect((await evaluateOne(`file "${never}" { exists = optional baseline = "${approved}" repair = content }`)).outcome).toBe("kept");
    expect(existsSync(never)).toBe(false);
    const f = join(d, "app.conf");
    writeFileSync(f, "approved\n");
    const integrity = new MemoryIntegrity();
    const promise = `file "${f}" { exists = optional integrity = sha256 baseline = "${approved}" repair = content }`;
    expect((await evaluateOne(promise, { integrity })).outcome).toBe("kept");
    unlinkSync(f);
    const r = await evaluateOne(promise, { integrity });
    expect(r.outcome).toBe("repaired");
    expect(readFileSync(f, "utf8")).toBe("approved\n");
  });

  it("check: `optional` is the only name besides true and false; a second promise saying otherwise contradicts (E111)", () => {
    expect(diagnose(inControl('  file "/a" { exists = maybe }')).join("\n")).toMatch(/E106 undefined variable `maybe` \(`exists` expects `true`, `false` or `optional`\)/);
    expect(diagnose(inControl('  file "/a" { exists = "optional" }')).join("\n")).toMatch(/E102 `exists` expects `true`, `false` or `optional`, got a string/);
    expect(diagnose(inControl('  file "/a" { exists = optional }\n  file "/a" { exists = false }')).join("\n")).toMatch(/E111/);
    expect(diagnose(inControl('  file "/a" { exists = optional }\n  file "/a" { exists = true }')).join("\n")).toMatch(/E111/);
    expect(diagnose(inControl('  file "/a" { exists = optional mode = 0600 }')).filter((x) => / E/.test(x))).toEqual([]);
  });
});
