// Hosts, incidents and controls as people see them, each query filtered by the user's reach
// (auth/access.ts): operations only the host groups granted, a control owner every host but only
// its controls' data, or only its controls. The controls are those the hosts' change records name
// (the latest outcome per promise), read from hub_records until the derived fleet state holds them.
import type { Pool } from "pg";
import { accessParams, controlVisible, hostFullyVisible, type Access } from "../../auth/access.js";
import { AccessInputError, inTransaction } from "../../auth/users.js";
import { revokeHost } from "../../admin.js";
import { audit } from "../audit.js";
import { controlOwner } from "./targets.js";
import type { Answer, Call, Handler } from "./registry.js";

/** `?page=` and `?size=` (at most 500 a page). */
export function paging(query: Record<string, string>): { limit: number; offset: number; page: number } {
  const page = Math.max(1, Math.min(1_000_000, Number.parseInt(query["page"] ?? "1", 10) || 1));
  const limit = Math.max(1, Math.min(500, Number.parseInt(query["size"] ?? "100", 10) || 100));
  return { limit, offset: (page - 1) * limit, page };
}

export function reasonOf(call: Call): string {
  const reason = call.body["reason"];
  if (typeof reason !== "string" || reason.trim() === "" || reason.length > 500) throw new AccessInputError("give a reason (kept in the hub's audit log)");
  return reason;
}

async function hostsList(call: Call): Promise<Answer> {
  const [allHosts, groups] = accessParams(call.access!);
  const { limit, offset, page } = paging(call.query);
  const rows = await call.deps.pool.query(
    `SELECT id, name, host_group AS "group", enrolled_at AS "enrolledAt", revoked_at AS "revokedAt", last_seq::int AS "lastSeq", last_push_at AS "lastPushAt", chain_status AS "chainStatus"
     FROM hub_hosts WHERE $1 OR host_group = ANY($2::text[]) ORDER BY name, id LIMIT $3 OFFSET $4`,
    [allHosts, groups, limit, offset],
  );
  return { status: 200, body: { page, size: limit, hosts: rows.rows } };
}

async function owners(pool: Pool): Promise<Map<string, string>> {
  const r = await pool.query<{ control: string; owner: string }>("SELECT control, owner FROM hub_control_owners");
  return new Map(r.rows.map((o) => [o.control, o.owner]));
}

/** The latest outcome of each promise a host reported, in its current chain, with only the controls the user reaches. */
async function hostControls(pool: Pool, hostId: string, group: string | null, access: Access): Promise<unknown[]> {
  const rows = await pool.query<{ key: string; control: string; outcome: string; hostTime: string; seq: string }>(
    `SELECT DISTINCT ON (key) key, control, outcome, host_time AS "hostTime", seq FROM (
       SELECT hub_change_field(r.line, 'key') AS key, hub_change_field(r.line, 'control') AS control, hub_change_field(r.line, 'to') AS outcome, r.host_time, r.seq
       FROM hub_records r JOIN hub_hosts h ON h.id = r.host_id AND h.epoch = r.epoch WHERE r.host_id = $1 AND r.kind = 'change') c
     WHERE key IS NOT NULL AND control IS NOT NULL ORDER BY key, seq DESC`,
    [hostId],
  );
  const full = hostFullyVisible(access, group);
  const ownerOf = full ? new Map<string, string>() : await owners(pool);
  return rows.rows.filter((r) => full || controlVisible(access, r.control, ownerOf.get(r.control) ?? null)).map((r) => ({ key: r.key, control: r.control, outcome: r.outcome, hostTime: r.hostTime, seq: Number(r.seq) }));
}

async function hostsShow(call: Call): Promise<Answer> {
  const id = call.params["host"]!;
  const r = await call.deps.pool.query<{ host_group: string | null }>(
    `SELECT id, name, host_group, fingerprint, enrolled_at AS "enrolledAt", revoked_at AS "revokedAt", revoked_reason AS "revokedReason", last_seq::int AS "lastSeq",
       last_push_at AS "lastPushAt", clock_skew_ms::int AS "clockSkewMs", chain_status AS "chainStatus" FROM hub_hosts WHERE id = $1`,
    [id],
  );
  const host = r.rows[0]!;
  const { host_group: group, ...rest } = host;
  return { status: 200, body: { host: { ...rest, group }, controls: await hostControls(call.deps.pool, id, group, call.access!) } };
}

async function hostsRevoke(call: Call): Promise<Answer> {
  const out = await revokeHost(call.deps.pool, call.params["host"]!, reasonOf(call), call.principal!.name);
  if ("problem" in out) throw new AccessInputError(out.problem, 409);
  return { status: 200, body: { status: "ok", host: out.id } };
}

async function incidentsList(call: Call): Promise<Answer> {
  const [allHosts, groups] = accessParams(call.access!);
  const { limit, offset, page } = paging(call.query);
  const rows = await call.deps.pool.query(
    `SELECT i.id::int AS id, i.host_id AS host, h.name AS "hostName", h.host_group AS "group", i.kind, i.message, i.opened_at AS "openedAt", i.last_seen_at AS "lastSeenAt",
       i.seen, i.resolved_at AS "resolvedAt", i.resolved_by AS "resolvedBy"
     FROM hub_incidents i JOIN hub_hosts h ON h.id = i.host_id WHERE $1 OR h.host_group = ANY($2::text[])
     ORDER BY i.resolved_at IS NOT NULL, i.opened_at DESC, i.id DESC LIMIT $3 OFFSET $4`,
    [allHosts, groups, limit, offset],
  );
  return { status: 200, body: { page, size: limit, incidents: rows.rows } };
}

async function incidentsResolve(call: Call): Promise<Answer> {
  await resolveIncident(call.deps.pool, call.params["incident"]!, call.principal!.name, reasonOf(call));
  return { status: 200, body: { status: "ok" } };
}

/** Marks an incident resolved with why, audited (the API's route and the incidents page's form). */
export async function resolveIncident(pool: Pool, id: string, actor: string, reason: string): Promise<void> {
  await inTransaction(pool, async (c) => {
    const r = await c.query("UPDATE hub_incidents SET resolved_at = now(), resolved_by = $2 WHERE id = $1 AND resolved_at IS NULL", [id, actor]);
    if (!r.rowCount) throw new AccessInputError("the incident is resolved already", 409);
    await audit(c, actor, "incident.resolve", `incident:${id}`, { reason });
  });
}

async function controlsList(call: Call): Promise<Answer> {
  const [, , allControls, ids, ownerNames] = accessParams(call.access!);
  const { limit, offset, page } = paging(call.query);
  const rows = await call.deps.pool.query(
    `WITH seen AS (
       SELECT control, count(DISTINCT host_id)::int AS hosts FROM (SELECT host_id, hub_change_field(line, 'control') AS control FROM hub_records WHERE kind = 'change') r
       WHERE control IS NOT NULL GROUP BY control),
     every AS (SELECT control FROM seen UNION SELECT control FROM hub_control_owners)
     SELECT e.control, o.owner, coalesce(s.hosts, 0) AS hosts FROM every e LEFT JOIN seen s USING (control) LEFT JOIN hub_control_owners o USING (control)
     WHERE $1 OR e.control = ANY($2::text[]) OR o.owner = ANY($3::text[]) ORDER BY e.control LIMIT $4 OFFSET $5`,
    [allControls, ids, ownerNames, limit, offset],
  );
  return { status: 200, body: { page, size: limit, controls: rows.rows } };
}

async function controlsShow(call: Call): Promise<Answer> {
  const control = call.params["control"]!;
  const pool = call.deps.pool;
  const rows = await pool.query<{ host: string; hostName: string; key: string; outcome: string; hostTime: string }>(
    `SELECT DISTINCT ON (c.host_id, c.key) c.host_id AS host, h.name AS "hostName", h.host_group AS "group", c.key, c.outcome, c.host_time AS "hostTime" FROM (
       SELECT r.host_id, r.epoch, r.seq, r.host_time, hub_change_field(r.line, 'key') AS key, hub_change_field(r.line, 'to') AS outcome
       FROM hub_records r WHERE r.kind = 'change' AND hub_change_field(r.line, 'control') = $1) c
     JOIN hub_hosts h ON h.id = c.host_id AND h.epoch = c.epoch
     WHERE c.key IS NOT NULL ORDER BY c.host_id, c.key, c.seq DESC`,
    [control],
  );
  const owner = await controlOwner(pool, control);
  if (rows.rows.length === 0 && owner === null) return { status: 404, body: { status: "error", message: "not found" } };
  return { status: 200, body: { control, owner, outcomes: rows.rows } };
}

async function controlsSetOwner(call: Call): Promise<Answer> {
  const owner = call.body["owner"];
  if (typeof owner !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/.test(owner)) throw new AccessInputError("owner is an owner's name (letters, digits, '.', '_', '@', '-')");
  const control = call.params["control"]!;
  const actor = call.principal!.name;
  await inTransaction(call.deps.pool, async (c) => {
    const before = await c.query<{ owner: string }>("SELECT owner FROM hub_control_owners WHERE control = $1 FOR UPDATE", [control]);
    await c.query(
      "INSERT INTO hub_control_owners (control, owner, set_by) VALUES ($1, $2, $3) ON CONFLICT (control) DO UPDATE SET owner = EXCLUDED.owner, set_by = EXCLUDED.set_by, set_at = now()",
      [control, owner, actor],
    );
    await audit(c, actor, "control.set-owner", `control:${control}`, { owner, was: before.rows[0]?.owner ?? null });
  });
  return { status: 200, body: { status: "ok", control, owner } };
}

export const fleetHandlers: Record<string, Handler> = {
  "hosts.list": hostsList,
  "hosts.show": hostsShow,
  "hosts.revoke": hostsRevoke,
  "incidents.list": incidentsList,
  "incidents.resolve": incidentsResolve,
  "controls.list": controlsList,
  "controls.show": controlsShow,
  "controls.set-owner": controlsSetOwner,
};
