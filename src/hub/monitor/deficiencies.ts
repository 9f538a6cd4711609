// The fleet's deficiencies in PostgreSQL, moved as the host's store moves its own
// (src/store/deficiencies.ts): opened when a finding appears, updated when what it says changes
// (a wave joined by more hosts), resolved when it is gone or becomes another episode (a host that
// pushed and fell silent again). Each move writes an event routing has still to see, and a line
// in the hub's audit log, in the transaction that moves it. The ids are short and stable, as the
// host's: `d-` and eight base32 characters.
import { createHash } from "node:crypto";
import type { Deficiency } from "../../notifiers/contract.js";
import type { SystemFinding } from "../../notifiers/dispatch.js";
import { base32 } from "../../text/base32.js";
import { HUB_PROMISE_TYPE, type FleetFinding, type Queryable } from "./judge.js";

export const MONITOR_ACTOR = "hub:monitor";

export interface OpenDeficiency {
  id: string;
  key: string;
  kind: FleetFinding["kind"] | "system";
  body: Deficiency;
  detail: Record<string, unknown>;
}

export interface Moves {
  opened: string[];
  updated: string[];
  resolved: string[];
}

/** The open fleet deficiencies, locked for the transaction that moves them. */
export async function openDeficiencies(db: Queryable, lock = false): Promise<OpenDeficiency[]> {
  return (await db.query<OpenDeficiency>(`SELECT id, key, kind, body, detail FROM hub_fleet_deficiencies WHERE status = 'open' ORDER BY id${lock ? " FOR UPDATE" : ""}`)).rows;
}

/** What, changed, is told again: the outcome and the differences (a wave's hosts), not the wording around them. */
const materialOf = (d: Pick<Deficiency, "outcome" | "differences">): string => JSON.stringify([d.outcome, d.differences]);

/** Moves the deficiencies of the monitor's kinds to match `findings`; inside a transaction. */
export async function applyFindings(db: Queryable, findings: readonly FleetFinding[], now: Date): Promise<Moves> {
  const moves: Moves = { opened: [], updated: [], resolved: [] };
  const open = new Map((await openDeficiencies(db, true)).filter((d) => d.kind !== "system").map((d) => [d.key, d]));
  const wanted = new Map(findings.map((f) => [f.key, f]));
  for (const [key, d] of open) {
    const f = wanted.get(key);
    if (f && f.episode === d.detail["episode"]) {
      if (materialOf(f) !== materialOf(d.body) || f.reason !== d.body.reason) {
        const moved = await updateDeficiency(db, d, f, now, materialOf(f) !== materialOf(d.body));
        if (moved) moves.updated.push(d.id);
      }
      continue;
    }
    await resolveDeficiency(db, d, now);
    moves.resolved.push(d.id);
  }
  for (const f of findings) {
    const d = open.get(f.key);
    if (d && f.episode === d.detail["episode"]) continue;
    moves.opened.push(await openDeficiency(db, f, now));
  }
  return moves;
}

async function nextEvent(db: Queryable): Promise<number> {
  return Number((await db.query<{ seq: string }>("SELECT nextval(pg_get_serial_sequence('hub_notify_events', 'seq')) AS seq")).rows[0]!.seq);
}

async function writeEvent(db: Queryable, seq: number, id: string, event: "opened" | "updated" | "resolved", now: Date): Promise<void> {
  await db.query("INSERT INTO hub_notify_events (seq, deficiency, event, at) VALUES ($1, $2, $3, $4)", [seq, id, event, now]);
}

async function audit(db: Queryable, action: string, d: Deficiency): Promise<void> {
  await db.query("INSERT INTO hub_audit (actor, action, object, detail) VALUES ($1, $2, $3, $4)", [MONITOR_ACTOR, action, `deficiency:${d.id}`, { key: d.key, control: d.control.id, host: d.host, outcome: d.outcome, reason: d.reason }]);
}

/** A new id: another row's (a 40-bit clash) is never reused. */
async function newId(db: Queryable, key: string, at: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const id = `d-${base32(createHash("sha256").update(`hub\n${key}\n${at}${attempt ? `\n${attempt}` : ""}`).digest(), 8)}`;
    if ((await db.query("SELECT 1 FROM hub_fleet_deficiencies WHERE id = $1", [id])).rows.length === 0) return id;
  }
}

function deficiencyOf(f: Omit<FleetFinding, "episode" | "detail" | "kind" | "hostId" | "key"> & { key: string }, id: string, seq: number, at: string, file: string): Deficiency {
  return {
    id,
    key: f.key,
    notice: false,
    status: "open",
    outcome: f.outcome,
    host: f.host,
    control: f.control,
    promise: { type: HUB_PROMISE_TYPE, promiser: f.promiser, stakeholders: f.stakeholders, dependsOn: [], file, line: 0 },
    promised: f.promised,
    reason: f.reason,
    differences: f.differences,
    changes: [],
    openedAt: at,
    openedRun: 0,
    openedRecord: seq,
    lastRecord: seq,
    updatedAt: at,
    fleet: true,
  };
}

async function openDeficiency(db: Queryable, f: FleetFinding, now: Date): Promise<string> {
  const at = now.toISOString();
  const id = await newId(db, f.key, at);
  const seq = await nextEvent(db);
  const d = deficiencyOf(f, id, seq, at, "hub.yaml");
  await db.query("INSERT INTO hub_fleet_deficiencies (id, key, kind, status, host_id, body, detail, opened_at, updated_at) VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $7)", [id, f.key, f.kind, f.hostId, d, { ...f.detail, episode: f.episode }, now]);
  await writeEvent(db, seq, id, "opened", now);
  await audit(db, "fleet.deficiency.open", d);
  return id;
}

/** Rewrites what it says; a material change (told again) gets an event and a new record number. Returns whether one was written. */
async function updateDeficiency(db: Queryable, d: OpenDeficiency, f: FleetFinding, now: Date, material: boolean): Promise<boolean> {
  const seq = material ? await nextEvent(db) : d.body.lastRecord;
  const body: Deficiency = { ...d.body, outcome: f.outcome, reason: f.reason, differences: f.differences, promised: f.promised, lastRecord: seq, updatedAt: material ? now.toISOString() : d.body.updatedAt };
  await db.query("UPDATE hub_fleet_deficiencies SET body = $2, detail = $3, updated_at = $4 WHERE id = $1", [d.id, body, { ...f.detail, episode: f.episode }, now]);
  if (material) {
    await writeEvent(db, seq, d.id, "updated", now);
    await audit(db, "fleet.deficiency.update", body);
  }
  return material;
}

async function resolveDeficiency(db: Queryable, d: OpenDeficiency, now: Date, by: Deficiency["outcome"] = "kept"): Promise<void> {
  const seq = await nextEvent(db);
  const at = now.toISOString();
  const body: Deficiency = { ...d.body, status: "resolved", resolvedBy: by, resolvedAt: at, resolvedRun: 0, lastRecord: seq, updatedAt: at };
  await db.query("UPDATE hub_fleet_deficiencies SET status = 'resolved', body = $2, updated_at = $3, resolved_at = $3 WHERE id = $1", [d.id, body, now]);
  await writeEvent(db, seq, d.id, "resolved", now);
  await audit(db, "fleet.deficiency.resolve", body);
}

/**
 * A deficiency of Covenant's own (a channel that keeps failing: src/notifiers/channel-health.ts)
 * opened (error) or resolved (kept); inside a transaction.
 */
export async function recordSystemDeficiency(db: Queryable, key: string, finding: SystemFinding, outcome: "error" | "kept", reason: string, now: Date): Promise<void> {
  const open = (await db.query<OpenDeficiency>("SELECT id, key, kind, body, detail FROM hub_fleet_deficiencies WHERE status = 'open' AND key = $1 FOR UPDATE", [key])).rows[0];
  if (outcome === "kept") {
    if (open) await resolveDeficiency(db, open, now);
    return;
  }
  if (open) return;
  const at = now.toISOString();
  const id = await newId(db, key, at);
  const seq = await nextEvent(db);
  const d: Deficiency = {
    ...deficiencyOf({ key, host: finding.host, control: finding.control, promiser: finding.promiser, stakeholders: finding.promise.stakeholders, outcome: "error", promised: finding.promised, reason, differences: [] }, id, seq, at, finding.promise.file),
    promise: { type: finding.type, promiser: finding.promiser, ...finding.promise },
  };
  await db.query("INSERT INTO hub_fleet_deficiencies (id, key, kind, status, body, detail, opened_at, updated_at) VALUES ($1, $2, 'system', 'open', $3, '{}', $4, $4)", [id, key, d, now]);
  await writeEvent(db, seq, id, "opened", now);
  await audit(db, "fleet.deficiency.open", d);
}
