// Deficiencies and messages for the store's notify tests, shaped as the run and routing make them.
import type { Deficiency, GroupState, Message } from "../../src/notifiers/contract.ts";
import type { Finding } from "../../src/store/store.ts";

export function finding(control = "ITGC-AC-01", extra: Partial<Finding["promise"]> = {}): Finding {
  return {
    host: "ledger-01",
    control: { id: control, title: "Ledger files are private", owner: "security", severity: "critical", key: true },
    promise: { stakeholders: ["security"], dependsOn: [], file: "ledger.promise", line: 3, ...extra },
    promised: ["mode = 0640"],
  };
}

export function message(id: string, members: Deficiency[], over: Partial<Message> = {}): Message {
  return {
    id,
    kind: "opened",
    route: "root",
    groupKey: "control=ITGC-AC-01",
    groupLabels: { control: "ITGC-AC-01" },
    previous: [],
    host: "ledger-01",
    deficiencies: members,
    stakeholder: { name: "security", people: [{ name: "Alice Admin", email: "alice@example.com" }], channels: ["mail"] },
    person: { name: "Alice Admin", email: "alice@example.com" },
    createdAt: "2026-11-23T12:00:00.000Z",
    ...over,
  };
}

export function group(messages: string[], told: Record<string, string>, over: Partial<GroupState> = {}): GroupState {
  return { route: "root", groupKey: "control=ITGC-AC-01", recipient: "security/mail/alice@example.com", escalation: false, firstSeenAt: 1_000, lastSentAt: 2_000, told, messages, ...over };
}

/** A time in run `run`'s minute, as populated() writes them. */
export function at(run: number, second = 0): string {
  return `2026-11-23T10:${String(run).padStart(2, "0")}:${String(second).padStart(2, "0")}.000Z`;
}
