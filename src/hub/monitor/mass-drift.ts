// A wave: the same control going to drift, failed or error on many hosts within one window (a
// rollout, or an attack). Judged on the changes the hub received in the last `massDrift.window`:
// at least `massDrift.hosts` hosts, or `massDrift.share` of the hosts that run the control (and
// at least three: two hosts are not a wave). A wave stays one deficiency while it lasts: hosts
// that drift later join it; it is over when fewer of its hosts than opened it are still not kept.
import { worst, type Outcome } from "../../evaluator/outcomes.js";
import { showDuration } from "./cadence.js";
import { controlOf, type FleetFinding, type Queryable } from "./judge.js";
import type { MonitorSettings } from "./settings.js";

/** The share rule needs this many hosts at least. */
export const MIN_WAVE = 3;
/** Hosts named in a wave's deficiency; the rest are counted. */
export const NAMED_HOSTS = 20;

/** The outcomes a wave is made of (written out in the window's query too: the partial index hub_changes_deficient_received is chosen only for the literal). */
const DEFICIENT = ["drift", "failed", "error"];

/** An open wave as the monitor kept it (hub_fleet_deficiencies.detail). */
export interface OpenWave {
  control: string;
  hosts: string[];
  threshold: number;
  openedAt: string;
}

interface Burst {
  control: string;
  hosts: string[];
  outcomes: Outcome[];
}

interface HostName {
  id: string;
  name: string;
}

/** The findings of waves: new ones, and open ones that go on (joined by later hosts or not). */
export async function judgeMassDrift(db: Queryable, now: number, settings: MonitorSettings, open: ReadonlyMap<string, OpenWave>): Promise<FleetFinding[]> {
  const { hosts: minHosts, share, windowMs } = settings.massDrift;
  const bursts = (
    await db.query<Burst>(
      `SELECT c.control, array_agg(DISTINCT c.host_id::text) AS hosts, array_agg(DISTINCT c.to_outcome) AS outcomes
       FROM hub_changes c JOIN hub_hosts h ON h.id = c.host_id
       WHERE c.received_at > $1 AND c.received_at <= $2 AND c.to_outcome IN ('drift', 'failed', 'error') AND (c.from_outcome IS NULL OR NOT c.from_outcome = ANY($3)) AND h.revoked_at IS NULL
       GROUP BY c.control HAVING count(DISTINCT c.host_id) >= $4 OR c.control = ANY($5)`,
      [new Date(now - windowMs), new Date(now), DEFICIENT, Math.min(minHosts, MIN_WAVE), [...open.keys()]],
    )
  ).rows;
  const byControl = new Map(bursts.map((b) => [b.control, b]));
  const controls = [...new Set([...byControl.keys(), ...open.keys()])];
  if (controls.length === 0) return [];
  const runners = await countRunners(db, controls);
  const out: FleetFinding[] = [];
  for (const control of controls) {
    const burst = byControl.get(control);
    const wave = open.get(control);
    const running = runners.get(control) ?? 0;
    if (!wave) {
      if (!burst) continue;
      const n = burst.hosts.length;
      const needed = n >= minHosts ? minHosts : Math.max(MIN_WAVE, Math.ceil(share * running));
      if (n < needed) continue;
      out.push(await finding(db, settings, control, burst.hosts, needed, burst.outcomes, running, new Date(now).toISOString()));
      continue;
    }
    const hosts = [...new Set([...wave.hosts, ...(burst?.hosts ?? [])])];
    const still = await stillDeficient(db, control, hosts);
    if (still.length < wave.threshold && !burst?.hosts.some((h) => !wave.hosts.includes(h))) continue;
    out.push(await finding(db, settings, control, hosts, wave.threshold, burst?.outcomes ?? still.map((s) => s.outcome), running, wave.openedAt));
  }
  return out;
}

async function countRunners(db: Queryable, controls: string[]): Promise<Map<string, number>> {
  const rows = (await db.query<{ control: string; n: number }>("SELECT control, count(DISTINCT host_id)::int AS n FROM hub_promise_state WHERE control = ANY($1) GROUP BY control", [controls])).rows;
  return new Map(rows.map((r) => [r.control, r.n]));
}

/** The wave's hosts on which some promise of the control is still drift, failed or error, with the worst such outcome. */
async function stillDeficient(db: Queryable, control: string, hosts: string[]): Promise<{ host: string; outcome: Outcome }[]> {
  const rows = (await db.query<{ host: string; outcomes: Outcome[] }>("SELECT host_id::text AS host, array_agg(outcome) AS outcomes FROM hub_promise_state WHERE control = $1 AND host_id = ANY($2::uuid[]) AND outcome = ANY($3) GROUP BY host_id", [control, hosts, DEFICIENT])).rows;
  return rows.map((r) => ({ host: r.host, outcome: worst(r.outcomes) }));
}

async function finding(db: Queryable, settings: MonitorSettings, control: string, hostIds: string[], threshold: number, outcomes: Outcome[], running: number, openedAt: string): Promise<FleetFinding> {
  const names = (await db.query<HostName>("SELECT id::text AS id, name FROM hub_hosts WHERE id = ANY($1::uuid[]) ORDER BY name, id", [hostIds])).rows;
  const shown = names.slice(0, NAMED_HOSTS).map((h) => h.name);
  const more = names.length - shown.length;
  const { windowMs } = settings.massDrift;
  const of = running > 0 ? ` (${Math.round((100 * names.length) / Math.max(running, names.length))}% of the ${Math.max(running, names.length)} hosts that run it)` : "";
  const c = settings.controls.massDrift;
  return {
    key: `hub/mass-drift/${control}`,
    kind: "mass-drift",
    hostId: null,
    host: "fleet",
    control: controlOf(c, control),
    promiser: control,
    stakeholders: c.stakeholders,
    outcome: outcomes.length ? worst(outcomes) : "drift",
    promised: [`${control} does not go from kept to drift, failed or error on ${threshold} hosts or more within ${showDuration(windowMs)}`],
    reason: `${control} went to drift, failed or error on ${names.length} hosts within ${showDuration(windowMs)}${of}: ${shown.join(", ")}${more > 0 ? ` and ${more} more` : ""}`,
    differences: [...shown.map((n) => `host: ${n}`), ...(more > 0 ? [`and ${more} more hosts (${names.length} in all)`] : [])],
    episode: openedAt,
    detail: { control, hosts: names.map((h) => h.id), threshold, openedAt } satisfies OpenWave,
  };
}
