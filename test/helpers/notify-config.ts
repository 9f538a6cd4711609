// NotifyConfig objects built in code for routing tests, independent of the covenant.yaml loader:
// a route written as a partial takes what it leaves out from its parent (timing, receivers when
// it names none), as the loader does, and gets its position in the tree as its id.
import type { Severity } from "../../src/checker/policy.ts";
import type { ChannelConfig, Escalation, NotifyConfig, Person, QuietHours, Route, RouteMatch, Stakeholder, Timing } from "../../src/config/types.ts";
import type { Deficiency } from "../../src/notifiers/contract.ts";

export const second = 1000;
export const minute = 60 * second;
export const hour = 60 * minute;
export const day = 24 * hour;

export interface RouteSpec extends Partial<Timing> {
  match?: RouteMatch;
  receivers?: string[];
  continue?: boolean;
  escalate?: { after: number; to: string[]; unacknowledged?: boolean }[];
  routes?: RouteSpec[];
}

export interface StakeholderSpec {
  people?: Person[];
  channels?: string[];
  timezone?: string;
  quietHours?: QuietHours;
}

export interface ConfigSpec {
  stakeholders?: Record<string, StakeholderSpec>;
  /** channel name → type, or a whole channel configuration */
  channels?: Record<string, ChannelConfig["type"] | ChannelConfig>;
  route?: RouteSpec;
  tags?: string[];
  inhibit?: boolean;
}

export const defaultTiming: Timing = { groupBy: ["control"], groupWaitMs: 30 * second, groupIntervalMs: 5 * minute, repeatIntervalMs: 4 * hour, sendResolved: true };

export function channel(name: string, type: ChannelConfig["type"]): ChannelConfig {
  switch (type) {
    case "email":
      return { type, name, host: "127.0.0.1", port: 25, tls: "none", from: "covenant@example.com", timeoutMs: 10 * second };
    case "twilio":
      return { type, name, accountSid: "AC00000000000000000000000000000000", authToken: { env: "TWILIO_AUTH_TOKEN" }, from: "+15550000000", timeoutMs: 10 * second };
    case "report":
      return { type, name, directory: "/var/lib/covenant/reports", period: "day", formats: ["markdown", "json"] };
    case "webhook":
      return { type, name, url: "http://127.0.0.1:9/hook", timeoutMs: 5 * second, headers: {} };
    case "alertmanager":
      return { type, name, url: "http://127.0.0.1:9093", timeoutMs: 5 * second };
  }
}

function buildRoute(spec: RouteSpec, id: string, parent: Timing & { receivers: string[] }): Route {
  const timing: Timing = {
    groupBy: spec.groupBy ?? parent.groupBy,
    groupWaitMs: spec.groupWaitMs ?? parent.groupWaitMs,
    groupIntervalMs: spec.groupIntervalMs ?? parent.groupIntervalMs,
    repeatIntervalMs: spec.repeatIntervalMs ?? parent.repeatIntervalMs,
    sendResolved: spec.sendResolved ?? parent.sendResolved,
  };
  const receivers = spec.receivers ?? parent.receivers;
  const escalate: Escalation[] = (spec.escalate ?? []).map((e) => ({ afterMs: e.after, to: e.to, unacknowledged: e.unacknowledged ?? true }));
  const routes = (spec.routes ?? []).map((child, i) => buildRoute(child, `${id}.${i}`, { ...timing, receivers }));
  return { ...timing, id, match: spec.match ?? {}, receivers, continue: spec.continue ?? false, escalate, routes, line: 1 };
}

export function notifyConfig(spec: ConfigSpec = {}): NotifyConfig {
  const stakeholders = new Map<string, Stakeholder>();
  for (const [name, s] of Object.entries(spec.stakeholders ?? {})) {
    stakeholders.set(name, { name, people: s.people ?? [], channels: s.channels ?? [], ...(s.timezone ? { timezone: s.timezone } : {}), ...(s.quietHours ? { quietHours: s.quietHours } : {}) });
  }
  const channels = new Map<string, ChannelConfig>();
  for (const [name, c] of Object.entries(spec.channels ?? {})) channels.set(name, typeof c === "string" ? channel(name, c) : c);
  return {
    path: "/etc/covenant/covenant.yaml",
    host: { tags: spec.tags ?? [] },
    stakeholders,
    channels,
    route: buildRoute(spec.route ?? {}, "root", { ...defaultTiming, receivers: ["owners"] }),
    inhibitDependents: spec.inhibit ?? true,
    delivery: { budgetMs: 10 * second, maxAttempts: 10, backoffMs: 30 * second, maxBackoffMs: hour, failingAfter: 3 },
  };
}

export interface DeficiencySpec extends Partial<Omit<Deficiency, "control" | "promise">> {
  control?: Partial<Deficiency["control"]>;
  promise?: Partial<Deficiency["promise"]>;
  severity?: Severity;
}

/** A deficiency with plausible defaults: open drift of file /etc/shadow in ITGC-AC-01, opened at `openedAt`. */
export function deficiency(id: string, spec: DeficiencySpec = {}): Deficiency {
  const { control, promise, severity, ...rest } = spec;
  const controlId = control?.id ?? "ITGC-AC-01";
  const promiser = promise?.promiser ?? `/etc/${id}`;
  const type = promise?.type ?? "file";
  const openedAt = rest.openedAt ?? "2026-03-02T12:00:00.000Z";
  return {
    id,
    key: `${controlId}\0${type}\0${promiser}`,
    notice: false,
    status: "open",
    outcome: "drift",
    host: "ledger-01",
    promised: ["mode = 0640"],
    reason: "mode is 0644",
    differences: ["mode: 0640 → 0644"],
    changes: [],
    openedAt,
    openedRun: 1,
    openedRecord: 1,
    lastRecord: 1,
    updatedAt: openedAt,
    ...rest,
    control: { id: controlId, title: "Access to financial data", owner: "security", severity: severity ?? "high", key: true, ...control },
    promise: { type, promiser, stakeholders: ["audit"], dependsOn: [], file: "/etc/covenant/policy.promise", line: 3, ...promise },
  };
}

/** The same deficiency resolved by `by` at `at`. */
export function resolved(d: Deficiency, at: string, by: Deficiency["outcome"] = "kept"): Deficiency {
  return { ...d, status: "resolved", resolvedBy: by, resolvedAt: at, resolvedRun: d.openedRun + 1, lastRecord: d.lastRecord + 1, updatedAt: at };
}

/** A `repaired` notice: told once, resolved from the start. */
export function notice(id: string, spec: DeficiencySpec = {}): Deficiency {
  const d = deficiency(id, { outcome: "repaired", ...spec });
  return { ...d, notice: true, status: "resolved", resolvedBy: "repaired", resolvedAt: d.openedAt };
}

export function acknowledged(d: Deficiency, at: string, by = "alice"): Deficiency {
  return { ...d, ack: { at, reason: "known, change ticket CHG-1", by, user: "alice", loginUid: 1000, record: d.lastRecord + 1 }, lastRecord: d.lastRecord + 1 };
}
