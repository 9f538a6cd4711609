import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, mkdtempSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { readProcesses, type ProcessInfo } from "../../src/probes/processes.ts";
import { evaluateOne } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("process", {
  valid: [
    'process "telnetd" { min = 0 max = 0 }',
    'process "telnetd" { max = 0 }',
    'process "ledger-postd" { exe = ["/usr/local/bin/ledger-postd", "/opt/ledger/bin/ledger-postd"] user = "ledger" }',
    'process "backup" { cmdline = "--full" max_age = 6h }',
    'process "ledger-postd" { start = ["/usr/local/bin/ledger-postd", "--daemon"] repair = [start, kill] max = 1 }',
  ],
  invalid: [
    { promise: 'process "x" { min = 2 max = 1 }', code: "E119" },
    { promise: 'process "x" { repair = start }', code: "E104", message: "`repair = start` needs `start`" },
    { promise: 'process "x" { start = ["ledger-postd"] }', code: "E103", message: /must be an absolute path/ },
    { promise: 'process "x" { start = [] }', code: "E103", message: /needs at least the program/ },
    { promise: 'process "x" { cmdline = "[" }', code: "E103", message: /not a valid regular expression/ },
  ],
});

// Real processes: a copy of /bin/sleep under a name no other process has (the kernel's comm is
// the file name), so each test sees only the processes it started.
const binDir = mkdtempSync(join(tmpdir(), "cvt-process-"));
chmodSync(binDir, 0o755); // `nobody` must be able to run the copies
let name = "";
let binary = "";

function running(): ProcessInfo[] {
  const all = readProcesses({ proc: "/proc" });
  if (!all.ok) throw new Error(all.error.message);
  return all.value.filter((x) => x.comm === name && x.state !== "Z");
}

/** Starts the copy, then pauses so that the next one starts later (start ticks count hundredths of a second). */
async function run(...args: string[]): Promise<number> {
  const child = spawn(binary, args.length > 0 ? args : ["300"], { stdio: "ignore" });
  await new Promise((resolve, reject) => child.once("spawn", resolve).once("error", reject));
  await new Promise((r) => setTimeout(r, 30));
  return child.pid!;
}

describe("process behaviour", () => {
  beforeEach(() => {
    name = `cvt-${randomBytes(4).toString("hex")}`;
    binary = join(binDir, name);
    copyFileSync("/bin/sleep", binary);
    chmodSync(binary, 0o755);
  });
  afterEach(async () => {
    for (const x of running()) process.kill(x.pid, "SIGKILL");
    await vi.waitFor(() => expect(running()).toEqual([]));
  });

  it("is kept when as many run as promised, counting only command lines that match", async () => {
    await run("300");
    await run("301");
    expect(await evaluateOne(`process "${name}" { min = 1 max = 2 }`)).toMatchObject({ outcome: "kept", reason: "as promised" });
    expect(await evaluateOne(`process "${name}" { cmdline = " 301$" min = 1 max = 1 }`)).toMatchObject({ outcome: "kept" });
  });

  it("drifts when too few or too many run", async () => {
    expect(await evaluateOne(`process "${name}" {}`)).toMatchObject({ outcome: "drift", reason: `no \`${name}\` processes running, promised at least 1` });
    const first = await run();
    const second = await run();
    const r = await evaluateOne(`process "${name}" { min = 0 max = 0 }`);
    expect(r).toMatchObject({ outcome: "drift", reason: `\`${name}\` is running (pid ${first}, ${second}), promised not to run`, changes: [] });
    expect(r.differences).toEqual([expect.objectContaining({ attribute: "max", expected: "at most 0", observed: "2" })]);
  });

  it("forbids a process with `max = 0` alone, as the docs say: `min` follows `max`", async () => {
    expect(await evaluateOne(`process "${name}" { max = 0 }`)).toMatchObject({ outcome: "kept", reason: "as promised" });
    const pid = await run();
    const r = await evaluateOne(`process "${name}" { max = 0 }`);
    expect(r).toMatchObject({ outcome: "drift", reason: `\`${name}\` is running (pid ${pid}), promised not to run` });
    expect(r.differences.map((d) => d.attribute)).toEqual(["max"]);
    // a `max` of 1 or more leaves the default at 1
    await evaluateOne(`process "${name}" { max = 2 }`).then((x) => expect(x.outcome).toBe("kept"));
    for (const x of running()) process.kill(x.pid, "SIGKILL");
    await vi.waitFor(() => expect(running()).toEqual([]));
    expect(await evaluateOne(`process "${name}" { max = 2 }`)).toMatchObject({ outcome: "drift", reason: `no \`${name}\` processes running, promised at least 1` });
  });

  it("with `exe`, counts only processes that run the promised program: the name is no proof", async () => {
    // an impostor: another program under the same name (the kernel's comm is the file name)
    const elsewhere = mkdtempSync(join(tmpdir(), "cvt-impostor-"));
    chmodSync(elsewhere, 0o755);
    const impostor = join(elsewhere, name);
    copyFileSync("/bin/sleep", impostor);
    chmodSync(impostor, 0o755);
    const fake = spawn(impostor, ["300"], { stdio: "ignore" });
    await new Promise((resolve) => fake.once("spawn", resolve));
    const byName = await evaluateOne(`process "${name}" { min = 1 }`);
    expect(byName.outcome).toBe("kept"); // what a policy without `exe` cannot tell apart
    const byExe = await evaluateOne(`process "${name}" { exe = "${binary}" }`);
    expect(byExe).toMatchObject({ outcome: "drift", reason: `no \`${name}\` processes running ${binary}, promised at least 1`, notes: [`not counted: ${name} (pid ${fake.pid}) runs ${impostor}, not ${binary}`] });
    const real = await run();
    const kept = await evaluateOne(`process "${name}" { exe = ["${binary}"] max = 1 }`);
    expect(kept).toMatchObject({ outcome: "kept", notes: [`not counted: ${name} (pid ${fake.pid}) runs ${impostor}, not ${binary}`] });
    // `max = 0` with `exe` forbids that program only
    const forbid = await evaluateOne(`process "${name}" { exe = "${impostor}" max = 0 }`);
    expect(forbid).toMatchObject({ outcome: "drift", reason: `\`${name}\` is running ${impostor} (pid ${fake.pid}), promised not to run` });
    expect(real).toBeGreaterThan(0);
  });

  it("with `exe`, does not count a process whose program was deleted or replaced since it started: it no longer runs the installed program", async () => {
    const pid = await run();
    rmSync(binary);
    const r = await evaluateOne(`process "${name}" { exe = "${binary}" }`);
    expect(r).toMatchObject({
      outcome: "drift",
      notes: [`not counted: ${name} (pid ${pid}) runs ${binary} (deleted or replaced since it started: not the installed program), not ${binary} (an upgrade? restart it to run the installed program)`],
    });
  });

  it("with `exe`, does not count a copy shown under the promised path from another mount namespace", async () => {
    // the host's program at `binary`; the impostor runs another file that its own mount
    // namespace shows at the same path (what any user can do with an unprivileged namespace)
    const fakeDir = mkdtempSync(join(tmpdir(), "cvt-fake-"));
    copyFileSync("/bin/sleep", join(fakeDir, name));
    const script = `mount --bind ${join(fakeDir, name)} ${binary} && exec ${binary} 30`;
    spawn("unshare", ["-m", "--propagation", "private", "sh", "-c", script], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 400));
    const seen = running().filter((x) => x.comm === name);
    expect(seen.length).toBe(1);
    expect(readlinkSync(`/proc/${seen[0]!.pid}/exe`)).toBe(binary);
    const r = await evaluateOne(`process "${name}" { exe = "${binary}" }`);
    expect(r.outcome).toBe("drift");
    expect(r.notes[0]).toContain(`a file shown as ${binary} that is not the installed ${binary}`);
  });

  it("reports each process that runs as another user, or for too long, by its pid", async () => {
    const pid = await run();
    const user = await evaluateOne(`process "${name}" { user = "nobody" }`);
    expect(user).toMatchObject({ outcome: "drift", reason: `${name} (pid ${pid}) runs as root, promised nobody` });
    expect(user.differences).toEqual([{ subject: String(pid), attribute: "user", expected: "nobody", observed: "root", reason: user.reason }]);
    expect(await evaluateOne(`process "${name}" { user = "no-such-user" }`)).toMatchObject({ outcome: "drift", reason: expect.stringContaining("promised no-such-user, which does not exist on this host") });

    const later = new Date(Date.now() + 2 * 3_600_000);
    const old = await evaluateOne(`process "${name}" { max_age = 1h }`, { now: later });
    expect(old).toMatchObject({ outcome: "drift", differences: [{ subject: String(pid), attribute: "max_age", expected: "at most 1h", observed: "2h" }] });
    expect(old.reason).toMatch(new RegExp(`^${name} \\(pid ${pid}\\) has run for 2h \\(since .+Z\\), promised at most 1h$`));
    expect(await evaluateOne(`process "${name}" { max_age = 1h }`)).toMatchObject({ outcome: "kept" });
  });

  it("starts the process when too few run, as the promised user", async () => {
    const r = await evaluateOne(`process "${name}" { user = "nobody" start = ["${binary}", "300"] repair = start }`);
    expect(r).toMatchObject({ outcome: "repaired", reason: expect.stringContaining(`; fixed: start ["${binary}","300"] as nobody`) });
    expect(r.changes).toEqual([expect.objectContaining({ status: "applied", change: { op: "spawn", argv: [binary, "300"], uid: 65534, gid: 65534, user: "nobody" } })]);
    expect(running().map((x) => x.euid)).toEqual([65534]);
  });

  it("starts enough processes for `min`", async () => {
    await run();
    const r = await evaluateOne(`process "${name}" { min = 3 start = ["${binary}", "300"] repair = start }`);
    expect(r).toMatchObject({ outcome: "repaired" });
    expect(r.changes.map((c) => c.change.op)).toEqual(["spawn", "spawn"]);
    expect(running()).toHaveLength(3);
  });

  it("terminates the newest processes over `max`, keeping the oldest", async () => {
    const oldest = await run();
    const middle = await run();
    const newest = await run();
    const r = await evaluateOne(`process "${name}" { min = 0 max = 1 repair = kill }`);
    expect(r).toMatchObject({ outcome: "repaired" });
    expect(r.changes.map((c) => [c.description, c.status])).toEqual([
      [`terminate ${name} (pid ${newest})`, "applied"],
      [`terminate ${name} (pid ${middle})`, "applied"],
    ]);
    expect(running().map((x) => x.pid)).toEqual([oldest]);
  });

  it("fails when the start command does not bring the process up, or cannot run at all", async () => {
    // /bin/true runs and exits at once, and no process of the promised name ever appears
    const r = await evaluateOne(`process "${name}" { start = ["/bin/true"] repair = start }`);
    expect(r).toMatchObject({ outcome: "failed", reason: `still not as promised after repair: no \`${name}\` processes running, promised at least 1` });
    expect(r.changes).toEqual([expect.objectContaining({ status: "applied" })]);

    const missing = await evaluateOne(`process "${name}" { start = ["${binDir}/missing"] repair = start }`);
    expect(missing).toMatchObject({ outcome: "failed", reason: `repair failed: start ["${binDir}/missing"]: cannot start ${binDir}/missing: ENOENT` });
  });

  it("is an error, not a count of zero, when the process table cannot be read", async () => {
    const r = await evaluateOne(`process "${name}" { max = 0 }`, { roots: { proc: join(binDir, "no-proc"), etc: "/etc" } });
    expect(r).toMatchObject({ outcome: "error", reason: `the process table cannot be read: ${join(binDir, "no-proc")} does not exist` });
  });

  it("in a dry run, plans starts and kills and leaves the processes as they are", async () => {
    const start = await evaluateOne(`process "${name}" { start = ["${binary}", "300"] repair = start }`, { dryRun: true });
    expect(start).toMatchObject({ outcome: "drift", reason: `no \`${name}\` processes running, promised at least 1 (dry run: repair not applied)` });
    expect(start.changes).toEqual([expect.objectContaining({ status: "planned", change: { op: "spawn", argv: [binary, "300"] } })]);
    expect(running()).toEqual([]);

    const pids = [await run(), await run()];
    const kill = await evaluateOne(`process "${name}" { min = 0 max = 0 repair = kill }`, { dryRun: true });
    expect(kill).toMatchObject({ outcome: "drift" });
    expect(kill.changes.map((c) => c.status)).toEqual(["planned", "planned"]);
    expect(running().map((x) => x.pid)).toEqual(pids);
  });
});
