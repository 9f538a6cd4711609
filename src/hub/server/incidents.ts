// A host's chain in doubt (a fork, a rollback, records it never sent) or its clock off the hub's:
// one open incident per host and kind, seen again rather than repeated when the host pushes the
// same thing again, so that a replayed push changes nothing but a counter.
import type { PoolClient } from "pg";

export type IncidentKind = "fork" | "rollback" | "gap" | "clock";

/** Opens an incident, or notes that an open one of the same kind was seen again. */
export async function openIncident(client: PoolClient, host: string, epoch: number, kind: IncidentKind, seq: number | null, message: string, detail: Record<string, unknown>): Promise<void> {
  await client.query(
    `INSERT INTO hub_incidents (host_id, kind, epoch, seq, message, detail) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (host_id, kind) WHERE resolved_at IS NULL DO UPDATE SET last_seen_at = now(), seen = hub_incidents.seen + 1`,
    [host, kind, epoch, seq, message, detail],
  );
  if (kind !== "clock") await client.query("UPDATE hub_hosts SET chain_status = $2 WHERE id = $1 AND chain_status = 'ok'", [host, kind]);
}

/** How an open clock incident is closed once the host's clock is back within the tolerance. */
export const CLOCK_BACK = "hub: the clock is back within the tolerance";

/** Whether a host's clock is close enough to the hub's. */
export function clockWithin(skewMs: number, toleranceMs: number): boolean {
  return Math.abs(skewMs) <= toleranceMs;
}

/**
 * Opens (or sees again) a clock incident for a host whose clock is further from the hub's than
 * allowed. Closing one is done by push.ts in the statement that updates the host (CLOCK_BACK), so
 * that a push whose clock is fine costs no round trip for it.
 */
export async function openClockIncident(client: PoolClient, host: string, epoch: number, skewMs: number, toleranceMs: number): Promise<void> {
  const message = `the host's clock is ${describeSkew(skewMs)} the hub's (more than ${Math.round(toleranceMs / 1000)} s allowed)`;
  await openIncident(client, host, epoch, "clock", null, message, { skewMs });
}

function describeSkew(ms: number): string {
  const s = Math.abs(ms) / 1000;
  const amount = s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`;
  return `${amount} ${ms > 0 ? "ahead of" : "behind"}`;
}
