// checkStakeholders on its own: which channel a stakeholder can use, and who counts as named.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { checkStakeholders, type StakeholderUse } from "../../src/config/reach.ts";

const config = (text: string) => {
  const r = parseConfig(`version: 1\n${text}`, "/etc/covenant/covenant.yaml", { root: false });
  expect(r.diagnostics).toEqual([]);
  return r.config!;
};
const use = (name: string, offset = 10): StakeholderUse => ({ name, file: "/p/a.promise", offset, end: offset + name.length });
const positionOf = (_file: string, offset: number) => ({ line: 1 + Math.floor(offset / 100), column: 1 + (offset % 100) });

const channels = `channels:
  mail: { type: email, host: localhost, tls: none, from: c@example.com }
  sms: { type: twilio, account_sid: AC1, auth_token_env: T, from: "+15550000000" }
  hook: { type: webhook, url: "https://h.example.com/" }
`;

describe("checkStakeholders", () => {
  it("SMS needs a person with a phone, email a person with an address; a webhook needs nobody", () => {
    const c = config(`stakeholders:
  texted: { channels: [sms], people: [{ name: A, email: a@example.com }] }
  mailed: { channels: [mail], people: [{ name: B, phone: "+15551230001" }] }
  either: { channels: [mail, sms], people: [{ name: C, phone: "+15551230001" }] }
  system: { channels: [hook] }
${channels}`);
    const d = checkStakeholders([use("texted", 110), use("mailed", 220), use("either"), use("system"), use("texted", 330)], c, positionOf);
    expect(d.map((x) => [x.code, x.text, x.line, x.column])).toEqual([
      ["E340", "texted", 2, 11],
      ["E340", "mailed", 3, 21],
    ]);
    expect(d[0]!.message).toBe("stakeholder `texted` cannot be reached: `sms` is SMS and no person of `texted` has a phone number (named 2 times; the first is here)");
    expect(d[1]!.message).toBe("stakeholder `mailed` cannot be reached: `mail` is email and no person of `mailed` has an email address");
  });

  it("a stakeholder named by a route's receivers or an escalation is used; one named nowhere is W300 at its key", () => {
    const c = config(`stakeholders:
  owner: { channels: [hook] }
  routed: { channels: [hook] }
  escalated: { channels: [hook] }
  idle: { channels: [hook] }
${channels}route:
  routes:
    - receivers: [routed]
      escalate: [{ after: 1h, to: [escalated] }]
`);
    const d = checkStakeholders([use("owner")], c, positionOf);
    expect(d).toMatchObject([{ code: "W300", severity: "warning", text: "idle", file: "/etc/covenant/covenant.yaml", line: 6, column: 3 }]);
  });

  it("a stakeholder missing from the configuration is E340 saying where to add it", () => {
    const d = checkStakeholders([use("ghost")], config(channels), positionOf);
    expect(d).toMatchObject([{ code: "E340", message: "stakeholder `ghost` cannot be reached: it is not under `stakeholders:` in /etc/covenant/covenant.yaml", suggestion: "add `ghost:` under `stakeholders:` with the channels and people to tell" }]);
  });
});
