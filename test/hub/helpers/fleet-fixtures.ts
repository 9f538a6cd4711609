// Hosts, their change records (with the fleet state derived from them) and incidents written
// straight into a test hub's database, as the push path would have left them, so that the access tests can place objects in and out of a
// user's scope (host groups, controls of two owners) without pushing.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Pool } from "pg";

export interface FixtureHost {
  id: string;
  name: string;
  group: string | null;
}

/** The id of the open deficiency insertHost gives a host for a control (as the hub derives them: hub_deficiencies). */
export function fixtureDeficiencyId(hostId: string, control: string): string {
  return `d-${createHash("sha256").update(`${hostId}\n${control}`).digest("hex").slice(0, 10)}`;
}

/** A host in a group, with one change record for each control given (latest outcome `drift`), and its open deficiency. */
export async function insertHost(pool: Pool, name: string, group: string | null, controls: string[] = []): Promise<FixtureHost> {
  const id = randomUUID();
  await pool.query("INSERT INTO hub_hosts (id, name, public_key, fingerprint, host_group, last_chain) VALUES ($1, $2, $3, $4, $5, $6)", [id, name, randomBytes(32), `sha256:${randomBytes(16).toString("hex")}`, group, randomBytes(32)]);
  let seq = 0;
  for (const control of controls) {
    seq++;
    const time = new Date().toISOString();
    const line = JSON.stringify({ seq, kind: "change", run: 1, time, body: { key: `${control}/file/srv-${seq}`, control, type: "file", promiser: `/srv/${seq}`, from: null, to: "drift", reason: "mode", differences: [], changes: [], findings: [{ path: `/srv/${seq}`, kinds: ["mode"], changes: ["mode 0640 → 0666"] }] }, mac: "00" });
    await pool.query("INSERT INTO hub_records (host_id, epoch, seq, kind, run, host_time, received_at, chain, line) VALUES ($1, 0, $2, 'change', 1, $3, now(), $4, $5)", [id, seq, time, randomBytes(32), line]);
    // what the push would have derived from it (server/derive.ts, server/decisions.ts)
    await pool.query("INSERT INTO hub_changes (host_id, seq, key, control, from_outcome, to_outcome, host_time, received_at, reason) VALUES ($1, $2, $3, $4, NULL, 'drift', $5, now(), 'mode')", [id, seq, `${control}/file/srv-${seq}`, control, time]);
    await pool.query("INSERT INTO hub_promise_state (host_id, key, control, type, promiser, outcome, since, seq, reason) VALUES ($1, $2, $3, 'file', $4, 'drift', $5, $6, 'mode')", [id, `${control}/file/srv-${seq}`, control, `/srv/${seq}`, time, seq]);
    await pool.query("INSERT INTO hub_deficiencies (host_id, id, key, control, type, promiser, outcome, opened_seq, opened_at) VALUES ($1, $2, $3, $4, 'file', $5, 'drift', $6, $7)", [id, fixtureDeficiencyId(id, control), `${control}/file/srv-${seq}`, control, `/srv/${seq}`, seq, time]);
  }
  if (seq) await pool.query("UPDATE hub_hosts SET last_seq = $2, records = $2, last_push_at = now() WHERE id = $1", [id, seq]);
  return { id, name, group };
}

export async function insertIncident(pool: Pool, hostId: string, message: string, kind = "fork"): Promise<number> {
  const r = await pool.query<{ id: string }>("INSERT INTO hub_incidents (host_id, kind, epoch, seq, message) VALUES ($1, $2, 0, 1, $3) RETURNING id", [hostId, kind, message]);
  return Number(r.rows[0]!.id);
}

export async function setOwner(pool: Pool, control: string, owner: string): Promise<void> {
  await pool.query("INSERT INTO hub_control_owners (control, owner, set_by) VALUES ($1, $2, 'test') ON CONFLICT (control) DO UPDATE SET owner = EXCLUDED.owner", [control, owner]);
}
