import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { below } from "../../src/probes/conf-dirs.ts";
import { normaliseSchedule } from "../../src/probes/cron-schedule.ts";
import { parse, read, runPartsName } from "../../src/probes/crontab.ts";
import { ensureDebianTool } from "../helpers/debian-package.ts";

const fixture = "test/fixtures/roots/cron-mixed";
// crontab (Debian's cron) is installed when missing, so that the live comparison runs
const crontabMissing = ensureDebianTool("crontab", "cron");

describe("cron schedules", () => {
  it("compares a schedule in its normal form", () => {
    expect(normaliseSchedule("00 02 * * *")).toBe(normaliseSchedule("0 2 * * *"));
    expect(normaliseSchedule("0 2 * * *")).not.toBe(normaliseSchedule("@daily"));
    expect(normaliseSchedule("@daily")).toBe("0 0 * * *");
    expect(normaliseSchedule("@midnight")).toBe(normaliseSchedule("0 0 * * *"));
    expect(normaliseSchedule("@annually")).toBe(normaliseSchedule("@yearly"));
    expect(normaliseSchedule("@reboot")).toBe("@reboot");
    expect(normaliseSchedule("*/1 * * JAN-dec SUN")).toBe("* * * * 0");
    expect(normaliseSchedule("30 4 * * 7")).toBe(normaliseSchedule("30 4 * * 0"));
    expect(normaliseSchedule("5,1,3 * * * *")).toBe("1,3,5 * * * *");
    expect(normaliseSchedule("0-59/15 * * * *")).toBe("*/15 * * * *");
    expect(normaliseSchedule("0 0 * * 0-7")).toBe("0 0 * * *");
  });

  it("refuses what cron does not run", () => {
    for (const bad of ["61 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "* * * *", "@fortnightly", "5-1 * * * *", "*/0 * * * *", "x * * * *"]) expect(normaliseSchedule(bad), bad).toBeUndefined();
  });

  it("never throws, and its normal form is its own normal form (property)", () => {
    const field = fc.oneof(fc.constantFrom("*", "*/5", "1-5", "mon", "jan", "07", "0,30"), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(field, { minLength: 0, maxLength: 7 }), (fields) => {
        const n = normaliseSchedule(fields.join(" "));
        if (n !== undefined && n !== "@reboot") expect(normaliseSchedule(n)).toBe(n);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("crontab probe", () => {
  it("reads a system crontab's jobs, users and environment, and passes over what cron does not run", () => {
    const r = parse("SHELL=/bin/sh\n\"A B\" = 'c d'\n# comment\n  \n00 02 * * mon-fri backup /bin/x --y %stdin%more\n@reboot root /bin/boot\n61 * * * * root /bin/bad\n* * * * * root\n", "/etc/cron.d/t", true);
    expect(r.env).toEqual([
      { line: 1, name: "SHELL", value: "/bin/sh" },
      { line: 2, name: "A B", value: "c d" },
    ]);
    expect(r.entries).toEqual([
      { line: 5, written: "00 02 * * mon-fri", schedule: "0 2 * * 1-5", user: "backup", command: "/bin/x --y" },
      { line: 6, written: "@reboot", schedule: "@reboot", user: "root", command: "/bin/boot" },
    ]);
    expect(r.skipped.map((s) => s.line)).toEqual([7, 8]);
  });

  it("reads a user's crontab without a user field, and keeps an escaped %", () => {
    expect(parse("*/15 * * * * date +\\%F >> /tmp/x\n", "/var/spool/cron/crontabs/alice", false).entries).toEqual([{ line: 1, written: "*/15 * * * *", schedule: "*/15 * * * *", command: "date +\\%F >> /tmp/x" }]);
  });

  it("takes run-parts' names only", () => {
    expect(["logrotate", "0anacron", "apt-compat", "man_db"].every(runPartsName)).toBe(true);
    expect(["x.sh", "x.dpkg-old", "x~", ".hidden", ""].some(runPartsName)).toBe(false);
  });

  it("reads every source of a host's tree, skipping what cron would not run", () => {
    const r = read(below(fixture), (u) => ({ root: 0, alice: 0 })[u]);
    expect(r.unreadable).toEqual([]);
    expect(r.jobs.map((j) => `${j.source} ${j.path}${j.line ? `:${j.line}` : ""} ${j.user}`)).toEqual([
      "crontab /etc/crontab:6 root",
      "crontab /etc/crontab:7 root",
      "crontab /etc/crontab:8 root",
      "crontab /etc/crontab:9 root",
      "cron_d /etc/cron.d/backup:3 backup",
      "cron_d /etc/cron.d/backup:4 root",
      "user /var/spool/cron/crontabs/alice:2 alice",
      "run_parts /etc/cron.hourly/sysstat root",
      "run_parts /etc/cron.daily/logrotate root",
    ]);
    expect(r.skipped.map((s) => s.path)).toEqual([
      "/etc/cron.d/backup",
      "/etc/cron.d/backup",
      "/etc/cron.d/site.disabled",
      "/var/spool/cron/crontabs/mallory",
      "/etc/cron.daily/logrotate.dpkg-old",
      "/etc/cron.daily/notes",
    ]);
  });

  it("never throws on arbitrary text (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.boolean(), (text, system) => {
        const r = parse(text, "/x", system);
        for (const e of r.entries) expect(e.command).not.toBe("");
      }),
      { numRuns: 1000 },
    );
  });

  it.skipIf(crontabMissing !== undefined)(`finds root's crontab as \`crontab -l -u root\` lists it (live)${crontabMissing ? ` (skipped: ${crontabMissing})` : ""}`, () => {
    let listed: string | undefined;
    try {
      listed = execFileSync("crontab", ["-l", "-u", "root"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      if (!/no crontab for root/.test(String((err as { stderr?: string }).stderr))) throw err;
    }
    const mine = read((p) => p, (u) => (u === "root" ? 0 : undefined)).jobs.filter((j) => j.source === "user" && j.user === "root");
    const theirs = listed === undefined ? [] : parse(listed, "crontab -l", false).entries;
    expect(mine.map((j) => [j.schedule, j.command])).toEqual(theirs.map((e) => [e.schedule, e.command]));
  });
});
