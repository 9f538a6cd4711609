// group_wait, group_interval, repeat_interval, resolution and notices, with a clock the test moves.
import { describe, expect, it } from "vitest";
import { acknowledged, deficiency, hour, minute, notice, notifyConfig, resolved, second, type RouteSpec } from "../../helpers/notify-config.ts";
import { Planner, summary } from "../../helpers/routing.ts";

const t0 = Date.parse("2026-03-02T12:00:00Z");
const iso = (t: number): string => new Date(t).toISOString();

function planner(route: RouteSpec = {}): Planner {
  const config = notifyConfig({
    stakeholders: { security: { people: [{ name: "Alice Admin", email: "alice@example.com" }], channels: ["mail"] } },
    channels: { mail: "email" },
    route: { receivers: ["security"], groupWaitMs: 30 * second, groupIntervalMs: 5 * minute, repeatIntervalMs: 4 * hour, ...route },
  });
  return new Planner(config);
}

describe("group_wait", () => {
  it("sends a new group's first message group_wait after it was first seen, with every member that joined meanwhile", () => {
    const p = planner();
    const a = deficiency("d-aaaa0001", { openedAt: iso(t0) });
    const b = deficiency("d-aaaa0002", { openedAt: iso(t0 + 10 * second) });
    expect(p.at(t0, [a])).toEqual([]);
    expect(p.last!.nextAt).toBe(t0 + 30 * second);
    expect(p.at(t0 + 10 * second, [a, b])).toEqual([]);
    expect(p.at(t0 + 29 * second, [a, b])).toEqual([]);
    const sent = p.at(t0 + 30 * second, [a, b]);
    expect(summary(sent)).toEqual(['opened root {control="ITGC-AC-01"} → security/mail/alice@example.com [d-aaaa0001,d-aaaa0002]']);
    expect(sent[0]!.dueAt).toBe(t0 + 30 * second);
    expect(sent[0]!.message.createdAt).toBe(iso(t0 + 30 * second));
  });

  it("sends at once when the run comes after group_wait has passed, dated now", () => {
    const p = planner();
    const a = deficiency("d-aaaa0001");
    p.at(t0, [a]);
    const sent = p.at(t0 + 15 * minute, [a]);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.dueAt).toBe(t0 + 15 * minute);
  });
});

describe("group_interval", () => {
  it("tells a change no sooner than group_interval after the last message, and several changes in one message", () => {
    const p = planner();
    const a = deficiency("d-aaaa0001");
    p.at(t0, [a]);
    expect(p.at(t0 + 30 * second, [a])).toHaveLength(1);
    const b = deficiency("d-aaaa0002");
    const c = deficiency("d-aaaa0003");
    expect(p.at(t0 + 1 * minute, [a, b])).toEqual([]);
    expect(p.last!.nextAt).toBe(t0 + 30 * second + 5 * minute);
    const a2 = { ...a, outcome: "error" as const, lastRecord: 5 };
    expect(p.at(t0 + 2 * minute, [a2, b, c])).toEqual([]);
    expect(p.at(t0 + 5 * minute + 29 * second, [a2, b, c])).toEqual([]);
    const sent = p.at(t0 + 5 * minute + 30 * second, [a2, b, c]);
    expect(summary(sent)).toEqual(['opened root {control="ITGC-AC-01"} → security/mail/alice@example.com [d-aaaa0001,d-aaaa0002,d-aaaa0003]']);
    expect(sent[0]!.message.previous).toEqual([p.sent[0]!.message.id]);
  });

  it("calls a change with no new member an update (an acknowledgement, a new outcome)", () => {
    const p = planner();
    const a = deficiency("d-aaaa0001");
    p.at(t0, [a]);
    p.at(t0 + 30 * second, [a]);
    const acked = acknowledged(a, iso(t0 + minute));
    expect(p.at(t0 + minute, [acked])).toEqual([]);
    expect(summary(p.at(t0 + 6 * minute, [acked]))).toEqual(['updated root {control="ITGC-AC-01"} → security/mail/alice@example.com [d-aaaa0001]']);
  });
});

describe("repeat_interval", () => {
  it("reminds of an unchanged group only after repeat_interval; a hundred runs in between send nothing", () => {
    const p = planner();
    const a = deficiency("d-aaaa0001");
    p.at(t0, [a]);
    const first = p.at(t0 + 30 * second, [a]);
    expect(first).toHaveLength(1);
    const step = (4 * hour - 1 * second) / 100;
    for (let i = 1; i <= 100; i++) expect(p.at(t0 + 30 * second + Math.floor(i * step), [a])).toEqual([]);
    expect(p.last!.nextAt).toBe(t0 + 30 * second + 4 * hour);
    const reminder = p.at(t0 + 30 * second + 4 * hour, [a]);
    expect(summary(reminder)).toEqual(['reminder root {control="ITGC-AC-01"} → security/mail/alice@example.com [d-aaaa0001]']);
    expect(p.sent).toHaveLength(2);
  });
});

describe("resolution", () => {
  it("with send_resolved, says so when every member is resolved, then forgets the group", () => {
    const p = planner({ sendResolved: true });
    const a = deficiency("d-aaaa0001");
    const b = deficiency("d-aaaa0002");
    p.at(t0, [a, b]);
    p.at(t0 + 30 * second, [a, b]);
    const aDone = resolved(a, iso(t0 + minute));
    // one resolved, one still open: an update that lists the open one first
    expect(p.at(t0 + minute, [aDone, b])).toEqual([]);
    const update = p.at(t0 + 6 * minute, [aDone, b]);
    expect(summary(update)).toEqual(['updated root {control="ITGC-AC-01"} → security/mail/alice@example.com [d-aaaa0002,d-aaaa0001]']);
    // the resolved member told, the group no longer holds it (the store may let it go)
    expect(Object.keys(p.groups[0]!.told)).toEqual(["d-aaaa0002"]);
    const bDone = resolved(b, iso(t0 + 7 * minute));
    const last = p.at(t0 + 11 * minute + 30 * second, [bDone]);
    expect(summary(last)).toEqual(['resolved root {control="ITGC-AC-01"} → security/mail/alice@example.com [d-aaaa0002]']);
    expect(p.groups[0]!.told).toEqual({});
    // forgotten once group_interval has passed, so a deficiency that reopens at once still waits
    expect(p.at(t0 + 12 * minute, [])).toEqual([]);
    expect(p.groups).toHaveLength(1);
    expect(p.at(t0 + 16 * minute + 30 * second, [])).toEqual([]);
    expect(p.groups).toEqual([]);
    expect(p.last!.dropped).toHaveLength(1);
  });

  it("without send_resolved, tells nothing and forgets the group", () => {
    const p = planner({ sendResolved: false });
    const a = deficiency("d-aaaa0001");
    p.at(t0, [a]);
    p.at(t0 + 30 * second, [a]);
    const done = resolved(a, iso(t0 + minute));
    for (let t = t0 + minute; t < t0 + 5 * hour; t += 15 * minute) expect(p.at(t, [done])).toEqual([]);
    expect(p.groups).toEqual([]);
    expect(p.sent).toHaveLength(1);
  });

  it("tells nothing of a deficiency resolved before its group's first message", () => {
    const p = planner({ sendResolved: true });
    const a = deficiency("d-aaaa0001");
    p.at(t0, [a]);
    expect(p.at(t0 + 40 * second, [resolved(a, iso(t0 + 20 * second))])).toEqual([]);
    expect(p.groups).toEqual([]);
    expect(p.last!.dropped).toHaveLength(1);
  });
});

describe("notices", () => {
  it("tells a repaired notice once and never reminds", () => {
    const p = planner();
    const n = notice("d-nnnn0001");
    expect(p.at(t0, [n])).toEqual([]);
    const sent = p.at(t0 + 30 * second, [n]);
    expect(summary(sent)).toEqual(['opened root {control="ITGC-AC-01"} → security/mail/alice@example.com [d-nnnn0001]']);
    expect(sent[0]!.message.deficiencies[0]!.notice).toBe(true);
    for (let t = t0 + minute; t < t0 + 2 * 24 * hour; t += 15 * minute) expect(p.at(t, [n])).toEqual([]);
    expect(p.sent).toHaveLength(1);
  });

  it("tells a notice once in a group whose open member is later reminded", () => {
    const p = planner();
    const a = deficiency("d-aaaa0001");
    const n = notice("d-nnnn0001");
    p.at(t0, [a, n]);
    expect(summary(p.at(t0 + 30 * second, [a, n]))).toEqual(['opened root {control="ITGC-AC-01"} → security/mail/alice@example.com [d-aaaa0001,d-nnnn0001]']);
    const reminder = p.at(t0 + 30 * second + 4 * hour, [a, n]);
    expect(summary(reminder)).toEqual(['reminder root {control="ITGC-AC-01"} → security/mail/alice@example.com [d-aaaa0001]']);
  });

  it("keeps a notice for a recipient whose message waits, though another was told at once", () => {
    const config = notifyConfig({
      stakeholders: {
        security: { people: [{ name: "Alice", email: "alice@example.com" }], channels: ["mail"], timezone: "UTC", quietHours: { from: "00:00", to: "13:00" } },
        siem: { channels: ["hook"] },
      },
      channels: { mail: "email", hook: "webhook" },
      route: { receivers: ["security", "siem"], groupWaitMs: 0 },
    });
    const p = new Planner(config);
    const n = notice("d-nnnn0001");
    expect(summary(p.at(t0, [n]))).toEqual(['opened root {control="ITGC-AC-01"} → siem/hook [d-nnnn0001]']);
    // the store keeps the notice in the working set while some group still holds it
    expect(p.groups.flatMap((g) => Object.keys(g.told))).toEqual(["d-nnnn0001"]);
    expect(p.at(t0 + 30 * minute, [n])).toEqual([]);
    expect(summary(p.at(t0 + hour, [n]))).toEqual(['opened root {control="ITGC-AC-01"} → security/mail/alice@example.com [d-nnnn0001]']);
    expect(p.at(t0 + 2 * hour, [n])).toEqual([]);
  });
});

describe("groups whose deficiencies leave", () => {
  it("tells a deficiency that moves to another group (group_by outcome) to the new group, and the old one lets it go", () => {
    const p = planner({ groupBy: ["outcome"], groupWaitMs: 0 });
    const a = deficiency("d-aaaa0001");
    expect(summary(p.at(t0, [a]))).toEqual(['opened root {outcome="drift"} → security/mail/alice@example.com [d-aaaa0001]']);
    const worse = { ...a, outcome: "error" as const, lastRecord: 2, updatedAt: iso(t0 + minute) };
    expect(summary(p.at(t0 + minute, [worse]))).toEqual(['opened root {outcome="error"} → security/mail/alice@example.com [d-aaaa0001]']);
    expect(p.groups.find((g) => g.groupKey === '{outcome="drift"}')!.told).toEqual({});
    p.at(t0 + 10 * minute, [worse]);
    expect(p.groups.map((g) => g.groupKey)).toEqual(['{outcome="error"}']);
  });

  it("forgets the states of a route the configuration no longer has", () => {
    const before = planner({ routes: [{ match: { control: ["ITGC-*"] }, receivers: ["security"] }] });
    const a = deficiency("d-aaaa0001");
    before.at(t0, [a]);
    before.at(t0 + 30 * second, [a]);
    expect(before.groups.map((g) => g.route)).toEqual(["root.0"]);
    // the same store, a configuration without the child route
    const after = planner();
    after.groups = before.groups;
    // the root route now holds it: a new group there, told as such
    expect(summary(after.at(t0 + hour, [a]))).toEqual(['opened root {control="ITGC-AC-01"} → security/mail/alice@example.com [d-aaaa0001]']);
    expect(after.last!.dropped.map((g) => g.route)).toEqual(["root.0"]);
    expect(after.groups.map((g) => g.route)).toEqual(["root"]);
  });
});
