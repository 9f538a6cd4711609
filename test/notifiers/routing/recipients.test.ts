// From receivers to addresses: people per email and SMS channel, one recipient per machine channel.
import { describe, expect, it } from "vitest";
import { plan } from "../../../src/notifiers/routing/index.ts";
import { receiverNames, recipientsOf } from "../../../src/notifiers/routing/recipients.ts";
import { deficiency, notifyConfig } from "../../helpers/notify-config.ts";

const people = [
  { name: "Alice Admin", email: "alice@example.com", phone: "+15551230001" },
  { name: "Bob Builder", email: "bob@example.com" },
  { name: "Carol Night", phone: "+15551230003" },
];

const config = notifyConfig({
  stakeholders: {
    security: { people, channels: ["mail", "sms", "hook", "digest", "am"] },
    audit: { people: [{ name: "Dan", email: "dan@example.com" }], channels: ["mail"] },
    phoneless: { people: [{ name: "Eve", email: "eve@example.com" }], channels: ["sms"] },
  },
  channels: { mail: "email", sms: "twilio", hook: "webhook", digest: "report", am: "alertmanager" },
  route: { groupWaitMs: 0 },
});

describe("recipients", () => {
  it("gives an email channel one recipient per person with an address, Twilio one per phone, other channels one each", () => {
    expect(recipientsOf(config.stakeholders.get("security")!, config.channels).map((r) => r.id)).toEqual([
      "security/mail/alice@example.com",
      "security/mail/bob@example.com",
      "security/sms/+15551230001",
      "security/sms/+15551230003",
      "security/hook",
      "security/digest",
      "security/am",
    ]);
  });

  it("addresses each person's message to that person, and machine channels to nobody in particular", () => {
    const p = plan({ now: 0, config, deficiencies: [deficiency("d-aaaa0001", { promise: { stakeholders: [] } })], groups: [], facts: new Map() });
    const byRecipient = new Map(p.messages.map((m) => [m.recipient, m.message]));
    expect(byRecipient.get("security/sms/+15551230003")!.person!.name).toBe("Carol Night");
    expect(byRecipient.get("security/mail/bob@example.com")!.person!.name).toBe("Bob Builder");
    expect(byRecipient.get("security/hook")!.person).toBeUndefined();
    expect(byRecipient.get("security/hook")!.stakeholder.name).toBe("security");
  });

  it("spells out owners as the promise's stakeholders and the control's owner, each once", () => {
    const d = deficiency("d-aaaa0001", { control: { owner: "security" }, promise: { stakeholders: ["audit", "security", "audit"] } });
    expect(receiverNames(["owners"], d)).toEqual(["audit", "security"]);
    expect(receiverNames(["security", "owners"], d)).toEqual(["security", "audit"]);
    const { owner: _, ...ownerless } = d.control;
    expect(receiverNames(["owners"], { ...d, control: ownerless, promise: { ...d.promise, stakeholders: [] } })).toEqual([]);
  });

  it("skips stakeholders that are not configured or cannot be reached, and says so", () => {
    const d = deficiency("d-aaaa0001", { control: { owner: "security" }, promise: { stakeholders: ["audit", "legal", "phoneless"] } });
    const p = plan({ now: 0, config, deficiencies: [d], groups: [], facts: new Map() });
    expect(p.unreachable).toEqual([
      { id: "d-aaaa0001", stakeholder: "legal", reason: "unknown stakeholder" },
      { id: "d-aaaa0001", stakeholder: "phoneless", reason: "no address" },
    ]);
    expect(p.audience["d-aaaa0001"]).toEqual([
      "audit/mail/dan@example.com",
      "security/am",
      "security/digest",
      "security/hook",
      "security/mail/alice@example.com",
      "security/mail/bob@example.com",
      "security/sms/+15551230001",
      "security/sms/+15551230003",
    ]);
    expect(p.messages).toHaveLength(8);
  });
});
