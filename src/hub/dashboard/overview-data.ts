// The fleet overview's figures, held to the viewer's reach: what GET /ui shows and GET
// /api/overview answers, from this one module so the two never disagree. Read from the derived
// state only (the rollup of hub_promise_state, hub_hosts, hub_controls, the monitor's open
// deficiencies and its notification log, hub_incidents), never from hub_records; each query
// reads a bounded page, so that 20,000 hosts answer as fast as 20.
import type { Pool } from "pg";
import type { Access } from "../auth/access.js";
import { AccessInputError } from "../auth/users.js";
import { outcomeOrder, type Outcome } from "../../evaluator/outcomes.js";
import { refMatches } from "../server/views/controls-list.js";
import { currentRollup } from "./overview-rollup.js";

export const CONTROLS_PAGE = 50;
export const LIST_LIMIT = 20;
export const DEFICIENT: readonly Outcome[] = ["drift", "failed", "error"];

export interface OverviewFilters {
  owner?: string;
  severity?: string;
  ref?: string;
  group?: string;
  page: number;
}

export type Counts = Record<Outcome, number>;

export interface Overview {
  asOf: string;
  /** whether pushes came after the verdicts were counted (recounted within seconds) */
  recounting: boolean;
  filters: OverviewFilters;
  totals: { hosts: number; verdicts: Counts; deficientVerdicts: number; openDeficiencies: number; silent: number; inDoubt: number };
  controls: { page: number; size: number; total: number; rows: { control: string; title: string | null; owner: string | null; severity: string | null; key: boolean; counts: Counts; hosts: number }[] };
  groups: { group: string | null; hosts: number; counts: Counts }[];
  deficiencies: { total: number; rows: { id: string; kind: string; hostId: string | null; host: string | null; group: string | null; control: string | null; outcome: string; reason: string; openedAt: string; ageMs: number; told: { recipient: string; lastSentAt: string | null }[] }[] };
  silent: { total: number; rows: { hostId: string; host: string; group: string | null; lastPushAt: string | null; openedAt: string }[] };
  inDoubt: { total: number; rows: { hostId: string; host: string; group: string | null; chainStatus: string; incidents: string[] }[] };
  choices: { groups: string[]; owners: string[]; severities: string[] };
}

const FILTER_TEXT = /^[A-Za-z0-9][A-Za-z0-9 ._:@/-]{0,127}$/;

/** The filters of a query string (`owner`, `severity`, `ref`, `group`, `page`): a malformed one is a 400, not a query. */
export function readFilters(query: Record<string, string>): OverviewFilters {
  const out: OverviewFilters = { page: Math.max(1, Math.min(100_000, Number.parseInt(query["page"] ?? "1", 10) || 1)) };
  for (const k of ["owner", "severity", "ref", "group"] as const) {
    const v = query[k];
    if (v === undefined || v === "") continue;
    if (!FILTER_TEXT.test(v)) throw new AccessInputError(`${k} is a name (letters, digits, spaces and . _ : @ / -)`);
    out[k] = v;
  }
  return out;
}

const zero = (): Counts => Object.fromEntries(outcomeOrder.map((o) => [o, 0])) as Counts;

/**
 * The SQL parameters of the viewer's reach and the filters, $1..$9, as the queries below take them:
 * every host with all its data ($1), the groups whose hosts are seen whole ($2), every host but only
 * some controls' data ($3: those of $4 or owned by $5), then the filters.
 */
function params(a: Access, f: OverviewFilters): unknown[] {
  return [a.allHosts, a.groups, a.hostsForControls, a.controlIds, a.controlOwners, f.owner ?? null, f.severity ?? null, f.ref ?? null, f.group ?? null];
}

/** The rollup's rows within reach and the filters: whole groups ($1, $2), or some controls' data ($3..$5); the filters ($6..$9). */
const ROLLUP_IN_REACH = `
  FROM hub_overview_rollup r LEFT JOIN hub_controls k ON k.control = r.control LEFT JOIN hub_control_owners o ON o.control = r.control
  WHERE ($1 OR r.host_group = ANY($2::text[]) OR ($3 AND (r.control = ANY($4::text[]) OR coalesce(o.owner, k.owner) = ANY($5::text[]))))
    AND ($6::text IS NULL OR coalesce(o.owner, k.owner) = $6) AND ($7::text IS NULL OR k.severity = $7) AND ${refMatches("k.refs", "$8")}
    AND ($9::text IS NULL OR r.host_group = $9)`;

/** Hosts in reach (not revoked), by group: $1, $2, and the group filtered on, $3 (hostParams). */
const HOSTS_IN_REACH = `h.revoked_at IS NULL AND ($1 OR h.host_group = ANY($2::text[])) AND ($3::text IS NULL OR h.host_group = $3)`;

/** The parameters HOSTS_IN_REACH takes, from params()'s. */
const hostParams = (p: unknown[]): unknown[] => [p[0] === true || p[2] === true, p[1], p[8]];

async function controlRows(pool: Pool, p: unknown[], f: OverviewFilters): Promise<Overview["controls"]> {
  const r = await pool.query<{ control: string; title: string | null; owner: string | null; severity: string | null; key: boolean | null; counts: Record<string, number> }>(
    `SELECT r.control, min(k.title) AS title, min(coalesce(o.owner, k.owner)) AS owner, min(k.severity) AS severity, bool_or(k.key_control) AS key,
       jsonb_object_agg(r.outcome, r.n) AS counts
     FROM (SELECT r.control, r.outcome, sum(r.hosts)::int AS n ${ROLLUP_IN_REACH} GROUP BY r.control, r.outcome) r
     LEFT JOIN hub_controls k ON k.control = r.control LEFT JOIN hub_control_owners o ON o.control = r.control
     GROUP BY r.control ORDER BY r.control`,
    p,
  );
  const rows = r.rows.map((x) => {
    const counts = { ...zero(), ...x.counts };
    return { control: x.control, title: x.title, owner: x.owner, severity: x.severity, key: x.key === true, counts, hosts: outcomeOrder.reduce((n, o) => n + counts[o], 0) };
  });
  // the controls with deficient verdicts first, most hosts first: what needs looking at
  const bad = (c: (typeof rows)[number]) => DEFICIENT.reduce((n, o) => n + c.counts[o], 0);
  rows.sort((a, b) => bad(b) - bad(a) || a.control.localeCompare(b.control));
  return { page: f.page, size: CONTROLS_PAGE, total: rows.length, rows: rows.slice((f.page - 1) * CONTROLS_PAGE, f.page * CONTROLS_PAGE) };
}

async function groupRows(pool: Pool, p: unknown[]): Promise<Overview["groups"]> {
  const [verdicts, hosts] = await Promise.all([
    pool.query<{ host_group: string; outcome: Outcome; n: number }>(`SELECT r.host_group, r.outcome, sum(r.hosts)::int AS n ${ROLLUP_IN_REACH} GROUP BY 1, 2`, p),
    pool.query<{ host_group: string | null; n: number }>(`SELECT h.host_group, count(*)::int AS n FROM hub_hosts h WHERE ${HOSTS_IN_REACH} GROUP BY 1 ORDER BY 1 NULLS LAST`, hostParams(p)),
  ]);
  const byGroup = new Map<string, Counts>();
  for (const v of verdicts.rows) {
    const c = byGroup.get(v.host_group) ?? zero();
    c[v.outcome] = v.n;
    byGroup.set(v.host_group, c);
  }
  return hosts.rows.map((h) => ({ group: h.host_group, hosts: h.n, counts: byGroup.get(h.host_group ?? "") ?? zero() }));
}

/** Open fleet deficiencies in reach: every one for a reader of every host and control; a group's hosts' for operations; every host's silence and chain, and its controls' drift waves, for a control owner. */
const DEFICIENCIES_IN_REACH = `
  FROM hub_fleet_deficiencies d LEFT JOIN hub_hosts h ON h.id = d.host_id
  LEFT JOIN hub_controls k ON k.control = d.body->'control'->>'id' LEFT JOIN hub_control_owners o ON o.control = d.body->'control'->>'id'
  WHERE d.status = 'open'
    AND ($1 OR h.host_group = ANY($2::text[]) OR ($3 AND d.kind IN ('silent', 'chain'))
      OR ($3 AND d.kind = 'mass-drift' AND (d.body->'control'->>'id' = ANY($4::text[]) OR coalesce(o.owner, k.owner) = ANY($5::text[]))))
    AND ($6::text IS NULL OR coalesce(o.owner, k.owner) = $6) AND ($7::text IS NULL OR k.severity = $7) AND ${refMatches("k.refs", "$8")}
    AND ($9::text IS NULL OR h.host_group = $9)`;

async function deficiencyRows(pool: Pool, p: unknown[], now: Date): Promise<Overview["deficiencies"]> {
  const [count, page] = await Promise.all([
    pool.query<{ n: number }>(`SELECT count(*)::int AS n ${DEFICIENCIES_IN_REACH}`, p),
    pool.query<{ id: string; kind: string; host_id: string | null; name: string | null; host_group: string | null; control: string | null; outcome: string; reason: string; opened_at: Date }>(
      `SELECT d.id, d.kind, d.host_id, h.name, h.host_group, d.body->'control'->>'id' AS control, d.body->>'outcome' AS outcome, d.body->>'reason' AS reason, d.opened_at
       ${DEFICIENCIES_IN_REACH} ORDER BY d.opened_at, d.id LIMIT ${LIST_LIMIT}`,
      p,
    ),
  ]);
  const ids = page.rows.map((d) => d.id);
  // who was told: the notification log's groups that told each recipient of these deficiencies
  const told = ids.length
    ? await pool.query<{ id: string; recipient: string; last_sent_at: string | null }>(
        "SELECT x.id, g.recipient, g.body->>'lastSentAt' AS last_sent_at FROM unnest($1::text[]) AS x(id) JOIN hub_notify_groups g ON g.body->'told' ? x.id ORDER BY x.id, g.recipient",
        [ids],
      )
    : { rows: [] };
  const tellings = new Map<string, { recipient: string; lastSentAt: string | null }[]>();
  for (const t of told.rows) {
    const at = t.last_sent_at !== null && /^\d+$/.test(t.last_sent_at) ? new Date(Number(t.last_sent_at)).toISOString() : null;
    tellings.set(t.id, [...(tellings.get(t.id) ?? []), { recipient: t.recipient, lastSentAt: at }]);
  }
  return {
    total: count.rows[0]!.n,
    rows: page.rows.map((d) => ({
      id: d.id, kind: d.kind, hostId: d.host_id, host: d.name, group: d.host_group, control: d.control, outcome: d.outcome, reason: d.reason,
      openedAt: d.opened_at.toISOString(), ageMs: Math.max(0, now.getTime() - d.opened_at.getTime()), told: tellings.get(d.id) ?? [],
    })),
  };
}

async function silentRows(pool: Pool, all: unknown[]): Promise<Overview["silent"]> {
  const p = hostParams(all);
  const where = `FROM hub_fleet_deficiencies d JOIN hub_hosts h ON h.id = d.host_id WHERE d.status = 'open' AND d.kind = 'silent' AND ${HOSTS_IN_REACH}`;
  const [count, page] = await Promise.all([
    pool.query<{ n: number }>(`SELECT count(*)::int AS n ${where}`, p),
    pool.query<{ id: string; name: string; host_group: string | null; last_push_at: Date | null; opened_at: Date }>(`SELECT h.id, h.name, h.host_group, h.last_push_at, d.opened_at ${where} ORDER BY d.opened_at, h.name LIMIT ${LIST_LIMIT}`, p),
  ]);
  return { total: count.rows[0]!.n, rows: page.rows.map((h) => ({ hostId: h.id, host: h.name, group: h.host_group, lastPushAt: h.last_push_at?.toISOString() ?? null, openedAt: h.opened_at.toISOString() })) };
}

async function doubtRows(pool: Pool, all: unknown[]): Promise<Overview["inDoubt"]> {
  const p = hostParams(all);
  // a chain in doubt: its status is not ok, or an incident on it (fork, rollback, gap) is still open
  const where = `FROM hub_hosts h WHERE ${HOSTS_IN_REACH} AND (h.chain_status <> 'ok' OR h.id IN (SELECT host_id FROM hub_incidents WHERE resolved_at IS NULL AND kind <> 'clock'))`;
  const [count, page] = await Promise.all([
    pool.query<{ n: number }>(`SELECT count(*)::int AS n ${where}`, p),
    pool.query<{ id: string; name: string; host_group: string | null; chain_status: string; kinds: string[] | null }>(
      `SELECT h.id, h.name, h.host_group, h.chain_status, (SELECT array_agg(DISTINCT i.kind ORDER BY i.kind) FROM hub_incidents i WHERE i.host_id = h.id AND i.resolved_at IS NULL AND i.kind <> 'clock') AS kinds
       ${where} ORDER BY h.name, h.id LIMIT ${LIST_LIMIT}`,
      p,
    ),
  ]);
  return { total: count.rows[0]!.n, rows: page.rows.map((h) => ({ hostId: h.id, host: h.name, group: h.host_group, chainStatus: h.chain_status, incidents: h.kinds ?? [] })) };
}

async function choices(pool: Pool, a: Access): Promise<Overview["choices"]> {
  const [groups, controls] = await Promise.all([
    pool.query<{ g: string }>("SELECT DISTINCT host_group AS g FROM hub_hosts WHERE host_group IS NOT NULL AND ($1 OR host_group = ANY($2::text[])) ORDER BY 1 LIMIT 500", [a.allHosts || a.hostsForControls, a.groups]),
    pool.query<{ owner: string | null; severity: string }>(
      `SELECT DISTINCT coalesce(o.owner, k.owner) AS owner, k.severity FROM hub_controls k LEFT JOIN hub_control_owners o ON o.control = k.control
       WHERE $1 OR k.control = ANY($2::text[]) OR coalesce(o.owner, k.owner) = ANY($3::text[])`,
      // whoever sees some hosts whole sees every control's data on them
      [a.allHosts || a.groups.length > 0, a.controlIds, a.controlOwners],
    ),
  ]);
  const owners = [...new Set(controls.rows.map((c) => c.owner).filter((o): o is string => o !== null))].sort();
  const severities = [...new Set(controls.rows.map((c) => c.severity))].sort();
  return { groups: groups.rows.map((g) => g.g), owners, severities };
}

/** The overview as the viewer may see it, filtered. */
export async function fleetOverview(pool: Pool, access: Access, f: OverviewFilters, log: (line: string) => void, now = new Date()): Promise<Overview> {
  const rollup = await currentRollup(pool, log);
  const p = params(access, f);
  const [controls, groups, deficiencies, silent, inDoubt, choice] = await Promise.all([controlRows(pool, p, f), groupRows(pool, p), deficiencyRows(pool, p, now), silentRows(pool, p), doubtRows(pool, p), choices(pool, access)]);
  const verdicts = zero();
  for (const g of groups) for (const o of outcomeOrder) verdicts[o] += g.counts[o];
  // the hosts in reach (and in the group filtered on), whatever controls are filtered
  const hosts = groups.reduce((n, g) => n + g.hosts, 0);
  return {
    asOf: rollup.computedAt.toISOString(),
    recounting: rollup.behind,
    filters: f,
    totals: { hosts, verdicts, deficientVerdicts: DEFICIENT.reduce((n, o) => n + verdicts[o], 0), openDeficiencies: deficiencies.total, silent: silent.total, inDoubt: inDoubt.total },
    controls,
    groups,
    deficiencies,
    silent,
    inDoubt,
    choices: choice,
  };
}
