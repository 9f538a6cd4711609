import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { below } from "../../src/probes/conf-dirs.ts";
import { normaliseTriggers, parseUnit, read } from "../../src/probes/systemd-timers.ts";

// No systemd runs as PID 1 on the machines this is built on: timers are read from a fixture tree only.
const fixture = "test/fixtures/roots/cron-mixed";

describe("systemd-timers probe", () => {
  it("parses a unit's sections, comments and continuations", () => {
    expect(parseUnit("# c\n; c\n[Timer]\nOnCalendar = daily\nOnCalendar=\n[Service]\nExecStart=/bin/a \\\n  --b \\\n# inside\n  --c\nnot a setting\n")).toEqual([
      { section: "Timer", key: "OnCalendar", value: "daily", line: 4 },
      { section: "Timer", key: "OnCalendar", value: "", line: 5 },
      { section: "Service", key: "ExecStart", value: "/bin/a --b --c", line: 7 },
    ]);
  });

  it("reads each enabled or defined timer with its service, drop-ins applied and masked ones left out", () => {
    const r = read(below(fixture));
    expect(r.skipped).toEqual([]);
    expect(r.jobs).toEqual([
      expect.objectContaining({ name: "fstrim.timer", enabled: false, schedule: "OnCalendar=weekly", command: "/sbin/fstrim --listed-in /etc/fstab:/proc/self/mountinfo --verbose" }),
      // the drop-in's empty OnCalendar= reset the unit's `daily`
      expect.objectContaining({ name: "logrotate.timer", enabled: true, schedule: "OnCalendar=*-*-* 03:30:00", user: "root", command: "/usr/sbin/logrotate /etc/logrotate.conf" }),
      // an instance enabled by a link, loaded from its template, `%i` filled in; the template itself is no job
      expect.objectContaining({ name: "pg_dump@15-main.timer", enabled: true, schedule: "OnCalendar=weekly", user: "postgres", command: "/usr/bin/pg_backupcluster 15-main dump" }),
      // Unit= names the service; ExecStart's `-` prefix is not the program
      expect.objectContaining({ name: "report.timer", enabled: true, schedule: "OnBootSec=15min; OnUnitActiveSec=1d", user: "reporter", command: "/usr/local/bin/ledger-report --daily" }),
    ]);
    expect(r.jobs.map((j) => j.name)).not.toContain("apt-daily.timer");
    expect(r.jobs.map((j) => j.name)).not.toContain("pg_dump@.timer");
  });

  it("compares triggers in any order and spacing", () => {
    expect(normaliseTriggers(["OnUnitActiveSec = 1d", " OnBootSec=15min"])).toBe("OnBootSec=15min; OnUnitActiveSec=1d");
  });

  it("never throws on arbitrary text (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        for (const s of parseUnit(text)) expect(s.key).not.toBe("");
      }),
      { numRuns: 1000 },
    );
  });
});
