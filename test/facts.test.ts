import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { businessPosition, isBusinessDay, localTime } from "../src/facts/calendar.ts";
import { factCatalogue } from "../src/facts/catalog.ts";
import { parseOsRelease, readFacts } from "../src/facts/host.ts";

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
  });
});
