// A control's history across the fleet, from hub_changes: the daily chart and the episodes.
// Pure: the rows come from control-view.ts. Each host's promises of the control are a step
// function of their change records (a promise holds the outcome of its last change until the
// next), read in the host's record order and placed in time by the host's clock.
//
// The chart counts hosts, not evaluations: on each UTC day of the period, a host whose state for
// the control is known (some change of one of its promises at or before the day's end) counts
// once, as deficient when any of its promises of the control was drift, failed or error at any
// moment of the day, else kept when its worst outcome that day was kept or repaired, else other
// (only waived or skipped). Runs that changed nothing write no record, so a day is counted from
// the state the host last reported: a host that stopped reporting is still counted by its last
// state (the fleet monitor says which hosts are silent).
//
// Episodes are rebuilt with the evidence report's EpisodeTracker (report/report-episodes.ts), per
// host and promise: opened on a deficient outcome, resolved by kept, skipped, waived or repaired.
import { isDeficiency, worst, type Outcome } from "../../../evaluator/outcomes.js";
import { EpisodeTracker } from "../../../report/report-episodes.js";
import type { DayPoint, Episode } from "../../../report/report-model.js";

export const DAY_MS = 86_400_000;

export interface ChangeRow {
  host: string;
  hostName: string;
  key: string;
  seq: number;
  to: Outcome;
  /** the host's clock */
  time: string;
  receivedAt: Date;
  reason: string;
}

export interface Period {
  /** the first day, YYYY-MM-DD (UTC) */
  from: string;
  /** the last day, included */
  to: string;
  startMs: number;
  endMs: number;
}

/** An episode on one host, with the hub's receive times of the records that opened and resolved it. */
export interface FleetEpisode {
  host: string;
  hostName: string;
  promise: string;
  type: string;
  promiser: string;
  outcome: Outcome;
  notice: boolean;
  opened: string;
  openedRecord: number;
  openedReceivedAt: string | null;
  resolved: string | null;
  resolvedRecord: number | null;
  resolvedReceivedAt: string | null;
  resolvedBy: Outcome | null;
  durationMs: number | null;
  reason: string;
}

const KEPT_DAY = new Set<Outcome>(["kept", "repaired"]);

/** The days of the period, each a DayPoint to fill. */
export function periodDays(p: Period): DayPoint[] {
  const days: DayPoint[] = [];
  for (let ms = p.startMs; ms < p.endMs; ms += DAY_MS) days.push({ day: new Date(ms).toISOString().slice(0, 10), evaluations: 0, kept: 0, deficient: 0, other: 0 });
  return days;
}

function byHost(rows: readonly ChangeRow[]): Map<string, ChangeRow[]> {
  const hosts = new Map<string, ChangeRow[]>();
  for (const r of rows) {
    const list = hosts.get(r.host);
    if (list) list.push(r);
    else hosts.set(r.host, [r]);
  }
  for (const list of hosts.values()) list.sort((a, b) => a.seq - b.seq);
  return hosts;
}

/** Per day of the period, the hosts kept, deficient and other for the control (`evaluations` is the hosts counted). */
export function dailyHosts(rows: readonly ChangeRow[], p: Period): DayPoint[] {
  const days = periodDays(p);
  for (const changes of byHost(rows).values()) {
    const state = new Map<string, Outcome>();
    let i = 0;
    while (i < changes.length && Date.parse(changes[i]!.time) < p.startMs) state.set(changes[i]!.key, changes[i++]!.to);
    for (let d = 0; d < days.length; d++) {
      const end = p.startMs + (d + 1) * DAY_MS;
      const seen: Outcome[] = [...state.values()];
      while (i < changes.length && Date.parse(changes[i]!.time) < end) {
        state.set(changes[i]!.key, changes[i]!.to);
        seen.push(changes[i++]!.to);
      }
      if (seen.length === 0) continue;
      const day = days[d]!;
      const verdict = worst(seen);
      day.evaluations++;
      if (seen.some(isDeficiency)) day.deficient++;
      else if (KEPT_DAY.has(verdict)) day.kept++;
      else day.other++;
    }
  }
  return days;
}

/** The episodes that touch the period (resolved in it, or open at its end), open ones first, then the newest. */
export function fleetEpisodes(rows: readonly ChangeRow[], p: Period, promises: ReadonlyMap<string, { type: string; promiser: string }>): FleetEpisode[] {
  const found: { host: string; e: Episode }[] = [];
  const sep = "\u0000";
  const tracker = new EpisodeTracker(p, (key, _run, record) => `${key.split(sep)[0]}:${record}`, (key, e) => found.push({ host: key.split(sep)[0]!, e }));
  const hosts = byHost(rows);
  const received = new Map<string, Date>();
  const names = new Map<string, string>();
  for (const [host, changes] of hosts) {
    names.set(host, changes[0]!.hostName);
    for (const c of changes) {
      received.set(`${host}:${c.seq}`, c.receivedAt);
      const known = promises.get(`${host}${sep}${c.key}`);
      tracker.change({ seq: c.seq, run: 0, time: c.time, ms: Date.parse(c.time), key: `${host}${sep}${c.key}`, type: known?.type ?? "", promiser: known?.promiser ?? "", to: c.to, reason: c.reason });
    }
  }
  tracker.finish();
  const at = (host: string, seq: number | undefined): string | null => (seq === undefined ? null : (received.get(`${host}:${seq}`)?.toISOString() ?? null));
  const episodes = found.map(({ host, e }): FleetEpisode => ({
    host,
    hostName: names.get(host) ?? "",
    promise: e.promise.split(sep)[1] ?? e.promise,
    type: e.type,
    promiser: e.promiser,
    outcome: e.outcome,
    notice: e.notice,
    opened: e.opened,
    openedRecord: e.openedRecord,
    openedReceivedAt: at(host, e.openedRecord),
    resolved: e.resolved ?? null,
    resolvedRecord: e.resolvedRecord ?? null,
    resolvedReceivedAt: at(host, e.resolvedRecord),
    resolvedBy: e.resolvedBy ?? null,
    durationMs: e.durationMs ?? null,
    reason: e.reason,
  }));
  return episodes.sort((a, b) => Number(a.resolved !== null) - Number(b.resolved !== null) || Date.parse(b.opened) - Date.parse(a.opened) || a.hostName.localeCompare(b.hostName));
}
