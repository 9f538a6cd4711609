// Who, under a running `covenant watch` (the built CLI): the processes at a changed file when the
// change is seen (a perl holding it open and locked, its --password masked), and who made the
// change from the Linux audit subsystem, with auditd (Debian's) started by this test: a write by
// a known child process is attributed to its pid, executable and uid; the rules Covenant adds
// are loaded while it runs and gone after SIGTERM. Then, auditd stopped, the finding says that
// attribution is not available. When the kernel refuses audit, the test says so and checks only
// that path. Never `auditctl -e 2`: that would lock the kernel's rules until reboot.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { ensureDebianTool } from "../helpers/debian-package.ts";
import { startWatcher } from "../helpers/watcher.ts";

const AUDITCTL = "/usr/sbin/auditctl";
const AUDITD = "/usr/sbin/auditd";
const children: ChildProcess[] = [];
const dirs: string[] = [];
const watchedPaths: string[] = [];
let auditd: ChildProcess | undefined;
let enabledBefore: string | undefined;
/** why audit cannot be used here, said plainly; undefined when it can */
let refused: string | undefined;

function auditctl(...args: string[]) {
  return spawnSync(AUDITCTL, args, { encoding: "utf8", timeout: 10_000 });
}

function statusOf(): { enabled?: string; pid?: string } {
  const s = auditctl("-s").stdout ?? "";
  return { enabled: /^enabled (\d+)/m.exec(s)?.[1], pid: /^pid (\d+)/m.exec(s)?.[1] };
}

/** Installs auditd when missing (root), starts it in the foreground as our child; the reason when that cannot be. */
async function startAuditd(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "not root: auditd cannot be installed or started";
  // installed without starting Debian's auditd service: this test starts its own
  const missing = ensureDebianTool(AUDITD, "auditd") ?? ensureDebianTool(AUDITCTL, "auditd");
  if (missing) return missing;
  const s = auditctl("-s");
  if (s.status !== 0) return `the kernel refuses audit here (auditctl -s: ${(s.stderr || s.stdout).trim()})`;
  enabledBefore = statusOf().enabled;
  if (statusOf().pid !== "0") return undefined; // an auditd already runs: used, not ours to stop
  auditd = spawn(AUDITD, ["-n"], { stdio: "ignore" });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (statusOf().pid === String(auditd.pid)) return undefined;
    if (auditd.exitCode !== null) return `auditd exited at once (${auditd.exitCode}): the kernel refuses audit here`;
    await new Promise((r) => setTimeout(r, 50));
  }
  return "auditd did not register with the kernel within 10 s";
}

async function stopAuditd(): Promise<void> {
  if (!auditd || auditd.exitCode !== null) return;
  const ended = new Promise((r) => auditd!.once("exit", r));
  auditd.kill("SIGTERM");
  await Promise.race([ended, new Promise((r) => setTimeout(r, 5000))]);
  if (auditd.exitCode === null) auditd.kill("SIGKILL");
}

beforeAll(async () => {
  ensureBuilt();
  refused = await startAuditd();
  if (refused) console.warn(`watch-who: audit is not available here, only the "not available" path is checked: ${refused}`);
}, 400_000);

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

afterAll(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
  // rules a killed watcher may have left, for the paths this test watched (only those)
  if (existsSync(AUDITCTL)) for (const p of watchedPaths) auditctl("-W", p, "-p", "wa", "-k", "covenant-watch");
  // and those of watchers other test files started meanwhile (they saw our auditd) and killed
  // before they could remove them: only when this test started auditd, on a machine it owns
  if (auditd && existsSync(AUDITCTL)) auditctl("-D", "-k", "covenant-watch");
  await stopAuditd();
  if (enabledBefore === "0" && existsSync(AUDITCTL)) auditctl("-e", "0");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A realtime integrity promise on one file. */
function scene() {
  const dir = mkdtempSync(join(tmpdir(), "covenant-who-"));
  dirs.push(dir);
  chmodSync(dir, 0o755);
  const ledger = join(dir, "files", "ledger.dat");
  mkdirSync(join(dir, "files"));
  writeFileSync(ledger, "opening balance\n");
  watchedPaths.push(ledger);
  const policy = join(dir, "policy");
  mkdirSync(policy, { mode: 0o700 });
  writeFileSync(join(policy, "p.promise"), `control "SOX-1" {\n  title = "The ledger changes only by approved means"\n  file "${ledger}" {\n    integrity = sha256\n    watch = realtime\n  }\n}\n`, { mode: 0o600 });
  return { dir, ledger, policy, state: join(dir, "state") };
}

/** perl holding the file open and locked, a password on its command line. */
async function holder(file: string): Promise<ChildProcess> {
  const code = `use Fcntl qw(:flock); open(my $f, "<", $ARGV[1]) or die; flock($f, LOCK_SH) or die; $| = 1; print "ready\\n"; sleep 60`;
  const c = spawn("/usr/bin/perl", ["-e", code, "--", "--password=hunter2", file], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(c);
  await new Promise<void>((resolve) => c.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve()));
  return c;
}

/** `/bin/sh -c 'echo x >> FILE'`: its pid, once it has ended. */
async function writeBy(file: string): Promise<number> {
  const c = spawn("/bin/sh", ["-c", 'echo "late entry" >> "$1"', "sh", file], { stdio: "ignore" });
  await new Promise((r) => c.on("exit", r));
  return c.pid!;
}

describe("covenant watch: who", () => {
  it("names the holders and, with auditd, the process that made the change; its rules are loaded while it runs and gone after SIGTERM", async () => {
    const s = scene();
    const w = startWatcher(["--state", s.state, s.policy], children);
    await w.waitFor(/watch run 1 \(start-up rescan\)/);
    if (refused) {
      expect(w.out()).toMatch(/audit: who made a change cannot be told: /);
      w.child.kill("SIGTERM");
      return;
    }
    expect(w.out()).toContain(`audit: added watch rule (key covenant-watch) for ${s.ledger}`);
    expect(auditctl("-l").stdout).toContain(`-w ${s.ledger} -p wa -k covenant-watch`);
    const perl = await holder(s.ledger);
    const pid = await writeBy(s.ledger);
    const out = await w.waitFor(/made by pid \d+.*\n/, 15_000);
    const finding = out.slice(out.indexOf("watch run 2"));
    // who was at the file: the perl, by lock and open descriptor, its password masked
    expect(finding).toMatch(new RegExp(`at the file when seen: pid ${perl.pid} holds a lock on it, root \\(uid 0\\), ${realpathSync("/usr/bin/perl")}: .*--password=\\*\\*\\*\\*`));
    expect(finding).toMatch(new RegExp(`at the file when seen: pid ${perl.pid} has it open`));
    expect(finding).not.toContain("hunter2");
    // who made the change: the shell, by its pid, executable and uid; the login uid is read (unset: no login session here)
    const made = new RegExp(`made by pid ${pid} \\(parent ${process.pid}\\), root \\(uid 0\\), (login uid unset|login .*\\(uid \\d+\\)), ${realpathSync("/bin/sh")}, calling itself sh \\(comm, set by the process\\): open(at)? at \\S+ \\(audit event \\d+\\)`);
    expect(finding).toMatch(made);
    w.child.kill("SIGTERM");
    expect(await w.exited).toBe(0);
    expect(w.out()).toContain(`audit: removed watch rule for ${s.ledger}`);
    expect(auditctl("-l").stdout).not.toContain("covenant-watch");
    // the rule added is in the history, in the notes of the watcher's first run
    const runs = (JSON.parse(covenant(["history", "--json", "--state", s.state]).out) as { kind: string; body: { notes?: string[] } }[]).filter((e) => e.kind === "run");
    expect(runs[0]!.body.notes).toContain(`audit: added watch rule (key covenant-watch) for ${s.ledger}`);
  }, 60_000);
});

/** `argv` run as the unprivileged user nobody (uid and gid 65534, no groups): the adversary. */
function asNobody(argv: string[]): ChildProcess {
  const c = spawn("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", ...argv], { stdio: "ignore" });
  children.push(c);
  return c;
}

// A non-root user on the host attacks who-made-it (the watcher runs as root, auditd as above).
describe("covenant watch: who, against a local user", () => {
  it("a user writing to a watched file without end (a descriptor opened once, so no audit record) does not hold back the evaluation of another change", async () => {
    if (refused) return;
    const s = scene();
    const noise = join(s.dir, "files", "noise.log");
    writeFileSync(noise, "");
    chownSync(noise, 65534, 65534);
    watchedPaths.push(noise);
    writeFileSync(join(s.policy, "p.promise"), `control "SOX-1" {\n  title = "The ledger changes only by approved means"\n  file "${s.ledger}" {\n    integrity = sha256\n    watch = realtime\n  }\n  file "${noise}" {\n    integrity = sha256\n    watch = realtime\n  }\n}\n`);
    const w = startWatcher(["--state", s.state, s.policy], children);
    await w.waitFor(/watch run 1 \(start-up rescan\)/);
    // opened once, then a line every 10 ms for 40 s: inotify sees each write, audit none of them
    asNobody(["/usr/bin/perl", "-e", 'open(my $f, ">>", $ARGV[0]) or die; select($f); $| = 1; for (1..4000) { print "x\n"; select(undef, undef, undef, 0.01) }', noise]);
    // past the look-back window of the one audit record (the open): each look-up now waits its whole bound
    await new Promise((r) => setTimeout(r, 3000));
    await writeBy(s.ledger);
    await w.waitFor(new RegExp(`DRIFT +SOX-1/file:${s.ledger.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:`), 20_000);
    w.child.kill("SIGTERM");
    expect(await w.exited).toBe(0);
  }, 60_000);
});

describe("covenant watch: who, against a local user: decoys", () => {
  it("a user's own writes through a name that reads like the watched path (a link, then ..) are not taken for changes to it", async () => {
    if (refused) return;
    const s = scene();
    // the user's upload directory inside the watched tree: the rule on the glob's directory covers it
    const uploads = join(s.dir, "files", "uploads");
    mkdirSync(join(uploads, "x", "y"), { recursive: true });
    for (const d of [uploads, join(uploads, "x"), join(uploads, "x", "y")]) chownSync(d, 65534, 65534);
    watchedPaths.push(join(s.dir, "files"));
    writeFileSync(join(s.policy, "p.promise"), `control "SOX-1" {\n  title = "The ledgers change only by approved means"\n  file "${join(s.dir, "files")}/*.dat" {\n    integrity = sha256\n    watch = realtime\n  }\n}\n`);
    const w = startWatcher(["--state", s.state, s.policy], children);
    await w.waitFor(/watch run 1 \(start-up rescan\)/);
    // uploads/L/../../ledger.dat reads as files/ledger.dat; the kernel follows L to uploads/x/y and opens uploads/ledger.dat... of the user's
    asNobody(["/bin/sh", "-c", 'cd "$1" && ln -s "$1/x/y" L && : > x/ledger.dat && i=0; while [ $i -lt 2000 ]; do : >> "$2"; i=$((i+1)); done', "sh", uploads, `${uploads}/L/../../ledger.dat`]);
    await new Promise((r) => setTimeout(r, 300));
    const pid = await writeBy(s.ledger);
    const out = await w.waitFor(/made by[^\n]*\n(?![^\n]*made by)/, 15_000);
    const finding = out.slice(out.indexOf("watch run 2"));
    expect(finding).toMatch(new RegExp(`made by pid ${pid} `));
    expect(finding).not.toMatch(/made by [^\n]*nobody/);
    w.child.kill("SIGTERM");
    expect(await w.exited).toBe(0);
  }, 60_000);
});

describe("covenant watch: who, after a watcher was killed", () => {
  it("a watcher started again after one was killed (its rule left loaded) still attributes the changes", async () => {
    if (refused) return;
    const s = scene();
    // the rule a watcher killed by SIGKILL (the OOM killer) leaves behind
    expect(auditctl("-w", s.ledger, "-p", "wa", "-k", "covenant-watch").status).toBe(0);
    const w = startWatcher(["--state", s.state, s.policy], children);
    await w.waitFor(/watch run 1 \(start-up rescan\)/);
    expect(w.out()).toContain(`audit: the rule for ${s.ledger} was already loaded`);
    const pid = await writeBy(s.ledger);
    const out = await w.waitFor(/made by.*\n/, 15_000);
    expect(out).toMatch(new RegExp(`made by pid ${pid} `));
    w.child.kill("SIGTERM");
    expect(await w.exited).toBe(0);
    // used, and left in place on exit, as the note said (afterAll removes it)
    expect(auditctl("-l").stdout).toContain(`-w ${s.ledger} -p wa -k covenant-watch`);
  }, 60_000);
});

describe("covenant watch: who, without auditd", () => {
  it("without auditd, the finding says that attribution is not available, and why", async () => {
    await stopAuditd();
    const s = scene();
    const w = startWatcher(["--state", s.state, s.policy], children);
    await w.waitFor(/watch run 1 \(start-up rescan\)/);
    expect(w.out()).toMatch(/audit: who made a change cannot be told: .*(auditd is not running|not installed|refuses|cannot be read|disabled)/);
    await writeBy(s.ledger);
    const out = await w.waitFor(/made by: not available: .*\n/, 15_000);
    expect(out).toMatch(/at the file when seen: no process had it open or locked/);
    w.child.kill("SIGTERM");
    expect(await w.exited).toBe(0);
  }, 60_000);
});
