// Hosts, incidents and controls as people see them, each query filtered by the user's reach
// (auth/access.ts): operations only the host groups granted, a control owner every host but only
// its controls' data, or only its controls. One host, one control and the controls' list are the
// views in ../views/, which the dashboard's pages show too (page-routes.ts), so the two agree.
import type { Pool } from "pg";
import { accessParams } from "../../auth/access.js";
import { AccessInputError, inTransaction } from "../../auth/users.js";
import { revokeHost } from "../../admin.js";
import { audit } from "../audit.js";
import { controlView } from "../views/control-view.js";
import { controlsList, filtersOf } from "../views/controls-list.js";
import { hostView } from "../views/host-view.js";
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

async function hostsShow(call: Call): Promise<Answer> {
  return { status: 200, body: await hostView(call.deps.pool, call.params["host"]!, call.access!) };
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

async function controlsListed(call: Call): Promise<Answer> {
  const { limit, offset, page } = paging(call.query);
  const { total, controls } = await controlsList(call.deps.pool, call.access!, filtersOf(call.query), { limit, offset });
  return { status: 200, body: { page, size: limit, total, controls } };
}

async function controlsShow(call: Call): Promise<Answer> {
  const view = await controlView(call.deps.pool, call.params["control"]!, call.query, paging(call.query), call.deps.now());
  if (!view) return { status: 404, body: { status: "error", message: "not found" } };
  return { status: 200, body: view };
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
  "controls.list": controlsListed,
  "controls.show": controlsShow,
  "controls.set-owner": controlsSetOwner,
};
