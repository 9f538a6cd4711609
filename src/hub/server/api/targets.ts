// The one object a route names (a host, an incident, a control, a user, a token, a grant),
// looked up and held to the user's reach before the handler runs. Missing and out of reach are
// the same answer (404), so that a scoped user learns nothing of what lies outside the scope.
import type { Pool } from "pg";
import { controlVisible, hostFullyVisible, hostVisible, type Access, type Principal } from "../../auth/access.js";
import type { RouteRule } from "../../auth/rules.js";
import { isHostId } from "../../protocol.js";
import { USER_NAME } from "../../auth/users.js";

export const CONTROL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const NUMBER = /^[1-9][0-9]{0,17}$/;

async function hostGroup(pool: Pool, id: string): Promise<{ group: string | null } | undefined> {
  if (!isHostId(id)) return undefined;
  const r = await pool.query<{ host_group: string | null }>("SELECT host_group FROM hub_hosts WHERE id = $1", [id]);
  return r.rows[0] ? { group: r.rows[0].host_group } : undefined;
}

/** A control's owner: the one an administrator set on the hub, else the one its policy names (the catalogue). */
export async function controlOwner(pool: Pool, control: string): Promise<string | null> {
  const r = await pool.query<{ owner: string | null }>("SELECT coalesce((SELECT owner FROM hub_control_owners WHERE control = $1), (SELECT owner FROM hub_controls WHERE control = $1)) AS owner", [control]);
  return r.rows[0]?.owner ?? null;
}

export async function targetVisible(pool: Pool, kind: NonNullable<RouteRule["target"]>["kind"], value: string, principal: Principal, access: Access): Promise<boolean> {
  switch (kind) {
    case "host": {
      const h = await hostGroup(pool, value);
      return h !== undefined && hostVisible(access, h.group);
    }
    case "incident": {
      if (!NUMBER.test(value)) return false;
      const r = await pool.query<{ host_group: string | null }>("SELECT h.host_group FROM hub_incidents i JOIN hub_hosts h ON h.id = i.host_id WHERE i.id = $1", [value]);
      return r.rows.length === 1 && hostVisible(access, r.rows[0]!.host_group);
    }
    case "control":
      // a control exists for the hub once a host reported it or an owner was set; the read says which (controls.show)
      return CONTROL_ID.test(value) && controlVisible(access, value, await controlOwner(pool, value));
    case "user": {
      if (!USER_NAME.test(value)) return false;
      const r = await pool.query("SELECT 1 FROM hub_users WHERE name = $1", [value]);
      return r.rowCount === 1 && !access.selfOnly;
    }
    case "grant":
      return NUMBER.test(value) && !access.selfOnly;
    case "policy": {
      if (!NUMBER.test(value)) return false;
      return (await pool.query("SELECT 1 FROM hub_policy_versions WHERE id = $1", [value])).rowCount === 1;
    }
    case "decision": {
      if (!NUMBER.test(value)) return false;
      const r = await pool.query<{ host_group: string | null; control: string }>("SELECT h.host_group, d.control FROM hub_decisions d JOIN hub_hosts h ON h.id = d.host_id WHERE d.id = $1", [value]);
      const d = r.rows[0];
      if (!d || !hostVisible(access, d.host_group)) return false;
      return hostFullyVisible(access, d.host_group) || controlVisible(access, d.control, await controlOwner(pool, d.control));
    }
    case "token": {
      if (!NUMBER.test(value)) return false;
      const r = await pool.query<{ user_id: string }>("SELECT user_id FROM hub_api_tokens WHERE id = $1", [value]);
      return r.rows.length === 1 && Number(r.rows[0]!.user_id) === principal.userId;
    }
  }
}
