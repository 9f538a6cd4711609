// A sanity check at the benchmark's size: 1,000 deficiencies over 50 controls and 10
// stakeholders are planned (no time is asserted: bench/notify measures it), and grouping holds:
// at most one message per recipient per group, every open deficiency reaching its receivers.
import { describe, expect, it } from "vitest";
import type { Severity } from "../../../src/checker/policy.ts";
import type { Deficiency } from "../../../src/notifiers/contract.ts";
import { plan, receiversOf } from "../../../src/notifiers/routing/index.ts";
import { recipientsOf } from "../../../src/notifiers/routing/recipients.ts";
import { deficiency, notifyConfig, second, type StakeholderSpec } from "../../helpers/notify-config.ts";

const stakeholderNames = Array.from({ length: 10 }, (_, i) => `team${i}`);
const severities: Severity[] = ["low", "medium", "high", "critical"];

function stakeholder(i: number): StakeholderSpec {
  const people = [
    { name: `Lead ${i}`, email: `lead${i}@example.com`, phone: `+1555000${String(i).padStart(4, "0")}` },
    { name: `Deputy ${i}`, email: `deputy${i}@example.com` },
  ];
  return { people, channels: i % 3 === 0 ? ["mail", "sms", "hook"] : ["mail"], timezone: "Europe/Paris" };
}

const config = notifyConfig({
  stakeholders: Object.fromEntries(stakeholderNames.map((name, i) => [name, stakeholder(i)])),
  channels: { mail: "email", sms: "twilio", hook: "webhook" },
  route: {
    groupBy: ["control"],
    routes: [
      { match: { severity: ["critical"] }, receivers: ["team0", "owners"], continue: true, escalate: [{ after: 0, to: ["team9"] }] },
      { match: { control: ["CTRL-1?"] }, receivers: ["team1"] },
    ],
  },
});

const deficiencies: Deficiency[] = Array.from({ length: 1000 }, (_, i) =>
  deficiency(`d-${String(i).padStart(8, "0")}`, {
    control: { id: `CTRL-${i % 50}`, owner: stakeholderNames[i % 10] },
    severity: severities[i % 4],
    promise: { promiser: `/etc/app/${i}.conf`, stakeholders: [stakeholderNames[(i * 7) % 10]!, stakeholderNames[(i * 3) % 10]!] },
    openedAt: "2026-03-02T12:00:00.000Z",
  }),
);

describe("plan() at scale", () => {
  it("plans 1,000 deficiencies over 50 controls and 10 stakeholders, one message per recipient per group", () => {
    const now = Date.parse("2026-03-02T12:00:00Z");
    const waiting = plan({ now, config, deficiencies, groups: [], facts: new Map() });
    // only the escalation (after: 0, no group_wait) goes at once; the rest waits group_wait
    expect(waiting.messages.every((m) => m.message.kind === "escalated")).toBe(true);
    expect(waiting.nextAt).toBe(now + 30 * second);

    const result = plan({ now: now + 30 * second, config, deficiencies, groups: waiting.groups, facts: new Map() });
    const perGroup = new Map<string, number>();
    for (const m of result.messages) {
      const key = `${m.message.route} ${m.message.groupKey} ${m.recipient}`;
      perGroup.set(key, (perGroup.get(key) ?? 0) + 1);
      expect(new Set(m.message.deficiencies.map((d) => d.control.id))).toEqual(new Set([m.message.groupLabels["control"]]));
    }
    expect([...perGroup.values()].every((n) => n === 1)).toBe(true);
    // grouping did its work: far fewer messages than deficiencies × recipients
    expect(result.messages.length).toBeLessThan(2000);

    for (const d of deficiencies) {
      const expected = receiversOf(d, config, new Map())
        .filter((r) => !r.escalation)
        .flatMap((r) => recipientsOf(config.stakeholders.get(r.stakeholder)!, config.channels).map((x) => x.id));
      const told = new Set(result.messages.filter((m) => m.message.deficiencies.includes(d)).map((m) => m.recipient));
      for (const id of expected) expect(told.has(id), `${d.id} to ${id}`).toBe(true);
    }
    expect(result.groups.every((g) => Object.keys(g.told).length > 0)).toBe(true);
  });
});
