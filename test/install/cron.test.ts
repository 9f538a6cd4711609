// examples/cron/covenant: its jobs, run as cron runs them (sh -c, the file's variables), with
// the real CLI and its paths moved into a temporary directory. Cron mails what a job prints:
// only Covenant's own failures (exit 2, 3, or any other status but 1) may print anything.
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin, ensureBuilt } from "../helpers/cli.ts";
import { parseCronFile, runCronCommand, type CronJob } from "./cron-file.ts";

beforeAll(() => ensureBuilt());

const cron = parseCronFile(readFileSync("examples/cron/covenant", "utf8"));
const work = mkdtempSync(join(tmpdir(), "covenant-cron-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let serial = 0;
/** A fresh place for one job's state, logs and policies, and a PATH whose `covenant` is `program`. */
function place(program: string | { exit: number; says: string }): { dir: string; env: Record<string, string> } {
  const dir = join(work, String(++serial));
  for (const sub of ["state", "log", "policies", "bin"]) mkdirSync(join(dir, sub), { recursive: true });
  chmodSync(join(dir, "state"), 0o700);
  const covenant = join(dir, "bin/covenant");
  if (typeof program === "string") symlinkSync(program, covenant);
  else {
    writeFileSync(covenant, `#!/bin/sh\necho '${program.says}'\nexit ${program.exit}\n`);
    chmodSync(covenant, 0o755);
  }
  return { dir, env: { ...cron.env, PATH: `${join(dir, "bin")}:${cron.env["PATH"]}`, HOME: dir } };
}

/** The job's command with the host's paths moved into `dir`; nothing of the host is left in it. */
function localised(job: CronJob, dir: string): string {
  // without --state, a job run as root would use the host's /var/lib/covenant
  if (!job.command.includes("--state /var/lib/covenant")) throw new Error(`the job names no state directory: ${job.command}`);
  const command = job.command
    .replaceAll("/var/lib/covenant", join(dir, "state"))
    .replaceAll("/var/log/covenant", join(dir, "log"))
    .replaceAll("/etc/covenant/policies", join(dir, "policies"));
  expect(command).not.toMatch(/ \/(var|etc)\//);
  return command;
}

function policy(dir: string, name: string, file: string, mode: number): void {
  writeFileSync(join(dir, file), "");
  chmodSync(join(dir, file), mode);
  writeFileSync(join(dir, "policies", `${name}.promise`), `stakeholder ops\ncontrol "${name}" {\n  title = "t"\n  owner = ops\n  file "${join(dir, file)}" { mode = 0640 }\n}\n`);
}

const runJob = cron.jobs.find((j) => j.command.includes("covenant run "))!;
const verifyJob = cron.jobs.find((j) => j.command.startsWith("covenant verify "))!;

describe("examples/cron/covenant", () => {
  it("runs every five minutes and verifies daily, as root, with the state directory named", () => {
    expect(cron.env).toMatchObject({ SHELL: "/bin/sh", MAILTO: expect.stringContaining("@") });
    expect(runJob).toMatchObject({ schedule: "*/5 * * * *", user: "root" });
    expect(verifyJob).toMatchObject({ schedule: "17 3 * * *", user: "root" });
    // the moved paths below must be every path a job touches, or a test run as root would use the host's
    for (const job of cron.jobs) expect(job.command).toContain("--state /var/lib/covenant");
  });

  it("runs only when no watcher is running and beating: it checks the watcher first", () => {
    expect(runJob.command).toMatch(/^covenant watch --status --state \/var\/lib\/covenant >\S+ 2>&1 \|\| covenant run /);
  });

  it("while the watcher beats, runs nothing and mails nothing; once it is gone, runs in its place and reports it", async () => {
    const { dir, env } = place(bin);
    policy(dir, "W-1", "watched", 0o640);
    const watcher = spawn(bin, ["watch", "--state", join(dir, "state"), join(dir, "policies")], { env, stdio: ["ignore", "pipe", "pipe"] });
    try {
      let out = "";
      watcher.stdout.on("data", (c: Buffer) => (out += c.toString()));
      const deadline = Date.now() + 15_000;
      while (!/watch run \d+ \(start-up rescan\)/.test(out)) {
        if (Date.now() > deadline || watcher.exitCode !== null) throw new Error(`the watcher did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(runCronCommand(localised(runJob, dir), env).mail).toBe("");
      expect(readFileSync(join(dir, "log/watch-status.txt"), "utf8")).toMatch(/^running: pid \d+/);
      expect(existsSync(join(dir, "log/last-run.txt"))).toBe(false);
      // killed without a word: the next job runs, and the run says the watcher is gone (exit 1: not mailed)
      watcher.kill("SIGKILL");
      await new Promise((r) => watcher.once("close", r));
      expect(runCronCommand(localised(runJob, dir), env).mail).toBe("");
      expect(readFileSync(join(dir, "log/watch-status.txt"), "utf8")).toMatch(/^stale: its process \(pid \d+\) is gone/);
      expect(readFileSync(join(dir, "log/last-run.txt"), "utf8")).toMatch(/the watcher is not watching[\s\S]*covenant\.watch/);
    } finally {
      watcher.kill("SIGKILL");
    }
  }, 40_000);

  it("mails nothing when every promise is kept, and keeps the report and the JUnit file", () => {
    const { dir, env } = place(bin);
    policy(dir, "KEPT-1", "tight", 0o640);
    const r = runCronCommand(localised(runJob, dir), env);
    expect(r.mail).toBe("");
    expect(readFileSync(join(dir, "log/last-run.txt"), "utf8")).toMatch(/KEPT +KEPT-1[\s\S]*no deficiencies/);
    expect(readFileSync(join(dir, "log/last-run.xml"), "utf8")).toContain("<testsuites");
    // ...and the daily verify of that history mails nothing either
    expect(runCronCommand(localised(verifyJob, dir), env).mail).toBe("");
    expect(readFileSync(join(dir, "log/last-verify.txt"), "utf8")).toMatch(/^intact: /);
  });

  it("mails nothing for deficiencies (exit 1): they are in the report file", () => {
    const { dir, env } = place(bin);
    policy(dir, "DRIFT-1", "loose", 0o644);
    expect(runCronCommand(localised(runJob, dir), env).mail).toBe("");
    expect(readFileSync(join(dir, "log/last-run.txt"), "utf8")).toMatch(/DRIFT +DRIFT-1/);
  });

  it("mails the report when Covenant itself fails: a policy error (exit 2)", () => {
    const { dir, env } = place(bin);
    writeFileSync(join(dir, "policies/broken.promise"), 'control "B-1" {\n  title = \n}\n');
    const r = runCronCommand(localised(runJob, dir), env);
    expect(r.mail).toMatch(/broken\.promise:\d+:\d+: error E\d+/);
    expect(r.mail).toBe(readFileSync(join(dir, "log/last-run.txt"), "utf8"));
  });

  it("mails the report of an internal error (exit 3) or of a run that was killed", () => {
    for (const exit of [3, 137]) {
      const { dir, env } = place({ exit, says: `stand-in covenant exiting ${exit}` });
      expect(runCronCommand(localised(runJob, dir), env).mail).toBe(`stand-in covenant exiting ${exit}\n`);
    }
  });

  it("mails verify's answer when the history cannot be vouched for", () => {
    const { dir, env } = place(bin);
    const r = runCronCommand(localised(verifyJob, dir), env); // no store there: exit 2
    expect(r.mail).not.toBe("");
    expect(r.mail).toBe(readFileSync(join(dir, "log/last-verify.txt"), "utf8"));
  });
});
