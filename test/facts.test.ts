import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { businessPosition, isBusinessDay, localTime } from "../src/facts/calendar.ts";
import { factCatalogue } from "../src/facts/catalog.ts";
import { osFamily, parseOsRelease, readFacts } from "../src/facts/host.ts";

const usCalendar = { holidays: ["2026-11-26", "2026-12-25"], weekend: ["saturday", "sunday"], timezone: "America/New_York" };

describe("business calendar", () => {
  it("places days of November 2026 among its business days", () => {
    // Nov 2026: 1st is a Sunday; 21 weekdays, 20 business days with Thanksgiving (26th)
    expect(businessPosition(2026, 11, 2, usCalendar)).toEqual({ isBusinessDay: true, businessDayOfMonth: 1, businessDaysLeftInMonth: 19 });
    expect(businessPosition(2026, 11, 26, usCalendar)).toEqual({ isBusinessDay: false, businessDayOfMonth: 18, businessDaysLeftInMonth: 2 });
    expect(businessPosition(2026, 11, 30, usCalendar)).toEqual({ isBusinessDay: true, businessDayOfMonth: 20, businessDaysLeftInMonth: 0 });
    expect(businessPosition(2026, 11, 1, usCalendar).businessDayOfMonth).toBe(0);
  });

  it("always splits the month's business days between done and left", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1970, max: 2100 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), (y, m, d) => {
        const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
        fc.pre(d <= days);
        let total = 0;
        for (let k = 1; k <= days; k++) if (isBusinessDay(y, m, k, usCalendar)) total++;
        const p = businessPosition(y, m, d, usCalendar);
        expect(p.businessDayOfMonth + p.businessDaysLeftInMonth).toBe(total);
      }),
    );
  });

  it("reads the date in the calendar's time zone", () => {
    const instant = new Date("2026-12-01T03:30:00Z"); // still November 30 in New York
    expect(localTime(instant, "America/New_York")).toMatchObject({ year: 2026, month: 11, day: 30, hour: 22, minute: 30, weekday: "monday" });
    expect(localTime(instant, "UTC")).toMatchObject({ month: 12, day: 1, hour: 3, weekday: "tuesday" });
  });
});

describe("host facts", () => {
  it("reads every catalogued fact, as the host's own tools see them", () => {
    const facts = readFacts({ now: new Date("2026-11-30T15:00:00Z"), calendar: usCalendar });
    for (const f of factCatalogue) expect(facts.has(f.name), f.name).toBe(true);
    expect(facts.get("fqdn")).toBe(execFileSync("hostname", { encoding: "utf8" }).trim());
    expect(facts.get("arch")).toBe(execFileSync("uname", ["-m"], { encoding: "utf8" }).trim());
    expect(facts.get("kernel")).toBe(execFileSync("uname", ["-r"], { encoding: "utf8" }).trim());
    expect(facts.get("business_days_left_in_month")).toBe(0);
    expect(facts.get("quarter")).toBe(4);
    expect(facts.get("ip")).toContain("127.0.0.1");
  });

  it("parses os-release quoting", () => {
    expect(parseOsRelease('ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')).toEqual(
      new Map([["ID", "debian"], ["VERSION_ID", "12"], ["PRETTY_NAME", "Debian GNU/Linux 12 (bookworm)"]]),
    );
    // os-release(5): within double quotes, `"`, `\`, `$` and the backquote are escaped
    expect(parseOsRelease('NAME="say \\"hi\\" \\\\ \\$HOME \\`x\\`"\nID=\'rhel\'\n')).toEqual(new Map([["NAME", 'say "hi" \\ $HOME `x`'], ["ID", "rhel"]]));
  });

  it("puts a distribution in its family by ID, then by ID_LIKE in order", () => {
    const family = (text: string) => osFamily(parseOsRelease(text));
    expect(family("ID=debian\n")).toBe("debian");
    expect(family("ID=ubuntu\nID_LIKE=debian\n")).toBe("debian");
    expect(family('ID=linuxmint\nID_LIKE="ubuntu debian"\n')).toBe("debian");
    expect(family('ID="rhel"\nID_LIKE="fedora"\n')).toBe("rhel");
    expect(family('ID="rocky"\nID_LIKE="rhel centos fedora"\n')).toBe("rhel");
    expect(family('ID="almalinux"\nID_LIKE="rhel centos fedora"\n')).toBe("rhel");
    expect(family('ID="ol"\nID_LIKE="fedora"\n')).toBe("rhel");
    expect(family("ID=fedora\n")).toBe("rhel");
    expect(family('ID="sles"\nID_LIKE="suse"\n')).toBe("suse");
    expect(family("ID=alpine\n")).toBe("alpine");
    expect(family("NAME=nothing\n")).toBeUndefined();
  });

  it("reads os_family from the os-release of the etc root it is given", () => {
    const etc = mkdtempSync(join(tmpdir(), "covenant-facts-"));
    writeFileSync(join(etc, "os-release"), 'ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n');
    const facts = readFacts({ etcRoot: etc });
    expect(facts.get("os_family")).toBe("rhel");
    expect(facts.get("os_id")).toBe("rocky");
    expect(facts.get("os_version")).toBe("9.4");
  });
});
