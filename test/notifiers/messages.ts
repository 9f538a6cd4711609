// Deficiencies and messages as routing hands them to a channel, for the channel tests: a plain
// drift on a ledger host, and one whose outside text (reason, path, host, acknowledgement) holds
// everything a hostile or careless source could put there.
import type { Deficiency, Message } from "../../src/notifiers/contract.js";
import type { Stakeholder } from "../../src/config/types.js";

export const security: Stakeholder = {
  name: "security",
  channels: ["mail", "sms"],
  people: [{ name: "Alice Admin", email: "alice@example.com", phone: "+15551230001" }],
};

export function deficiency(overrides: Partial<Deficiency> = {}): Deficiency {
  return {
    id: "d-7k3q9m2x",
    key: "ITGC-AC-01\0file\0/etc/ledger/ledger.conf",
    notice: false,
    status: "open",
    outcome: "drift",
    host: "ledger-01",
    control: { id: "ITGC-AC-01", title: "Ledger configuration is protected", owner: "security", severity: "critical", key: true },
    promise: { type: "file", promiser: "/etc/ledger/ledger.conf", stakeholders: ["security"], dependsOn: [], file: "policies/ledger.cov", line: 12 },
    promised: ["mode = 0640", "owner = root"],
    reason: "mode is 0644, promised 0640",
    differences: ["mode: 0644 (promised 0640)"],
    changes: ["held: repair is not allowed for this promise"],
    openedAt: "2026-12-05T09:00:00.000Z",
    openedRun: 41,
    openedRecord: 310,
    lastRecord: 312,
    updatedAt: "2026-12-05T09:00:00.000Z",
    ...overrides,
  };
}

export function message(overrides: Partial<Message> = {}): Message {
  return {
    id: "m-0123456789abcdef",
    kind: "opened",
    route: "root",
    groupKey: "control=ITGC-AC-01",
    groupLabels: { control: "ITGC-AC-01" },
    previous: [],
    host: "ledger-01",
    deficiencies: [deficiency()],
    stakeholder: security,
    person: security.people[0],
    createdAt: "2026-12-05T09:00:30.000Z",
    ...overrides,
  };
}

/** Outside text as bad as it gets: line breaks, markup, a terminal escape, a bidi override, non-Latin script. */
export const HOSTILE_REASON = 'owner is "mallory"\nRESOLVED: all fine <script>alert(1)</script> \u001b[31mred\u001b[0m \u202eevil 帳簿 Журнал';

export function hostileMessage(): Message {
  const d = deficiency({
    id: "d-hst1le00",
    reason: HOSTILE_REASON,
    promise: { type: "file", promiser: "/srv/<b>x</b>\n/etc/passwd", stakeholders: ["security"], dependsOn: [], file: "policies/ledger.cov", line: 3 },
    differences: ["content: line 1 is \u001b]0;pwned\u0007 <img src=x onerror=alert(1)>"],
    ack: { at: "2026-12-05T10:00:00.000Z", reason: "known </td></table><h1>forged</h1>", by: "Зоя", user: "zoya", loginUid: 1001, record: 320 },
  });
  return message({ id: "m-hostile000000000", deficiencies: [d] });
}
