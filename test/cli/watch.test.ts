// `covenant watch` (issue 15, first part), the built CLI on real files and real inotify: the
// start-up rescan, a change found within moments and recorded as a run of kind `watch`, its
// repair seen the same way, a change made while the watcher was down, a run from cron beside
// it, an evaluation that waits for a run holding the lock, the heartbeat and `--status`, and a
// clean stop on SIGTERM.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { sayOnce } from "../../src/cli/commands/watch.ts";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { startWatcher } from "../helpers/watcher.ts";

beforeAll(() => ensureBuilt());

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

/** A realtime file promise (mode 0640) and a scheduled one, in a directory of their own. */
function scene() {
  const dir = mkdtempSync(join(tmpdir(), "covenant-watch-"));
  chmodSync(dir, 0o755);
  const files = join(dir, "files");
  mkdirSync(files);
  const ledger = join(files, "ledger.conf");
  writeFileSync(ledger, "x\n");
  chmodSync(ledger, 0o640);
  const policy = join(dir, "policy");
  mkdirSync(policy, { mode: 0o700 });
  writeFileSync(
    join(policy, "p.promise"),
    `stakeholder security { description = "Information security" }
control "W-1" {
  title = "The ledger's configuration is closed to others"
  owner = security
  file "${ledger}" -> [security] {
    mode  = 0640
    watch = realtime
  }
  file "/etc/hostname" { exists = true }
}
`,
    { mode: 0o600 },
  );
  return { dir, ledger, policy, state: join(dir, "state") };
}


/** The open deficiencies' keys, from the store. */
function openKeys(state: string): string[] {
  const r = covenant(["deficiencies", "--json", "--state", state]);
  return (JSON.parse(r.out || "[]") as { key: string }[]).map((d) => d.key);
}

describe("covenant watch", () => {
  it("rescans at start-up, records a change within moments as a watch run, and its repair the same way; stops cleanly", async () => {
    const s = scene();
    const w = startWatcher(["--state", s.state, s.policy], children);
    await w.waitFor(/watch run 1 \(start-up rescan\): 2 promises, all kept/);
    const key = `W-1/file:${s.ledger}`;
    const changed = Date.now();
    chmodSync(s.ledger, 0o666);
    await w.waitFor(/watch run 2 \(event on .*ledger\.conf.*\): 1 promise, 1 not kept/);
    // recorded (the deficiency is open in the store) well within a second of the change
    expect(openKeys(s.state)).toEqual([key]);
    expect(Date.now() - changed).toBeLessThan(3000);
    chmodSync(s.ledger, 0o640);
    await w.waitFor(/watch run 3 \(event on .*\): 1 promise, all kept/);
    expect(openKeys(s.state)).toEqual([]);
    // the history holds watch runs, and verifies
    const history = covenant(["history", "--state", s.state]).out;
    expect(history).toMatch(/run 2 \(watch\): 1 promise tested \(1 drift\)/);
    expect(covenant(["watch", "--status", "--state", s.state]).code).toBe(0);
    w.child.kill("SIGTERM");
    expect(await w.exited).toBe(0);
    expect(w.out()).toMatch(/covenant watch: stopped/);
    const status = covenant(["watch", "--status", "--state", s.state]);
    expect(status.code).toBe(1);
    expect(status.out).toMatch(/^stopped at /);
    expect(covenant(["verify", "--state", s.state]).code).toBe(0);
  }, 30_000);

  it("finds at start-up a change made while it was down", async () => {
    const s = scene();
    const first = startWatcher(["--state", s.state, s.policy], children);
    await first.waitFor(/watch run 1 \(start-up rescan\)/);
    first.child.kill("SIGTERM");
    await first.exited;
    chmodSync(s.ledger, 0o604);
    const second = startWatcher(["--state", s.state, s.policy], children);
    await second.waitFor(/watch run 2 \(start-up rescan\): 2 promises, 1 not kept/);
    expect(openKeys(s.state)).toEqual([`W-1/file:${s.ledger}`]);
  }, 30_000);

  it("lets a run from cron go beside it, and keeps watching after", async () => {
    const s = scene();
    const w = startWatcher(["--state", s.state, s.policy], children);
    await w.waitFor(/watch run 1 /);
    const run = covenant(["run", "--state", s.state, s.policy]);
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    chmodSync(s.ledger, 0o666);
    await w.waitFor(/watch run 3 \(event on .*\): 1 promise, 1 not kept/);
  }, 30_000);

  it("an event that comes while a run holds the lock is evaluated once the run lets go, not dropped", async () => {
    const s = scene();
    const w = startWatcher(["--state", s.state, s.policy], children);
    await w.waitFor(/watch run 1 /);
    // a run holding the lock for 1.5 s: the store's own lock code, in another process
    const script = `
      import { acquireRunLock } from "./src/store/run-lock.ts";
      const lock = acquireRunLock(process.argv[1], "/proc", "run");
      if (!lock.ok) process.exit(9);
      process.stdout.write("held\\n");
      setTimeout(() => { lock.release(); process.exit(0); }, 1500);`;
    const holder = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, s.state], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(holder);
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once("data", () => resolve());
      holder.once("exit", (code) => reject(new Error(`the holder exited (${code}) before holding the lock`)));
    });
    const changed = Date.now();
    chmodSync(s.ledger, 0o666);
    await w.waitFor(/watch run 2 \(event on .*\): 1 promise, 1 not kept/, 10_000);
    expect(Date.now() - changed).toBeGreaterThan(1000);
  }, 30_000);

  it("reloads a policy that changes, and on SIGHUP; a policy with errors is said and the running one goes on", async () => {
    const s = scene();
    const file = join(s.policy, "p.promise");
    const text = readFileSync(file, "utf8");
    const w = startWatcher(["--state", s.state, s.policy], children);
    await w.waitFor(/watch run 1 \(start-up rescan\)/);
    // promised 0600 now: the reloaded policy's rescan finds the file (0640) in drift
    writeFileSync(file, text.replace("mode  = 0640", "mode  = 0600"));
    await w.waitFor(/covenant watch: policy reloaded: 2 promises/);
    await w.waitFor(/watch run 2 \(reloaded policy\): 2 promises, 1 not kept/);
    // a policy with errors: said, and the one running (0600) goes on watching
    writeFileSync(file, `${text}\ncontrol "X" { title = }\n`);
    await w.waitFor(/the previous policy keeps running/);
    chmodSync(s.ledger, 0o600);
    await w.waitFor(/watch run 3 \(event on .*\): 1 promise, all kept/);
    // fixed again, then SIGHUP: loaded again (back to 0640, now in drift)
    writeFileSync(file, text);
    await w.waitFor(/watch run 4 \(reloaded policy\): 2 promises, 1 not kept/);
    w.child.kill("SIGHUP");
    await w.waitFor(/watch run 5 \(reloaded policy\)/);
    expect(w.child.exitCode).toBe(null);
    w.child.kill("SIGTERM");
    expect(await w.exited).toBe(0);
  }, 30_000);

  it("reloads when a file of an --include directory the policy imports changes", async () => {
    const s = scene();
    const lib = join(s.dir, "lib");
    mkdirSync(lib, { mode: 0o700 });
    const libFile = join(s.dir, "files", "lib.conf");
    writeFileSync(libFile, "y\n");
    chmodSync(libFile, 0o640);
    const shared = join(lib, "shared.promise");
    const sharedText = ["control \"LIB-1\" {", '  title = "The shared library\'s own promise"', `  file "${libFile}" { mode = 0640 }`, "}", ""].join("\n");
    writeFileSync(shared, sharedText, { mode: 0o600 });
    const main = join(s.policy, "p.promise");
    writeFileSync(main, `import "${shared}"\n${readFileSync(main, "utf8")}`, { mode: 0o600 });
    const w = startWatcher(["--state", s.state, "--include", lib, s.policy], children);
    await w.waitFor(/watch run 1 \(start-up rescan\): 3 promises/);
    // the library now promises 0600: reloaded, and the rescan finds its file (0640) in drift
    writeFileSync(shared, sharedText.replace("mode = 0640", "mode = 0600"));
    await w.waitFor(/covenant watch: policy reloaded: 3 promises/);
    await w.waitFor(/watch run 2 \(reloaded policy\): 3 promises, 1 not kept/);
    w.child.kill("SIGTERM");
    expect(await w.exited).toBe(0);
  }, 30_000);

  it("a policy another user can change is not reloaded (as root): said, and the running one goes on", async () => {
    const s = scene();
    const w = startWatcher(["--state", s.state, s.policy], children);
    await w.waitFor(/watch run 1 \(start-up rescan\)/);
    chmodSync(join(s.policy, "p.promise"), 0o666);
    await w.waitFor(/the previous policy keeps running/);
    expect(w.out()).not.toMatch(/policy reloaded/);
    chmodSync(s.ledger, 0o666);
    await w.waitFor(/watch run 2 \(event on .*\): 1 promise, 1 not kept/);
  }, 30_000);

  it("a directory with no policy in it is refused (exit 2), as `covenant run` refuses it", async () => {
    const empty = mkdtempSync(join(tmpdir(), "covenant-watch-empty-"));
    const w = startWatcher(["--state", join(empty, "state"), empty], children);
    expect(await w.exited).toBe(2);
  }, 30_000);

  it("--status: no watcher ever is exit 1; a bad policy is refused before anything starts (exit 2)", async () => {
    const s = scene();
    const none = covenant(["watch", "--status", "--state", s.state]);
    expect(none.code).toBe(1);
    expect(none.out).toMatch(/no watcher has run here/);
    writeFileSync(join(s.policy, "bad.promise"), 'control "X" { title = }\n', { mode: 0o600 });
    const bad = startWatcher(["--state", s.state, s.policy], children);
    expect(await bad.exited).toBe(2);
    expect(bad.out()).toMatch(/bad\.promise:1:/);
  }, 30_000);
});

describe("the watcher's problems, said", () => {
  it("each kind once a minute at most, then with how often it came meanwhile", () => {
    const lines: string[] = [];
    let t = 0;
    const say = sayOnce({ err: (s: string) => void lines.push(s) }, () => t);
    const limit = { kind: "watch-limit" as const, message: "inotify's watch limit is reached (fs.inotify.max_user_watches)" };
    for (let i = 0; i < 300; i++) say(limit);
    say({ kind: "error", message: "the file watcher failed: boom" });
    expect(lines).toEqual(["covenant watch: inotify's watch limit is reached (fs.inotify.max_user_watches)", "covenant watch: the file watcher failed: boom"]);
    t = 61_000;
    say(limit);
    expect(lines.at(-1)).toBe("covenant watch: inotify's watch limit is reached (fs.inotify.max_user_watches) (and 299 more times in the minute before)");
  });
});
