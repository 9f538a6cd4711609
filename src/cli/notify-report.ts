// What the run report and `notify flush` say about notifications: per deficiency, who was told,
// by which channel and with what result, who will be told later (a group still waiting, quiet
// hours), and what routing held back (inhibited by a deficiency it depends on).
import type { DispatchReport } from "../notifiers/dispatch.js";
import { escapeText } from "./escape.js";
import type { Style } from "../text/style.js";

export interface Told {
  recipient: string;
  channel: string;
  /** "already told": the recipient's group told it before this run (or queued it then) and has nothing new to say */
  status: "sent" | "retrying" | "given-up" | "later" | "already told" | "would be told";
  detail?: string;
}

/** An audience entry, "stakeholder/channel[/address]", as the recipient and channel a delivery names. */
function recipientOf(who: string): { recipient: string; channel: string } {
  const [stakeholder = who, channel = "", address] = who.split("/");
  return { recipient: address ? `${stakeholder} <${address}>` : stakeholder, channel };
}

/** One recipient by one channel, as a key. */
const keyOf = (t: { recipient: string; channel: string }) => `${t.recipient}\0${t.channel}`;

/**
 * Per deficiency id: every recipient, sent or due later, in the order routing gave its audience
 * (deliveries end in whatever order their servers answer: the report must not depend on it).
 */
export function toldPerDeficiency(report: DispatchReport): Map<string, Told[]> {
  const out = new Map<string, Told[]>();
  const add = (id: string, t: Told) => out.set(id, [...(out.get(id) ?? []), t]);
  const reached = new Set<string>();
  for (const d of report.deliveries) {
    for (const id of d.deficiencies) {
      add(id, { recipient: d.recipient, channel: d.channel, status: d.status, ...(d.status === "sent" ? {} : { detail: d.detail }) });
      reached.add(`${id}\0${d.recipient}\0${d.channel}`);
    }
  }
  for (const [id, audience] of Object.entries(report.audience)) {
    const before = new Set(report.toldBefore?.[id] ?? []);
    for (const who of audience) {
      const { recipient, channel } = recipientOf(who);
      if (!reached.has(`${id}\0${recipient}\0${channel}`) && !(out.get(id) ?? []).some((t) => t.recipient === recipient && t.channel === channel)) add(id, { recipient, channel, status: before.has(who) ? "already told" : "later" });
    }
  }
  for (const [id, list] of out) {
    const rank = new Map((report.audience[id] ?? []).map((who, i) => [keyOf(recipientOf(who)), i] as const));
    // stable: a recipient routing did not name keeps its place after those it did
    list.sort((a, b) => (rank.get(keyOf(a)) ?? Infinity) - (rank.get(keyOf(b)) ?? Infinity) || 0);
  }
  return out;
}

export function renderDispatch(report: DispatchReport, style: Style): string {
  const lines: string[] = [];
  const told = toldPerDeficiency(report);
  for (const [id, list] of told) {
    const d = report.deficiencies[id];
    const what = d ? `${d.notice ? "notice" : d.status === "resolved" ? "resolved" : d.outcome} ${escapeText(d.control)} ${escapeText(d.key.split("/").slice(1).join("/"))}` : "";
    lines.push(`  ${style.bold(id)} ${what}`);
    for (const t of list) {
      const paint = t.status === "sent" ? style.green : t.status === "given-up" ? style.red : style.yellow;
      lines.push(`    ${paint(t.status)} ${escapeText(t.recipient)} by ${escapeText(t.channel)}${t.detail ? `: ${escapeText(t.detail)}` : ""}`);
    }
  }
  for (const i of report.inhibited) lines.push(`  ${style.dim(`${i.id} not told: inhibited by ${i.by}, which it depends on`)}`);
  for (const u of report.unusable) lines.push(`  ${style.red(`channel ${escapeText(u.channel)} unusable: ${escapeText(u.error)}`)}`);
  for (const f of report.failingChannels) lines.push(`  ${style.red(`channel ${escapeText(f.channel)} keeps failing (a deficiency of its own, told through the stakeholders' other channels): ${escapeText(f.error)}`)}`);
  if (report.leftOver > 0) lines.push(`  ${style.yellow(`${report.leftOver} message${report.leftOver === 1 ? "" : "s"} left for the next run or \`covenant notify flush\` (delivery budget spent)`)}`);
  if (lines.length === 0) return "";
  const sent = report.deliveries.filter((d) => d.status === "sent").length;
  return [`notifications: ${sent} message${sent === 1 ? "" : "s"} sent${report.deliveries.length > sent ? `, ${report.deliveries.length - sent} not delivered` : ""}`, ...lines].join("\n");
}

/** The run report's notifications section: per deficiency (or repair), who is, was or would be told. */
export function renderNotifications(view: import("./run-notify.js").NotificationsView, style: Style): string[] {
  const out: string[] = [""];
  if (view.mode === "not configured") {
    out.push(style.yellow(`notifications are not configured: nobody was told of ${view.deficiencies.length} finding${view.deficiencies.length === 1 ? "" : "s"} (give a covenant.yaml with --config; see docs/configuration.md)`));
    return out;
  }
  out.push(style.bold(view.mode === "preview" ? "notifications (nothing sent: dry run or sandbox; --notify sends):" : "notifications:"));
  for (const d of view.deficiencies) {
    const who = d.told.length === 0 ? style.yellow("nobody (no route reaches a stakeholder with a channel)") : d.told.map((t) => `${escapeText(t.recipient)} by ${escapeText(t.channel)} (${t.status}${t.detail ? `: ${escapeText(t.detail)}` : ""})`).join(", ");
    out.push(`  ${d.id ? `${style.bold(d.id)} ` : ""}${escapeText(d.key)} ${d.outcome}: ${who}`);
  }
  for (const i of view.inhibited) out.push(`  ${style.dim(`${i.id} not told: inhibited by ${i.by}, which it depends on`)}`);
  for (const u of view.unusable) out.push(`  ${style.red(`channel ${escapeText(u.channel)} unusable: ${escapeText(u.error)}`)}`);
  for (const f of view.failingChannels) out.push(`  ${style.red(`channel ${escapeText(f.channel)} keeps failing (a deficiency of its own, told through the stakeholders' other channels): ${escapeText(f.error)}`)}`);
  if (view.leftOver > 0) out.push(`  ${style.yellow(`${view.leftOver} message${view.leftOver === 1 ? "" : "s"} left for the next run or \`covenant notify flush\``)}`);
  return out;
}
