// What an administrator does from the hub's machine (`covenant hub token`, `hosts`, `revoke`):
// straight against the database, each change in the audit log with who did it.
import { randomBytes } from "node:crypto";
import type { Pool } from "pg";
import { audit } from "./server/audit.js";
import { tokenHash } from "./server/enroll.js";

export interface MadeToken {
  token: string;
  expiresAt: Date;
  group: string | null;
}

/** A one-time enrolment token; only its sha256 is kept. */
export async function makeEnrollToken(pool: Pool, opts: { validForMs: number; group?: string; note?: string; actor: string; now?: Date }): Promise<MadeToken> {
  const token = `cvt_${randomBytes(32).toString("base64url")}`;
  const expiresAt = new Date((opts.now ?? new Date()).getTime() + opts.validForMs);
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("INSERT INTO hub_enroll_tokens (token_hash, expires_at, created_by, host_group, note) VALUES ($1, $2, $3, $4, $5)", [tokenHash(token), expiresAt, opts.actor, opts.group ?? null, opts.note ?? null]);
    await audit(client, opts.actor, "token.make", null, { expiresAt: expiresAt.toISOString(), group: opts.group ?? null });
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
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
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const found = (await client.query<{ id: string; name: string; revoked_at: Date | null }>("SELECT id, name, revoked_at FROM hub_hosts WHERE id::text = $1 OR name = $1 FOR UPDATE", [which])).rows;
    if (found.length !== 1) {
      await client.query("ROLLBACK");
      return { problem: found.length === 0 ? "no enrolled host has that id or name" : `${found.length} hosts have that name: give the id (covenant hub hosts)` };
    }
    const host = found[0]!;
    if (host.revoked_at) {
      await client.query("ROLLBACK");
      return { problem: `host ${host.name} was revoked already, on ${host.revoked_at.toISOString()}` };
    }
    await client.query("UPDATE hub_hosts SET revoked_at = now(), revoked_reason = $2 WHERE id = $1", [host.id, reason]);
    await audit(client, actor, "host.revoke", `host:${host.id}`, { reason });
    await client.query("COMMIT");
    return { id: host.id, name: host.name };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
