// The run's last step: tell. A real run routes what it recorded and delivers within the budget;
// a dry run or a sandbox run sends nothing and shows who would have been told (`--notify` sends
// anyway, for a deliberate test). Without a configuration, the report says nobody was told.
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import type { NotifyConfig, Route } from "../config/types.js";
import type { PromiseResult } from "../evaluator/engine.js";
import { isDeficiency } from "../evaluator/outcomes.js";
import type { FactValue } from "../facts/host.js";
import type { Deficiency } from "../notifiers/contract.js";
import { routeAndDeliver, type DispatchReport, type DispatchStore } from "../notifiers/dispatch.js";
import { MemoryOutbox } from "../notifiers/memory-outbox.js";
import { makeChannel } from "../notifiers/registry.js";
import { receiversOf } from "../notifiers/routing/index.js";
import type { Finding } from "../store/store.js";
import { channelContext, type ConfigOutcome } from "./notify-config.js";
import { toldPerDeficiency, type Told } from "./notify-report.js";

/** What the run report says about notifications. */
export interface NotificationsView {
  /** "sent": messages went out; "preview": a dry or sandbox run, nothing sent; "not configured" */
  mode: "sent" | "preview" | "not configured";
  /** per promise key: its deficiency's id (when recorded) and who is, was or would be told */
  deficiencies: { key: string; id?: string; outcome: string; told: Told[] }[];
  leftOver: number;
  unusable: { channel: string; error: string }[];
  /** channels that keep failing: each is a deficiency of its own */
  failingChannels: { channel: string; error: string }[];
  inhibited: { id: string; by: string }[];
}

export interface NotifyScene {
  config: ConfigOutcome;
  results: PromiseResult[];
  finding: (r: PromiseResult) => Finding | undefined;
  facts: ReadonlyMap<string, FactValue>;
  /** the store when this run recorded (not a dry run) */
  store?: DispatchStore;
  /** whether to send: a real run, or --notify */
  send: boolean;
  now: () => number;
  /** real time (ms since the epoch) by which delivery must be over: the run's hard stop, less a margin */
  endBy?: number;
}

/**
 * The configured budget, or less when the run's hard stop comes first: a budget longer than what
 * is left of the run would be cut by the stop, which ends the process without its report.
 */
export function budgetFor(configured: number, endBy: number | undefined, realNow = Date.now()): number {
  return endBy === undefined ? configured : Math.max(0, Math.min(configured, endBy - realNow));
}

/** Results that are told: deficiencies and repairs (notices). */
function toldAbout(r: PromiseResult): boolean {
  return isDeficiency(r.outcome) || r.outcome === "repaired";
}

export async function notifyAfterRun(scene: NotifyScene): Promise<NotificationsView | undefined> {
  const relevant = scene.results.filter(toldAbout);
  if (scene.config.status !== "ok") {
    if (relevant.length === 0) return undefined;
    return { mode: "not configured", deficiencies: relevant.map((r) => ({ key: r.key, outcome: r.outcome, told: [] })), leftOver: 0, unusable: [], failingChannels: [], inhibited: [] };
  }
  const config = scene.config.config;
  if (!scene.send) return preview(config, scene, relevant);
  const store = scene.store ?? new MemoryOutbox(relevant.map((r) => previewDeficiency(r, scene.finding(r), scene.now())).filter((d): d is Deficiency => d !== undefined));
  // a dry run given --notify keeps no group state: every group would be new and wait its
  // group_wait, past the budget, and the deliberate test would send nothing. It sends at once.
  const routed = scene.store ? config : { ...config, route: withoutGroupWait(config.route) };
  const report = await routeAndDeliver(store, { config: routed, facts: scene.facts, now: scene.now, budgetMs: budgetFor(config.delivery.budgetMs, scene.endBy), makeChannel, context: await channelContext(() => new Date(scene.now())), host: hostname() });
  return viewOf(report, relevant);
}

function withoutGroupWait(route: Route): Route {
  return { ...route, groupWaitMs: 0, routes: route.routes.map(withoutGroupWait) };
}

function viewOf(report: DispatchReport, relevant: PromiseResult[]): NotificationsView {
  const told = toldPerDeficiency(report);
  const idOfKey = new Map(Object.entries(report.deficiencies).map(([id, d]) => [d.key, id]));
  const deficiencies: NotificationsView["deficiencies"] = relevant.map((r) => {
    const id = idOfKey.get(r.key);
    return { key: r.key, ...(id !== undefined ? { id } : {}), outcome: r.outcome, told: id !== undefined ? (told.get(id) ?? []) : [] };
  });
  // a channel that kept failing, told as a deficiency of its own, is shown too
  for (const [id, d] of Object.entries(report.deficiencies)) {
    if (!relevant.some((r) => r.key === d.key) && told.has(id)) deficiencies.push({ key: d.key, id, outcome: d.outcome, told: told.get(id)! });
  }
  return { mode: "sent", deficiencies, leftOver: report.leftOver, unusable: report.unusable, failingChannels: report.failingChannels, inhibited: report.inhibited };
}

/** Who would be told, sending nothing. */
function preview(config: NotifyConfig, scene: NotifyScene, relevant: PromiseResult[]): NotificationsView {
  const deficiencies = relevant.map((r) => {
    const d = previewDeficiency(r, scene.finding(r), scene.now());
    const told: Told[] = [];
    if (d) {
      const seen = new Set<string>();
      for (const rc of receiversOf(d, config, scene.facts)) {
        const stakeholder = config.stakeholders.get(rc.stakeholder);
        for (const channel of stakeholder?.channels ?? []) {
          const k = `${rc.stakeholder}/${channel}`;
          if (seen.has(k)) continue;
          seen.add(k);
          told.push({ recipient: rc.stakeholder, channel, status: "would be told", ...(rc.escalation ? { detail: "if it stays open (escalation)" } : {}) });
        }
      }
    }
    return { key: r.key, outcome: r.outcome, told };
  });
  return { mode: "preview", deficiencies, leftOver: 0, unusable: [], failingChannels: [], inhibited: [] };
}

/** A deficiency as the store would open it, for routing without a store (dry runs). */
export function previewDeficiency(r: PromiseResult, f: Finding | undefined, now: number): Deficiency | undefined {
  if (!f) return undefined;
  const at = new Date(now).toISOString();
  const notice = r.outcome === "repaired";
  const id = `d-${createHash("sha256").update(`${f.host}\0${r.key}`).digest("hex").slice(0, 8)}`;
  return {
    id,
    key: r.key,
    notice,
    status: notice ? "resolved" : "open",
    outcome: r.outcome,
    ...(notice ? { resolvedBy: "repaired" as const, resolvedAt: at } : {}),
    host: f.host,
    control: f.control,
    promise: { type: r.type, promiser: r.promiser, ...f.promise },
    promised: f.promised,
    reason: r.reason,
    differences: r.differences.map((d) => d.reason).slice(0, 50),
    changes: r.changes.map((c) => `${c.status}: ${c.description}`),
    openedAt: at,
    openedRun: 0,
    openedRecord: 0,
    lastRecord: 0,
    updatedAt: at,
  };
}
