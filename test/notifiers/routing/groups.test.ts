// group_by: which deficiencies share a message, and what the message says about the group.
import { describe, expect, it } from "vitest";
import { groupOf } from "../../../src/notifiers/routing/groups.ts";
import { plan } from "../../../src/notifiers/routing/index.ts";
import { deficiency, notice, notifyConfig } from "../../helpers/notify-config.ts";

const a = deficiency("d-aaaa0001", { control: { id: "ITGC-AC-01" }, severity: "high" });
const b = deficiency("d-aaaa0002", { control: { id: "ITGC-AC-01" }, severity: "critical", outcome: "error" });
const c = deficiency("d-aaaa0003", { control: { id: "ITGC-CM-02", owner: "ops", key: false }, severity: "high", promise: { type: "package", stakeholders: ["sre", "audit"] } });

function messagesWith(groupBy: string[]): { key: string; members: string[]; labels: Record<string, string> }[] {
  const config = notifyConfig({ stakeholders: { siem: { channels: ["hook"] } }, channels: { hook: "webhook" }, route: { receivers: ["siem"], groupBy, groupWaitMs: 0 } });
  return plan({ now: Date.parse("2026-03-02T12:00:00Z"), config, deficiencies: [c, b, a], groups: [], facts: new Map() }).messages.map((m) => ({
    key: m.message.groupKey,
    members: m.message.deficiencies.map((d) => d.id),
    labels: m.message.groupLabels,
  }));
}

describe("group_by", () => {
  it("groups by control by default, one message per group", () => {
    expect(messagesWith(["control"])).toEqual([
      { key: '{control="ITGC-AC-01"}', members: ["d-aaaa0001", "d-aaaa0002"], labels: { control: "ITGC-AC-01" } },
      { key: '{control="ITGC-CM-02"}', members: ["d-aaaa0003"], labels: { control: "ITGC-CM-02" } },
    ]);
  });

  it("puts everything in one group with []", () => {
    expect(messagesWith([])).toEqual([{ key: "{}", members: ["d-aaaa0001", "d-aaaa0002", "d-aaaa0003"], labels: {} }]);
  });

  it('puts every deficiency alone with ["..."]', () => {
    expect(messagesWith(["..."]).map((m) => [m.key, m.members])).toEqual([
      ['{deficiency="d-aaaa0001"}', ["d-aaaa0001"]],
      ['{deficiency="d-aaaa0002"}', ["d-aaaa0002"]],
      ['{deficiency="d-aaaa0003"}', ["d-aaaa0003"]],
    ]);
  });

  it("keys a group by its labels sorted by name, whatever order group_by gives them in", () => {
    expect(groupOf(a, ["severity", "control"])).toEqual(groupOf(a, ["control", "severity"]));
    expect(messagesWith(["severity", "control"]).map((m) => m.key)).toEqual(['{control="ITGC-AC-01",severity="critical"}', '{control="ITGC-AC-01",severity="high"}', '{control="ITGC-CM-02",severity="high"}']);
  });

  it("gives every label its value", () => {
    const labels = groupOf(c, ["control", "severity", "owner", "type", "host", "key_control", "outcome", "stakeholder"]).labels;
    expect(labels).toEqual({ control: "ITGC-CM-02", severity: "high", owner: "ops", type: "package", host: "ledger-01", key_control: "false", outcome: "drift", stakeholder: "audit,sre" });
    const { owner: _, ...ownerless } = a.control;
    expect(groupOf({ ...a, control: ownerless }, ["owner"]).labels).toEqual({ owner: "" });
  });

  it("quotes values so that no value can pass for two labels", () => {
    const tricky = deficiency("d-aaaa0009", { control: { id: 'X",severity="high' } });
    expect(groupOf(tricky, ["control"]).key).not.toBe(groupOf(deficiency("d-aaaa0008", { control: { id: "X" }, severity: "high" }), ["control", "severity"]).key);
  });
});

describe("the message", () => {
  it("is built whole: id, kind, route, group, thread, host, members open first, stakeholder, person, date", () => {
    const config = notifyConfig({
      stakeholders: { security: { people: [{ name: "Alice Admin", email: "alice@example.com" }], channels: ["mail"] } },
      channels: { mail: "email" },
      route: { receivers: ["security"], groupWaitMs: 0 },
    });
    const n = notice("d-aaaa0000");
    const now = Date.parse("2026-03-02T12:00:00Z");
    const [m] = plan({ now, config, deficiencies: [n, b, a], groups: [], facts: new Map() }).messages;
    expect(m).toEqual({
      channel: "mail",
      recipient: "security/mail/alice@example.com",
      dueAt: now,
      message: {
        id: expect.stringMatching(/^m-[0-9a-z]{16}$/),
        kind: "opened",
        route: "root",
        groupKey: '{control="ITGC-AC-01"}',
        groupLabels: { control: "ITGC-AC-01" },
        previous: [],
        recipient: "security/mail/alice@example.com",
        host: "ledger-01",
        deficiencies: [a, b, n],
        stakeholder: config.stakeholders.get("security"),
        person: { name: "Alice Admin", email: "alice@example.com" },
        createdAt: "2026-03-02T12:00:00.000Z",
      },
    });
  });
});
