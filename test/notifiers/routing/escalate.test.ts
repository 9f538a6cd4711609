// Escalation: a group also told to another stakeholder once a member has stayed open (or
// unacknowledged) past `after`.
import { describe, expect, it } from "vitest";
import { acknowledged, deficiency, hour, minute, notifyConfig, resolved, second } from "../../helpers/notify-config.ts";
import { Planner, summary } from "../../helpers/routing.ts";

const t0 = Date.parse("2026-03-02T12:00:00Z");
const iso = (t: number): string => new Date(t).toISOString();

function planner(unacknowledged: boolean): Planner {
  return new Planner(
    notifyConfig({
      stakeholders: {
        security: { people: [{ name: "Alice", email: "alice@example.com" }], channels: ["mail"] },
        cfo_office: { people: [{ name: "Carol CFO", email: "carol@example.com" }], channels: ["mail"] },
      },
      channels: { mail: "email" },
      route: { receivers: ["security"], escalate: [{ after: hour, to: ["cfo_office"], unacknowledged }] },
    }),
  );
}

const toCfo = (p: Planner): string[] => summary(p.sent).filter((s) => s.includes("cfo_office"));

describe("escalation", () => {
  it("tells the escalation stakeholder once the deficiency has been open for `after`, and not before", () => {
    const p = planner(true);
    const a = deficiency("d-aaaa0001", { openedAt: iso(t0) });
    p.at(t0, [a]);
    p.at(t0 + 30 * second, [a]);
    expect(p.last!.nextAt).toBe(t0 + hour);
    for (let t = t0 + 15 * minute; t < t0 + hour; t += 15 * minute) p.at(t, [a]);
    expect(toCfo(p)).toEqual([]);
    const sent = p.at(t0 + hour, [a]);
    expect(summary(sent)).toEqual(['escalated root:escalate.0 {control="ITGC-AC-01"} → cfo_office/mail/carol@example.com [d-aaaa0001]']);
    expect(p.groups.find((g) => g.recipient.startsWith("cfo_office"))!.escalation).toBe(true);
  });

  it("then follows the repeat rules: reminded after repeat_interval, told when resolved", () => {
    const p = planner(true);
    const a = deficiency("d-aaaa0001", { openedAt: iso(t0) });
    for (let t = t0; t <= t0 + 5 * hour; t += 15 * minute) p.at(t, [a]);
    expect(toCfo(p)).toEqual([
      'escalated root:escalate.0 {control="ITGC-AC-01"} → cfo_office/mail/carol@example.com [d-aaaa0001]',
      'reminder root:escalate.0 {control="ITGC-AC-01"} → cfo_office/mail/carol@example.com [d-aaaa0001]',
    ]);
    p.at(t0 + 6 * hour, [resolved(a, iso(t0 + 6 * hour))]);
    expect(toCfo(p).at(-1)).toBe('resolved root:escalate.0 {control="ITGC-AC-01"} → cfo_office/mail/carol@example.com [d-aaaa0001]');
  });

  it("does not escalate a deficiency acknowledged before `after` when it escalates only unacknowledged ones", () => {
    const p = planner(true);
    const a = deficiency("d-aaaa0001", { openedAt: iso(t0) });
    p.at(t0, [a]);
    p.at(t0 + 30 * second, [a]);
    const acked = acknowledged(a, iso(t0 + 20 * minute));
    for (let t = t0 + 20 * minute; t <= t0 + 10 * hour; t += 15 * minute) p.at(t, [acked]);
    expect(toCfo(p)).toEqual([]);
    // the owner still hears of the acknowledgement, and is still reminded
    expect(summary(p.sent).map((s) => s.split(" ")[0])).toEqual(["opened", "updated", "reminder", "reminder"]);
  });

  it("stops escalating after an acknowledgement (messages already sent stay sent)", () => {
    const p = planner(true);
    const a = deficiency("d-aaaa0001", { openedAt: iso(t0) });
    for (let t = t0; t <= t0 + 2 * hour; t += 15 * minute) p.at(t, [a]);
    expect(toCfo(p)).toHaveLength(1);
    const acked = acknowledged(a, iso(t0 + 2 * hour));
    for (let t = t0 + 2 * hour; t <= t0 + 12 * hour; t += 15 * minute) p.at(t, [acked]);
    expect(toCfo(p)).toHaveLength(1);
  });

  it("escalates an acknowledged deficiency anyway with unacknowledged: false", () => {
    const p = planner(false);
    const a = deficiency("d-aaaa0001", { openedAt: iso(t0) });
    p.at(t0, [a]);
    const acked = acknowledged(a, iso(t0 + 20 * minute));
    for (let t = t0 + 20 * minute; t <= t0 + hour; t += 20 * minute) p.at(t, [acked]);
    expect(toCfo(p)).toEqual(['escalated root:escalate.0 {control="ITGC-AC-01"} → cfo_office/mail/carol@example.com [d-aaaa0001]']);
  });

  it("never escalates a notice", () => {
    const p = planner(false);
    const n = { ...deficiency("d-nnnn0001", { openedAt: iso(t0), outcome: "repaired" }), notice: true, status: "resolved" as const };
    for (let t = t0; t <= t0 + 3 * hour; t += 15 * minute) p.at(t, [n]);
    expect(toCfo(p)).toEqual([]);
    expect(p.sent).toHaveLength(1);
  });
});

describe("escalation and quiet hours", () => {
  it("holds an escalation email to the escalation stakeholder's morning, unless the deficiency is critical", () => {
    const config = notifyConfig({
      stakeholders: {
        security: { channels: ["hook"] },
        cfo_office: { people: [{ name: "Carol CFO", email: "carol@example.com" }], channels: ["mail"], timezone: "Europe/London", quietHours: { from: "20:00", to: "08:00" } },
      },
      channels: { mail: "email", hook: "webhook" },
      route: { receivers: ["security"], groupBy: ["..."], escalate: [{ after: hour, to: ["cfo_office"] }] },
    });
    const evening = Date.parse("2026-03-02T21:00:00Z");
    const high = deficiency("d-aaaa0001", { openedAt: iso(evening) });
    const critical = deficiency("d-aaaa0002", { openedAt: iso(evening), severity: "critical" });
    const p = new Planner(config);
    p.at(evening, [high, critical]);
    p.at(evening + hour, [high, critical]);
    expect(toCfo(p)).toEqual(['escalated root:escalate.0 {deficiency="d-aaaa0002"} → cfo_office/mail/carol@example.com [d-aaaa0002]']);
    expect(p.last!.nextAt).toBe(Date.parse("2026-03-03T08:00:00Z"));
    const morning = summary(p.at(Date.parse("2026-03-03T08:00:00Z"), [high, critical])).filter((s) => s.includes("cfo_office"));
    expect(morning).toContain('escalated root:escalate.0 {deficiency="d-aaaa0001"} → cfo_office/mail/carol@example.com [d-aaaa0001]');
  });
});
