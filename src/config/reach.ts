// The policy against its configuration (`covenant check`): every stakeholder a policy names
// (after `->`, or as a control's owner) must have a way to be reached; every stakeholder of the
// configuration should be named somewhere, or it is told nothing; and no configuration at all is
// worth saying once, since a policy repository's CI need not hold a host's configuration.
import type { Policy } from "../checker/policy.js";
import type { Attribute, ControlDecl, PromiseDecl } from "../parser/ast.js";
import { severityOf } from "../parser/diagnostics.js";
import type { ConfigDiagnostic } from "./diagnostic.js";
import { OWNERS } from "./semantics.js";
import type { ChannelConfig, NotifyConfig, Route, Stakeholder } from "./types.js";

/** A stakeholder named by the policy, and where. */
export interface StakeholderUse {
  name: string;
  file: string;
  offset: number;
  end: number;
}

/** 1-based line and column of an offset in a policy file. */
export type PositionOf = (file: string, offset: number) => { line: number; column: number };

/** Every place the policy names a stakeholder: control owners and the names after `->`, in policy order. */
export function stakeholderUses(policy: Policy): StakeholderUse[] {
  const uses: StakeholderUse[] = [];
  for (const control of policy.controls) {
    if (control.owner !== undefined) {
      // the control's span is its declaration: the owner's value is where the name is written
      const decl = control.span as Partial<ControlDecl>;
      const attr = decl.items?.find((i): i is Attribute => i.kind === "attribute" && i.name === "owner");
      const at = attr?.value ?? control.span;
      uses.push({ name: control.owner, file: at.file, offset: at.start, end: at.end });
    }
    for (const promise of control.promises) {
      const names = (promise.span as Partial<PromiseDecl>).stakeholders?.names ?? [];
      for (const s of promise.stakeholders) {
        const at = names.find((n) => n.name === s) ?? promise.span;
        uses.push({ name: s, file: at.file, offset: at.start, end: at.end });
      }
    }
  }
  return uses;
}

/** Why `stakeholder` cannot use `channel`, or undefined when it can. */
function unusable(s: Stakeholder, channel: ChannelConfig | undefined, name: string): string | undefined {
  if (!channel) return `channel \`${name}\` is not defined`;
  if (channel.type === "email" && !s.people.some((p) => p.email !== undefined)) return `\`${name}\` is email and no person of \`${s.name}\` has an email address`;
  if (channel.type === "twilio" && !s.people.some((p) => p.phone !== undefined)) return `\`${name}\` is SMS and no person of \`${s.name}\` has a phone number`;
  return undefined;
}

/** The stakeholders routes name explicitly (receivers and escalation targets), `owners` aside. */
function routed(route: Route, into = new Set<string>()): Set<string> {
  for (const r of route.receivers) if (r !== OWNERS) into.add(r);
  for (const e of route.escalate) for (const t of e.to) into.add(t);
  for (const child of route.routes) routed(child, into);
  return into;
}

export function checkStakeholders(uses: readonly StakeholderUse[], config: NotifyConfig, positionOf: PositionOf): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = [];
  const firstUse = new Map<string, { use: StakeholderUse; count: number }>();
  for (const u of uses) {
    const seen = firstUse.get(u.name);
    if (seen) seen.count++;
    else firstUse.set(u.name, { use: u, count: 1 });
  }
  for (const [name, { use, count }] of firstUse) {
    const why = unreachable(name, config);
    if (why === undefined) continue;
    const { line, column } = positionOf(use.file, use.offset);
    const times = count > 1 ? ` (named ${count} times; the first is here)` : "";
    out.push({ code: "E340", severity: severityOf("E340"), message: `stakeholder \`${name}\` cannot be reached: ${why.message}${times}`, file: use.file, line, column, offset: use.offset, end: use.end, text: name, suggestion: why.fix });
  }
  const named = new Set(uses.map((u) => u.name));
  const inRoutes = routed(config.route);
  for (const s of config.stakeholders.values()) {
    if (named.has(s.name) || inRoutes.has(s.name)) continue;
    const at = s.at ?? { line: 1, column: 1, offset: 0, end: 0 };
    out.push({ code: "W300", severity: severityOf("W300"), message: `stakeholder \`${s.name}\` is named by no promise, control or route: it is never told anything`, file: config.path, ...at, text: s.name, suggestion: "name it after `->` or as a control's `owner`, add it to a route's receivers, or remove it" });
  }
  return out;
}

function unreachable(name: string, config: NotifyConfig): { message: string; fix: string } | undefined {
  const s = config.stakeholders.get(name);
  if (!s) return { message: `it is not under \`stakeholders:\` in ${config.path}`, fix: `add \`${name}:\` under \`stakeholders:\` with the channels and people to tell` };
  const reasons = s.channels.map((c) => unusable(s, config.channels.get(c), c));
  if (reasons.some((r) => r === undefined)) return undefined;
  return { message: reasons.join("; "), fix: "give its people the email addresses or phone numbers its channels need, or add a channel it can use (report, webhook, alertmanager)" };
}

/** W301: no configuration was given or found; `searched` is where it was looked for. */
export function notConfigured(searched: string): ConfigDiagnostic {
  return {
    code: "W301",
    severity: severityOf("W301"),
    message: `notifications are not configured: no --config given and ${searched} does not exist, so no deficiency is told to anyone`,
    file: searched,
    line: 1,
    column: 1,
    offset: 0,
    end: 0,
    text: "",
    suggestion: "write a covenant.yaml (docs/configuration.md) and give it with --config, or ignore this warning where the host's configuration is kept elsewhere",
  };
}
