// Quiet hours in the stakeholder's time zone: held to their end, worked out as an instant.
import { describe, expect, it } from "vitest";
import type { QuietHours } from "../../../src/config/types.ts";
import { plan } from "../../../src/notifiers/routing/index.ts";
import { quietUntil } from "../../../src/notifiers/routing/quiet.ts";
import { deficiency, hour, notifyConfig } from "../../helpers/notify-config.ts";
import { Planner, summary } from "../../helpers/routing.ts";

const at = (s: string): number => Date.parse(s);
const night: QuietHours = { from: "22:00", to: "07:00" };

describe("quietUntil", () => {
  it("ends a night across midnight the next morning, in the stakeholder's zone", () => {
    expect(quietUntil(at("2026-03-03T04:00:00Z"), night, "America/New_York")).toBe(at("2026-03-03T12:00:00Z"));
    // after midnight: the same morning
    expect(quietUntil(at("2026-03-03T08:00:00Z"), night, "America/New_York")).toBe(at("2026-03-03T12:00:00Z"));
  });

  it("is not quiet before `from` or from `to` on", () => {
    expect(quietUntil(at("2026-03-03T02:59:00Z"), night, "America/New_York")).toBeUndefined();
    expect(quietUntil(at("2026-03-03T12:00:00Z"), night, "America/New_York")).toBeUndefined();
    expect(quietUntil(at("2026-03-03T03:00:00Z"), night, "America/New_York")).toBe(at("2026-03-03T12:00:00Z"));
  });

  it("ends at 07:00 local on the night the clocks spring forward (an hour shorter)", () => {
    // 2026-03-07 23:00 EST; 07:00 on the 8th is EDT (UTC-4)
    expect(quietUntil(at("2026-03-08T04:00:00Z"), night, "America/New_York")).toBe(at("2026-03-08T11:00:00Z"));
  });

  it("ends at 07:00 local on the night the clocks fall back (an hour longer)", () => {
    // 2026-10-31 23:00 EDT; 07:00 on 1 November is EST (UTC-5)
    expect(quietUntil(at("2026-11-01T03:00:00Z"), night, "America/New_York")).toBe(at("2026-11-01T12:00:00Z"));
  });

  it("ends when the clocks jump past an end that does not exist that night", () => {
    // 02:30 is never read on 2026-03-08 in New York: 01:59:59 EST is followed by 03:00 EDT
    expect(quietUntil(at("2026-03-08T04:00:00Z"), { from: "22:00", to: "02:30" }, "America/New_York")).toBe(at("2026-03-08T07:00:00Z"));
  });

  it("ends at the second 01:30 when the night is already past the first", () => {
    // 01:15 EST (the second 01:15 of 2026-11-01) is inside 22:00–01:30; the first 01:30 (EDT) is past
    expect(quietUntil(at("2026-11-01T06:15:00Z"), { from: "22:00", to: "01:30" }, "America/New_York")).toBe(at("2026-11-01T06:30:00Z"));
  });

  it("falls back to the host's time zone for a zone it does not know, rather than throw", () => {
    const t = at("2026-03-02T23:30:00Z");
    expect(quietUntil(t, night, "Mars/Olympus_Mons")).toBe(quietUntil(t, night, undefined));
  });

  it("handles quiet hours within one day, and none when from equals to", () => {
    expect(quietUntil(at("2026-03-02T11:30:00Z"), { from: "12:00", to: "14:00" }, "Europe/Berlin")).toBe(at("2026-03-02T13:00:00Z"));
    expect(quietUntil(at("2026-03-02T13:30:00Z"), { from: "12:00", to: "14:00" }, "Europe/Berlin")).toBeUndefined();
    expect(quietUntil(at("2026-03-02T11:30:00Z"), { from: "12:00", to: "12:00" }, "Europe/Berlin")).toBeUndefined();
  });
});

function planner(repeatIntervalMs = 12 * hour): Planner {
  return new Planner(
    notifyConfig({
      stakeholders: {
        security: { people: [{ name: "Alice", email: "alice@example.com", phone: "+15551230001" }], channels: ["mail", "sms", "hook", "digest", "am"], timezone: "America/New_York", quietHours: night },
      },
      channels: { mail: "email", sms: "twilio", hook: "webhook", digest: "report", am: "alertmanager" },
      route: { receivers: ["security"], groupWaitMs: 0, repeatIntervalMs },
    }),
  );
}

describe("quiet hours in plan()", () => {
  it("holds email and SMS to the end of quiet hours, says when, and sends report, webhook and alertmanager at once", () => {
    const p = planner();
    const a = deficiency("d-aaaa0001", { severity: "high" });
    const night0 = at("2026-03-08T04:00:00Z");
    expect(summary(p.at(night0, [a])).map((s) => s.split(" → ")[1])).toEqual(["security/am [d-aaaa0001]", "security/digest [d-aaaa0001]", "security/hook [d-aaaa0001]"]);
    expect(p.last!.nextAt).toBe(at("2026-03-08T11:00:00Z"));
    expect(p.at(at("2026-03-08T10:59:00Z"), [a])).toEqual([]);
    const morning = p.at(at("2026-03-08T11:00:00Z"), [a]);
    expect(summary(morning).map((s) => s.split(" → ")[1])).toEqual(["security/mail/alice@example.com [d-aaaa0001]", "security/sms/+15551230001 [d-aaaa0001]"]);
    expect(morning.every((m) => m.dueAt === at("2026-03-08T11:00:00Z"))).toBe(true);
  });

  it("lets a critical deficiency through", () => {
    const p = planner();
    const sent = p.at(at("2026-03-08T04:00:00Z"), [deficiency("d-aaaa0001", { severity: "critical" })]);
    expect(sent).toHaveLength(5);
  });

  it("holds a reminder due in the night to the morning", () => {
    const p = planner(4 * hour);
    const a = deficiency("d-aaaa0001");
    p.at(at("2026-03-02T23:00:00Z"), [a]);
    // 4 h later is 22:00 in New York
    const night1 = at("2026-03-03T03:00:00Z");
    expect(p.at(night1, [a]).map((m) => m.channel)).toEqual(["am", "digest", "hook"]);
    expect(p.last!.nextAt).toBe(at("2026-03-03T12:00:00Z"));
    const morning = p.at(at("2026-03-03T12:00:00Z"), [a]).filter((m) => m.channel === "mail" || m.channel === "sms");
    expect(morning.map((m) => `${m.message.kind} ${m.channel}`)).toEqual(["reminder mail", "reminder sms"]);
  });

  it("uses the host's time zone for a stakeholder that names none", () => {
    const config = notifyConfig({
      stakeholders: { security: { people: [{ name: "Alice", email: "alice@example.com" }], channels: ["mail"], quietHours: night } },
      channels: { mail: "email" },
      route: { receivers: ["security"], groupWaitMs: 0 },
    });
    const input = { config, deficiencies: [deficiency("d-aaaa0001")], groups: [], facts: new Map(), hostTimeZone: "Asia/Tokyo" };
    // 23:00 in Tokyo (UTC+9, no DST): held to 07:00 = 22:00Z
    const held = plan({ ...input, now: at("2026-03-02T14:00:00Z") });
    expect(held.messages).toEqual([]);
    expect(held.nextAt).toBe(at("2026-03-02T22:00:00Z"));
    expect(plan({ ...input, now: at("2026-03-02T05:00:00Z") }).messages).toHaveLength(1);
  });
});
