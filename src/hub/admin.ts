// What an administrator does from the hub's machine (`covenant hub token`, `hosts`, `revoke`):
// straight against the database, each change in the audit log with who did it.
import { randomBytes } from "node:crypto";
import type { Pool } from "pg";
import { hubChainStart } from "./protocol.js";
import { audit } from "./server/audit.js";
import { tokenHash } from "./server/enroll.js";
import { inTransaction } from "./db/transaction.js";

export interface MadeToken {
  token: string;
  expiresAt: Date;
  group: string | null;
}

/** A one-time enrolment token; only its sha256 is kept. */
export async function makeEnrollToken(pool: Pool, opts: { validForMs: number; group?: string; note?: string; actor: string; now?: Date }): Promise<MadeToken> {
  const token = `cvt_${randomBytes(32).toString("base64url")}`;
  const expiresAt = new Date((opts.now ?? new Date()).getTime() + opts.validForMs);
  await inTransaction(pool, async (client) => {
    await client.query("INSERT INTO hub_enroll_tokens (token_hash, expires_at, created_by, host_group, note) VALUES ($1, $2, $3, $4, $5)", [tokenHash(token), expiresAt, opts.actor, opts.group ?? null, opts.note ?? null]);
    await audit(client, opts.actor, "token.make", null, { expiresAt: expiresAt.toISOString(), group: opts.group ?? null });
  });
  return { token, expiresAt, group: opts.group ?? null };
}

export interface HostSummary {
  id: string;
  name: string;
  group: string | null;
  fingerprint: string;
  enrolledAt: Date;
  revokedAt: Date | null;
  records: number;
  lastSeq: number;
  lastPushAt: Date | null;
  clockSkewMs: number | null;
  chainStatus: string;
  openIncidents: string[];
}

/** Every enrolled host, by name. */
export async function listHosts(pool: Pool): Promise<HostSummary[]> {
  const rows = await pool.query<{
    id: string; name: string; host_group: string | null; fingerprint: string; enrolled_at: Date; revoked_at: Date | null;
    records: string; last_seq: string; last_push_at: Date | null; clock_skew_ms: string | null; chain_status: string; incidents: string[] | null;
  }>(
    `SELECT h.*, (SELECT array_agg(kind ORDER BY kind) FROM hub_incidents i WHERE i.host_id = h.id AND i.resolved_at IS NULL) AS incidents
     FROM hub_hosts h ORDER BY h.name, h.id`,
  );
  return rows.rows.map((r) => ({
    id: r.id, name: r.name, group: r.host_group, fingerprint: r.fingerprint, enrolledAt: r.enrolled_at, revokedAt: r.revoked_at,
    records: Number(r.records), lastSeq: Number(r.last_seq), lastPushAt: r.last_push_at, clockSkewMs: r.clock_skew_ms === null ? null : Number(r.clock_skew_ms),
    chainStatus: r.chain_status, openIncidents: r.incidents ?? [],
  }));
}

/** Revokes a host (by id or exact name): the hub takes nothing more from it. */
export async function revokeHost(pool: Pool, which: string, reason: string, actor: string): Promise<{ id: string; name: string } | { problem: string }> {
  // a refusal changes nothing: the transaction is committed empty
  return inTransaction(pool, async (client) => {
    const found = (await client.query<{ id: string; name: string; revoked_at: Date | null }>("SELECT id, name, revoked_at FROM hub_hosts WHERE id::text = $1 OR name = $1 FOR UPDATE", [which])).rows;
    if (found.length !== 1) return { problem: found.length === 0 ? "no enrolled host has that id or name" : `${found.length} hosts have that name: give the id (covenant hub hosts)` };
    const host = found[0]!;
    if (host.revoked_at) return { problem: `host ${host.name} was revoked already, on ${host.revoked_at.toISOString()}` };
    await client.query("UPDATE hub_hosts SET revoked_at = now(), revoked_reason = $2 WHERE id = $1", [host.id, reason]);
    await audit(client, actor, "host.revoke", `host:${host.id}`, { reason });
    return { id: host.id, name: host.name };
  });
}

export interface IncidentSummary {
  id: number;
  host: string;
  hostId: string;
  kind: string;
  seq: number | null;
  openedAt: Date;
  lastSeenAt: Date;
  seen: number;
  message: string;
  resolvedAt: Date | null;
  resolvedBy: string | null;
}

/** Incidents, the open ones first; all of them with `all`. */
export async function listIncidents(pool: Pool, opts: { all?: boolean } = {}): Promise<IncidentSummary[]> {
  const rows = await pool.query<{ id: string; name: string; host_id: string; kind: string; seq: string | null; opened_at: Date; last_seen_at: Date; seen: number; message: string; resolved_at: Date | null; resolved_by: string | null }>(
    `SELECT i.*, h.name FROM hub_incidents i JOIN hub_hosts h ON h.id = i.host_id ${opts.all ? "" : "WHERE i.resolved_at IS NULL"} ORDER BY i.resolved_at IS NOT NULL, i.opened_at DESC LIMIT 1000`,
  );
  return rows.rows.map((r) => ({ id: Number(r.id), host: r.name, hostId: r.host_id, kind: r.kind, seq: r.seq === null ? null : Number(r.seq), openedAt: r.opened_at, lastSeenAt: r.last_seen_at, seen: r.seen, message: r.message, resolvedAt: r.resolved_at, resolvedBy: r.resolved_by }));
}


/**
 * Accepts a host's history as it is now, after its chain was found in doubt and someone looked
 * into why (a store restored from a backup on purpose, a disk replaced): the hub keeps every
 * record it held (as the earlier epoch) and starts the host's chain again, so that the host sends
 * its whole history anew. The chain incidents are resolved with the reason, in the audit log.
 */
export async function acceptHostHistory(pool: Pool, which: string, reason: string, actor: string): Promise<{ id: string; name: string; epoch: number } | { problem: string }> {
  return inTransaction(pool, async (client) => {
    const found = (await client.query<{ id: string; name: string; epoch: number; chain_status: string }>("SELECT id, name, epoch, chain_status FROM hub_hosts WHERE id::text = $1 OR name = $1 FOR UPDATE", [which])).rows;
    if (found.length !== 1) return { problem: found.length === 0 ? "no enrolled host has that id or name" : `${found.length} hosts have that name: give the id (covenant hub hosts)` };
    const host = found[0]!;
    const open = (await client.query("SELECT 1 FROM hub_incidents WHERE host_id = $1 AND kind <> 'clock' AND resolved_at IS NULL", [host.id])).rowCount ?? 0;
    if (host.chain_status === "ok" && open === 0) return { problem: `host ${host.name}'s chain is not in doubt: there is nothing to accept` };
    const epoch = host.epoch + 1;
    await client.query(
      "UPDATE hub_hosts SET epoch = $2, last_seq = 0, last_chain = $3, first_seq = NULL, prune_cut = NULL, head_seq = NULL, chain_status = 'ok' WHERE id = $1",
      [host.id, epoch, hubChainStart(host.id)],
    );
    await client.query("DELETE FROM hub_promise_state WHERE host_id = $1", [host.id]);
    await client.query("DELETE FROM hub_changes WHERE host_id = $1", [host.id]);
    await client.query("DELETE FROM hub_integrity_events WHERE host_id = $1", [host.id]);
    // derived from the earlier epoch's change records like the tables above: the host's records sent
    // anew derive them again (an open one left would take the new epoch's first change of its promise)
    await client.query("DELETE FROM hub_deficiencies WHERE host_id = $1", [host.id]);
    // the overview's rollup counted the promise states just removed: counted again at its next read
    await client.query("DELETE FROM hub_overview_state");
    await client.query("UPDATE hub_incidents SET resolved_at = now(), resolved_by = $2 WHERE host_id = $1 AND kind <> 'clock' AND resolved_at IS NULL", [host.id, `${actor}: history accepted (${reason})`]);
    await audit(client, actor, "host.accept-history", `host:${host.id}`, { reason, epoch });
    return { id: host.id, name: host.name, epoch };
  });
}

/** Resolves one incident (a clock incident, or a chain incident judged harmless), with the reason. */
export async function resolveIncident(pool: Pool, id: number, reason: string, actor: string): Promise<{ id: number } | { problem: string }> {
  return inTransaction(pool, async (client) => {
    // the host's row first, as a push takes it (push.ts locks the host, then its incidents): the
    // other order deadlocks with a push of the same host that sees the incident again
    await client.query("SELECT 1 FROM hub_hosts WHERE id = (SELECT host_id FROM hub_incidents WHERE id = $1) FOR UPDATE", [id]);
    const r = await client.query<{ host_id: string; kind: string }>("UPDATE hub_incidents SET resolved_at = now(), resolved_by = $2 WHERE id = $1 AND resolved_at IS NULL RETURNING host_id, kind", [id, `${actor}: ${reason}`]);
    const row = r.rows[0];
    if (!row) return { problem: `no open incident ${id}` };
    if (row.kind !== "clock") {
      const left = (await client.query("SELECT 1 FROM hub_incidents WHERE host_id = $1 AND kind <> 'clock' AND resolved_at IS NULL", [row.host_id])).rowCount ?? 0;
      if (left === 0) await client.query("UPDATE hub_hosts SET chain_status = 'ok' WHERE id = $1", [row.host_id]);
    }
    await audit(client, actor, "incident.resolve", `incident:${id}`, { reason, kind: row.kind });
    return { id };
  });
}
