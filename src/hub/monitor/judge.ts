// What the monitor finds wrong with the fleet at one instant, read from the hub's tables: hosts
// silent past their cadence (cadence.ts) and chains in doubt (open fork, rollback and gap
// incidents); mass-drift.ts judges waves of drift. Each finding is what a deficiency should say
// now; deficiencies.ts compares the findings with the deficiencies open and moves them.
import type { Deficiency } from "../../notifiers/contract.js";
import type { Outcome } from "../../evaluator/outcomes.js";
import { cadenceOf, FALLBACK_MS, MIN_LEARNED_MS, showDuration } from "./cadence.js";
import type { HubControl, MonitorSettings } from "./settings.js";

export type FindingKind = "silent" | "chain" | "mass-drift";

export interface FleetFinding {
  /** stable while the condition lasts: one open deficiency per key */
  key: string;
  kind: FindingKind;
  hostId: string | null;
  /** the host's name, or "fleet" */
  host: string;
  control: Deficiency["control"];
  promiser: string;
  stakeholders: string[];
  outcome: Outcome;
  promised: string[];
  reason: string;
  differences: string[];
  /** the same condition: a different episode (a push since, another incident) closes the deficiency and opens another */
  episode: string;
  /** what the monitor keeps of the episode (hub_fleet_deficiencies.detail) */
  detail: Record<string, unknown>;
}

/** What a query of the monitor needs: a client's query (the monitor's own connection). */
export interface Queryable {
  query<R extends object>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

export const HUB_PROMISE_TYPE = "covenant.hub";

export function controlOf(c: Omit<HubControl, "id">, id: string): Deficiency["control"] {
  return { id, title: c.title, severity: c.severity, key: false, ...(c.owner !== undefined ? { owner: c.owner } : {}) };
}

interface HostRow {
  id: string;
  name: string;
  host_group: string | null;
  enrolled_at: Date;
  last_push_at: Date | null;
  learned_every_ms: string | null;
  runs: number;
}

/**
 * Hosts (not revoked) that have not pushed for longer than their cadence times the grace. The
 * database picks them by the rule cadenceOf says (so that a round reads the silent hosts, not
 * the fleet), and cadenceOf judges each again: it is the rule. (greatest() passes over a NULL,
 * hence the CASE: a host that taught no cadence falls through to the fallback, as in cadenceOf.)
 */
export async function judgeSilent(db: Queryable, now: number, settings: MonitorSettings): Promise<FleetFinding[]> {
  const rows = (
    await db.query<HostRow>(
      `SELECT id, name, host_group, enrolled_at, last_push_at, learned_every_ms, cardinality(recent_runs) AS runs FROM hub_hosts h
       WHERE revoked_at IS NULL AND coalesce(last_push_at, enrolled_at) < $1::timestamptz - make_interval(secs => $2::float8 *
         coalesce(($3::jsonb ->> h.host_group)::bigint, $4::bigint, CASE WHEN h.learned_every_ms IS NOT NULL THEN greatest(h.learned_every_ms, $5::bigint) END, $6::bigint) / 1000.0)`,
      [new Date(now), settings.silentGrace, settings.cadence.groups, settings.cadence.defaultMs ?? null, MIN_LEARNED_MS, FALLBACK_MS],
    )
  ).rows;
  const c = settings.controls.silent;
  const out: FleetFinding[] = [];
  for (const h of rows) {
    const cadence = cadenceOf(h.host_group, h.learned_every_ms === null ? null : Number(h.learned_every_ms), settings);
    const limit = cadence.ms * settings.silentGrace;
    const since = h.last_push_at ?? h.enrolled_at;
    if (now - since.getTime() <= limit) continue;
    const learned = cadence.source === "learned" ? `, learned from its last ${h.runs} runs` : cadence.source === "group" ? `, group ${h.host_group}'s` : cadence.source === "fallback" ? ", until its runs teach one" : "";
    const expected = `expected every ${showDuration(cadence.ms)}${learned}; silent after ${showDuration(limit)}`;
    out.push({
      key: `hub/silent/${h.id}`,
      kind: "silent",
      hostId: h.id,
      host: h.name,
      control: controlOf(c, c.id),
      promiser: h.name,
      stakeholders: c.stakeholders,
      outcome: "error",
      promised: [`pushes every ${showDuration(cadence.ms)} (${cadence.source})`],
      reason: h.last_push_at ? `${h.name} has not pushed since ${since.toISOString()} (${expected})` : `${h.name} has not pushed since it enrolled at ${since.toISOString()} (${expected})`,
      differences: [`last push: ${h.last_push_at ? since.toISOString() : "never"}`, `cadence: ${showDuration(cadence.ms)} (${cadence.source})${h.host_group !== null ? `, group ${h.host_group}` : ""}`],
      episode: since.toISOString(),
      detail: { since: since.toISOString(), pushed: h.last_push_at !== null, cadenceMs: cadence.ms, cadenceSource: cadence.source },
    });
  }
  return out;
}

interface IncidentRow {
  id: string;
  host_id: string;
  name: string;
  kind: "fork" | "rollback" | "gap";
  seq: string | null;
  opened_at: Date;
  message: string;
}

const CHAIN_WORDS: Record<IncidentRow["kind"], string> = { fork: "forks", rollback: "went back", gap: "lacks records it never sent" };

/** One finding per host and kind of open fork, rollback or gap incident. */
export async function judgeChains(db: Queryable, settings: MonitorSettings): Promise<FleetFinding[]> {
  const rows = (
    await db.query<IncidentRow>(
      `SELECT i.id, i.host_id, h.name, i.kind, i.seq, i.opened_at, i.message FROM hub_incidents i JOIN hub_hosts h ON h.id = i.host_id
       WHERE i.resolved_at IS NULL AND i.kind IN ('fork', 'rollback', 'gap') ORDER BY i.id`,
    )
  ).rows;
  const c = settings.controls.chain;
  return rows.map((i) => ({
    key: `hub/chain/${i.host_id}/${i.kind}`,
    kind: "chain" as const,
    hostId: i.host_id,
    host: i.name,
    control: controlOf(c, c.id),
    promiser: i.name,
    stakeholders: c.stakeholders,
    outcome: "drift" as const,
    promised: ["its history reaches the hub as one chain that only grows"],
    reason: `the history ${i.name} pushes ${CHAIN_WORDS[i.kind]} (incident ${i.id}, ${i.kind}): ${i.message}`,
    differences: [`incident ${i.id} opened ${i.opened_at.toISOString()}${i.seq !== null ? ` at record ${i.seq}` : ""}`, "resolved when an administrator resolves the incident (covenant hub resolve, or accept)"],
    episode: i.id,
    detail: { incident: Number(i.id), incidentKind: i.kind },
  }));
}
