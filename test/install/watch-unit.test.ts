// examples/systemd/covenant-watch.service and covenant.service, run as systemd would run them:
// their command lines read from the unit files (ExecStart=, ExecReload=, ExecCondition=), the
// host's paths moved into a temporary directory, and nothing else changed, so that a unit
// cannot drift from the CLI. systemd is not PID 1 here: the test does what systemd does with
// each line (start, reload, stop with KillSignal=, judge the exit by Restart= and
// RestartPreventExitStatus=, skip a unit whose condition exits 1 to 254).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { bin, ensureBuilt } from "../helpers/cli.ts";
import { parseUnit, seconds, splitCommandLine } from "./unit-file.ts";

beforeAll(() => ensureBuilt());

const work = mkdtempSync(join(tmpdir(), "covenant-watch-unit-"));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const unit = (name: string) => parseUnit(readFileSync(join("examples/systemd", name), "utf8"));
const watchService = unit("covenant-watch.service").get("Service")!;
const runService = unit("covenant.service").get("Service")!;
const one = (section: Map<string, string[]>, key: string) => {
  const values = section.get(key);
  if (values?.length !== 1) throw new Error(`${key}= is set ${values?.length ?? 0} times, not once`);
  return values[0]!;
};

/** systemd's environment for a system service: its PATH, no terminal, no colour settings. The dev tree's launcher needs a `node` on it. */
const systemdEnv = { PATH: `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin`, LANG: "C.UTF-8" };

let serial = 0;
/** A fresh host in miniature: the state, log and policy directories, and a policy with one realtime file. */
function host(): { dir: string; paths: Record<string, string>; watched: string } {
  const dir = join(work, String(++serial));
  const paths = { "/var/lib/covenant": join(dir, "state"), "/var/log/covenant": join(dir, "log"), "/etc/covenant/policies": join(dir, "policies"), "/usr/bin/covenant": bin };
  for (const sub of ["state", "log", "policies"]) mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
  const watched = join(dir, "ledger.dat");
  writeFileSync(watched, "");
  chmodSync(watched, 0o640);
  writeFileSync(join(paths["/etc/covenant/policies"], "unit.promise"), `stakeholder ops\ncontrol "UNIT-1" {\n  title = "t"\n  owner = ops\n  file "${watched}" -> [ops] {\n    mode  = 0640\n    watch = realtime\n  }\n}\n`);
  return { dir, paths, watched };
}

/** A unit's command line as argv, the host's paths moved into the test's; none is left. */
function argvOf(line: string, paths: Record<string, string>, env: Record<string, string> = {}): string[] {
  const argv = splitCommandLine(line, env).map((word) => Object.entries(paths).reduce((w, [from, to]) => w.replaceAll(from, to), word));
  expect(argv.join(" ")).not.toMatch(/\/(var\/lib|var\/log|etc)\/covenant|\/usr\/bin\/covenant/);
  return argv;
}

function exec(argv: string[]) {
  return spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", env: systemdEnv });
}

/** ExecStart= of covenant-watch.service, started as systemd starts a Type=exec service. */
function startWatchUnit(paths: Record<string, string>) {
  const child = spawn(...(([file, ...args]) => [file!, args] as const)(argvOf(one(watchService, "ExecStart"), paths)), { env: systemdEnv, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  const waitFor = async (re: RegExp, ms = 15_000) => {
    const deadline = Date.now() + ms;
    while (!re.test(out)) {
      if (Date.now() > deadline) throw new Error(`not in the watcher's output within ${ms} ms: ${re}\n${out}`);
      if (child.exitCode !== null) throw new Error(`the watcher exited (${child.exitCode}):\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { child, ended, waitFor, out: () => out };
}

/** `covenant watch --status` on the test's state directory, as the units' check runs it. */
const status = (paths: Record<string, string>) => exec(argvOf("/usr/bin/covenant watch --status --state /var/lib/covenant", paths));

/** covenant.service's ExecCondition=: 0 runs the unit; 1 to 254 skip it (systemd.service(5)); anything else fails it. */
function condition(paths: Record<string, string>): "run" | "skip" {
  const r = exec(argvOf(one(runService, "ExecCondition"), paths));
  expect(r.status, r.stderr).not.toBeNull();
  expect(r.status).toBeLessThan(255);
  return r.status === 0 ? "run" : "skip";
}

describe("covenant-watch.service", () => {
  it("starts, beats, reloads on ExecReload=, and stops cleanly on its KillSignal= as systemd would drive it", async () => {
    const { paths } = host();
    const w = startWatchUnit(paths);
    await w.waitFor(/covenant watch: 1 promise, 1 in real time/);
    await w.waitFor(/watch run \d+ \(start-up rescan\): 1 promise, all kept/);
    const beating = status(paths);
    expect(beating.stdout).toMatch(/^running: pid \d+/);
    expect(beating.status).toBe(0);

    // systemctl reload: ExecReload= with $MAINPID
    const reload = exec(argvOf(one(watchService, "ExecReload"), paths, { MAINPID: String(w.child.pid) }));
    expect(reload.status, reload.stderr).toBe(0);
    await w.waitFor(/covenant watch: policy reloaded: 1 promise/);
    expect(w.child.exitCode).toBeNull();

    // systemctl stop: KillSignal= (SIGTERM unless set) to the main process only (KillMode=process)
    expect(one(watchService, "KillMode")).toBe("process");
    const stoppedAt = Date.now();
    w.child.kill((watchService.get("KillSignal")?.[0] ?? "SIGTERM") as NodeJS.Signals);
    const ended = await w.ended;
    expect(ended, w.out()).toEqual({ code: 0, signal: null }); // a clean exit: Restart=on-failure does not restart it
    expect(Date.now() - stoppedAt).toBeLessThan(seconds(one(watchService, "TimeoutStopSec")) * 1000);
    expect(w.out()).toMatch(/covenant watch: stopped\n$/);
    const after = status(paths);
    expect(after.stdout).toMatch(/^stopped at /);
    expect(after.status).toBe(1);
  }, 60_000);

  it("exits with a status that RestartPreventExitStatus= keeps from restarting when the policy has errors", async () => {
    const { paths } = host();
    writeFileSync(join(paths["/etc/covenant/policies"]!, "broken.promise"), 'control "B-1" {\n  title = \n}\n');
    const w = startWatchUnit(paths);
    const { code } = await w.ended;
    expect(w.out()).toMatch(/broken\.promise:\d+:\d+: error/);
    expect(one(watchService, "Restart")).toBe("on-failure");
    expect(one(watchService, "RestartPreventExitStatus").split(/\s+/)).toContain(String(code));
  }, 30_000);

  it("is the watcher that covenant.service's condition asks about: the run is skipped while it beats and goes ahead when it is gone", async () => {
    const { paths, watched } = host();
    // no watcher: the timer's runs are the schedule
    expect(condition(paths)).toBe("run");
    const w = startWatchUnit(paths);
    await w.waitFor(/watch run \d+ \(start-up rescan\)/);
    expect(condition(paths)).toBe("skip");

    // the watcher dies without a word (the OOM killer, kill -9): the next timer run goes ahead,
    // does its work, and reports the dead watcher to the stakeholders of the watched file
    w.child.kill("SIGKILL");
    await w.ended;
    chmodSync(watched, 0o666);
    expect(condition(paths)).toBe("run");
    const run = exec(argvOf(one(runService, "ExecStart"), paths));
    expect(run.stdout).toMatch(/the watcher is not watching: its process \(pid \d+\) is gone/);
    expect(run.stdout).toMatch(/covenant\.watch/);
    expect(run.stdout).toMatch(/UNIT-1/);
    expect(one(runService, "SuccessExitStatus").split(/\s+/)).toContain(String(run.status));
    expect(run.status).toBe(1);
  }, 60_000);
});
