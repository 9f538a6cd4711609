// One control as the dashboard's page and GET /api/controls/:control both show it, from the one
// function here, so that the page and the JSON never disagree: its design and versions
// (control-design.ts), each host's current outcome of its promises (hub_promise_state), the
// fleet's daily chart and the episodes over a period (control-history.ts, from hub_changes), the
// integrity approvals and unapproved integrity changes (hub_integrity_events), and its waivers.
// Whoever reaches the control reaches it on every host (auth/rules.ts: the control routes are
// not scoped by host group).
import type { Pool } from "pg";
import { AccessInputError } from "../../auth/users.js";
import { isDeficiency, worst, type Outcome } from "../../../evaluator/outcomes.js";
import type { DayPoint } from "../../../report/report-model.js";
import { approvalControls } from "../../../report/report-tally.js";
import { controlOwner } from "../api/targets.js";
import { controlDesign, type ControlDesignView } from "./control-design.js";
import { DAY_MS, dailyHosts, fleetEpisodes, type ChangeRow, type FleetEpisode, type Period } from "./control-history.js";

export interface HostOutcome {
  host: string;
  hostName: string;
  group: string | null;
  key: string;
  type: string;
  promiser: string;
  outcome: Outcome;
  /** the host's clock, when the promise came to this outcome */
  since: string;
  reason: string;
  /** kept from the first version of this route: the same as `since` */
  hostTime: string;
}

export interface IntegrityItem {
  host: string;
  hostName: string;
  record: number;
  at: string;
  receivedAt: string;
  promise: string | null;
  targets: string[];
  detail: Record<string, unknown>;
}

export interface ControlView {
  control: string;
  owner: string | null;
  design: ControlDesignView;
  outcomes: HostOutcome[];
  /** hosts per current verdict of the control (the worst outcome of its promises on the host) */
  hosts: { total: number; kept: number; deficient: number; other: number };
  period: { from: string; to: string; days: number; computed: string };
  chart: DayPoint[];
  episodes: { total: number; open: number; page: number; size: number; items: FleetEpisode[] };
  integrity: { approved: IntegrityItem[]; unapproved: IntegrityItem[] };
  waivers: { policy: ControlDesignView["waivers"]; hub: { total: number; items: HubWaiver[] } };
}

export const CHART_COMPUTED =
  "per UTC day, the hosts whose state for the control is known (a change of one of its promises at or before the day's end, by the host's clock): deficient if any promise of the control was drift, failed or error at any moment of the day, kept if its worst outcome that day was kept or repaired, other if only waived or skipped; each promise holds the outcome of its last change record until its next (hub_changes)";

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MAX_DAYS = 366;

/** `?from=YYYY-MM-DD&to=YYYY-MM-DD` (the last day included; default: the 30 days to today, UTC). */
export function periodOf(query: Record<string, string>, now: Date): Period {
  const day = (name: string): number | undefined => {
    const v: unknown = query[name];
    if (v === undefined || v === "") return undefined;
    const ms = typeof v === "string" && DAY.test(v) ? Date.parse(`${v}T00:00:00Z`) : NaN;
    if (!Number.isFinite(ms)) throw new AccessInputError(`${name} is a day, YYYY-MM-DD`);
    return ms;
  };
  const today = Date.parse(`${now.toISOString().slice(0, 10)}T00:00:00Z`);
  const last = day("to") ?? today;
  const first = day("from") ?? last - 29 * DAY_MS;
  if (first > last) throw new AccessInputError("from is after to");
  if ((last - first) / DAY_MS + 1 > MAX_DAYS) throw new AccessInputError(`a period is at most ${MAX_DAYS} days`);
  return { from: new Date(first).toISOString().slice(0, 10), to: new Date(last).toISOString().slice(0, 10), startMs: first, endMs: last + DAY_MS };
}

/**
 * Each promise's outcome now on the hosts that report (a revoked host's last state is left out,
 * as the overview and the controls list leave it out), and every host's promises, a revoked one's
 * too, which name its episodes in the period.
 */
async function currentOutcomes(pool: Pool, control: string): Promise<{ reporting: HostOutcome[]; promises: Map<string, { type: string; promiser: string }> }> {
  const r = await pool.query<HostOutcome & { revoked: boolean }>(
    `SELECT s.host_id AS host, h.name AS "hostName", h.host_group AS "group", s.key, s.type, s.promiser, s.outcome, s.since, s.reason, s.since AS "hostTime", h.revoked_at IS NOT NULL AS revoked
     FROM hub_promise_state s JOIN hub_hosts h ON h.id = s.host_id WHERE s.control = $1 ORDER BY h.name, h.id, s.key`,
    [control],
  );
  const promises = new Map(r.rows.map((o) => [`${o.host}\u0000${o.key}`, { type: o.type, promiser: o.promiser }]));
  return { reporting: r.rows.filter((o) => !o.revoked).map(({ revoked: _r, ...o }) => o), promises };
}

function hostCounts(outcomes: readonly HostOutcome[]): ControlView["hosts"] {
  const worstOf = new Map<string, Outcome[]>();
  for (const o of outcomes) worstOf.set(o.host, [...(worstOf.get(o.host) ?? []), o.outcome]);
  const counts = { total: worstOf.size, kept: 0, deficient: 0, other: 0 };
  // as the chart counts a day: the worst outcome of the host's promises of the control
  for (const list of worstOf.values()) {
    const verdict = worst(list);
    if (isDeficiency(verdict)) counts.deficient++;
    else if (verdict === "kept" || verdict === "repaired") counts.kept++;
    else counts.other++;
  }
  return counts;
}

/** The changes the period needs: those in it, and each promise's from its last non-deficient change before it (its state, and any episode open when it began). */
async function changeRows(pool: Pool, control: string, p: Period): Promise<ChangeRow[]> {
  const from = new Date(p.startMs).toISOString();
  const to = new Date(p.endMs).toISOString();
  const r = await pool.query<{ host: string; hostName: string; key: string; seq: string; to: Outcome; time: string; receivedAt: Date; reason: string | null }>(
    `WITH anchor AS (
       SELECT host_id, key, max(seq) AS seq FROM hub_changes WHERE control = $1 AND host_time < $2 AND to_outcome NOT IN ('drift', 'failed', 'error') GROUP BY host_id, key)
     SELECT c.host_id AS host, h.name AS "hostName", c.key, c.seq, c.to_outcome AS to, c.host_time AS time, c.received_at AS "receivedAt", c.reason
     FROM hub_changes c JOIN hub_hosts h ON h.id = c.host_id LEFT JOIN anchor a ON a.host_id = c.host_id AND a.key = c.key
     WHERE c.control = $1 AND c.host_time < $3 AND c.seq >= coalesce(a.seq, 0) ORDER BY c.host_id, c.seq`,
    [control, from, to],
  );
  return r.rows.map((x) => ({ ...x, seq: Number(x.seq), reason: x.reason ?? "" }));
}

async function integrityOf(pool: Pool, control: string, p: Period, outcomes: readonly HostOutcome[]): Promise<ControlView["integrity"]> {
  const from = new Date(p.startMs).toISOString();
  const to = new Date(p.endMs).toISOString();
  const hosts = [...new Set(outcomes.map((o) => o.host))];
  const r = await pool.query<{ host: string; hostName: string; kind: string; control: string | null; seq: string; at: string; receivedAt: Date; promise: string | null; targets: string[]; detail: Record<string, unknown> }>(
    `SELECT e.host_id AS host, h.name AS "hostName", e.kind, e.control, e.seq, e.host_time AS at, e.received_at AS "receivedAt", e.promise, e.targets, e.detail
     FROM hub_integrity_events e JOIN hub_hosts h ON h.id = e.host_id
     WHERE e.host_time >= $2 AND e.host_time < $3 AND ((e.kind = 'unapproved' AND e.control = $1) OR (e.kind = 'approval' AND e.host_id = ANY($4::uuid[])))
     ORDER BY e.host_time DESC, h.name LIMIT 1000`,
    [control, from, to, hosts],
  );
  const promisesOn = new Map<string, { key: string; promiser: string }[]>();
  for (const o of outcomes) promisesOn.set(o.host, [...(promisesOn.get(o.host) ?? []), { key: o.key, promiser: o.promiser }]);
  const out: ControlView["integrity"] = { approved: [], unapproved: [] };
  for (const e of r.rows) {
    const item: IntegrityItem = { host: e.host, hostName: e.hostName, record: Number(e.seq), at: e.at, receivedAt: e.receivedAt.toISOString(), promise: e.promise, targets: e.targets, detail: e.detail };
    if (e.kind === "unapproved") out.unapproved.push(item);
    else if (approvalControls(e.promise ?? undefined, e.targets, new Map([[control, promisesOn.get(e.host) ?? []]])).has(control)) out.approved.push(item);
  }
  return out;
}

/** A waiver given on the hub for one host (src/hub/decision-giving.ts), with what the host made of it. */
export interface HubWaiver {
  decision: number;
  host: string;
  hostName: string;
  from: string | null;
  until: string;
  reason: string;
  givenBy: string;
  givenAt: string;
  /** pending, delivered, applied or refused by the host, or withdrawn */
  state: string;
  hostRecord: number | null;
  hostReason: string | null;
}

/** The waivers given on the hub for the control, newest first (the 200 newest; withdrawn ones included, as such). */
async function hubWaivers(pool: Pool, control: string): Promise<{ total: number; items: HubWaiver[] }> {
  const r = await pool.query<HubWaiver & { total: number }>(
    `SELECT d.id::int AS decision, d.host_id AS host, h.name AS "hostName", d.subject->>'from' AS "from", d.subject->>'until' AS until, d.reason,
       d.given_by AS "givenBy", to_char(d.given_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "givenAt", d.state,
       d.host_record::int AS "hostRecord", d.host_reason AS "hostReason", count(*) OVER ()::int AS total
     FROM hub_decisions d JOIN hub_hosts h ON h.id = d.host_id WHERE d.kind = 'waiver' AND d.control = $1 ORDER BY d.given_at DESC, d.id DESC LIMIT 200`,
    [control],
  );
  return { total: r.rows[0]?.total ?? 0, items: r.rows.map(({ total: _t, ...w }) => w) };
}

/** The control's view, or undefined when the hub knows nothing of it (no host reported it, no owner, not in the catalogue). */
export async function controlView(pool: Pool, control: string, query: Record<string, string>, paging: { limit: number; offset: number; page: number }, now: Date): Promise<ControlView | undefined> {
  const p = periodOf(query, now);
  const owner = await controlOwner(pool, control);
  const [design, { reporting: outcomes, promises }] = [await controlDesign(pool, control), await currentOutcomes(pool, control)];
  if (promises.size === 0 && owner === null && design.catalogue === null) return undefined;
  const rows = await changeRows(pool, control, p);
  const episodes = fleetEpisodes(rows, p, promises);
  return {
    control,
    owner,
    design,
    outcomes,
    hosts: hostCounts(outcomes),
    period: { from: p.from, to: p.to, days: Math.round((p.endMs - p.startMs) / DAY_MS), computed: CHART_COMPUTED },
    chart: dailyHosts(rows, p),
    episodes: { total: episodes.length, open: episodes.filter((e) => e.resolved === null).length, page: paging.page, size: paging.limit, items: episodes.slice(paging.offset, paging.offset + paging.limit) },
    integrity: await integrityOf(pool, control, p, outcomes),
    waivers: { policy: design.waivers, hub: await hubWaivers(pool, control) },
  };
}
