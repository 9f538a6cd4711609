// One host as the dashboard's page and GET /api/hosts/:host both show it, from the one function
// here: its enrolment and chain, its clock, its open and recent incidents, the policy it runs
// (the content, the published version it matches, since when, whether it is the one in force
// for its group), its last run (the last report it sent: counts per outcome), and its controls:
// each promise's current outcome (hub_promise_state), grouped by control with the catalogue's
// title. Held to the viewer's reach: a control owner sees every host but only its controls.
import type { Pool } from "pg";
import { controlVisible, hostFullyVisible, type Access } from "../../auth/access.js";
import { worst, type Outcome } from "../../../evaluator/outcomes.js";

export interface HostPromise {
  key: string;
  control: string;
  type: string;
  promiser: string;
  outcome: Outcome;
  since: string;
  reason: string;
  seq: number;
  /** kept from the first version of this route: the same as `since` */
  hostTime: string;
}

export interface HostControl {
  control: string;
  title: string | null;
  owner: string | null;
  severity: string | null;
  /** the worst outcome of its promises on this host */
  verdict: Outcome;
  promises: HostPromise[];
}

export interface HostView {
  host: {
    id: string;
    name: string;
    group: string | null;
    fingerprint: string;
    enrolledAt: Date;
    revokedAt: Date | null;
    revokedReason: string | null;
    lastSeq: number;
    /** the hub's receive time of the last push, and the host's clock when it sent it */
    lastPushAt: Date | null;
    lastSentAt: string | null;
    clockSkewMs: number | null;
    chainStatus: string;
  };
  /** every promise, flat (kept from the first version of this route) */
  controls: HostPromise[];
  byControl: HostControl[];
  /** whether only the viewer's controls are shown (a control owner) */
  partial: boolean;
  /** the host's chain and clock incidents, open first then the latest; none for a viewer who sees only some controls (incidents are read by those who run the host) */
  incidents: { id: number; kind: string; message: string; openedAt: Date; lastSeenAt: Date; seen: number; resolvedAt: Date | null; resolvedBy: string | null }[];
  policy: {
    hash: string | null;
    content: string | null;
    since: string | null;
    /** the newest published version with this content */
    version: { id: number; status: string; author: string; message: string; decidedBy: string | null; decidedAt: Date | null } | null;
    /** the version the host fetches: in force for its group, else for every host (forGroup '') */
    inForce: { id: number; content: string; since: Date; forGroup: string } | null;
    runsInForce: boolean | null;
  };
  /** the last run; its promises and counts (every control's) only for a viewer who sees the whole host */
  lastRun: { seq: number; finished: string; kind: string; promises: number | null; counts: Record<string, number> } | null;
}

const RECENT_INCIDENTS = 10;

async function promisesOf(pool: Pool, id: string, group: string | null, access: Access): Promise<{ flat: HostPromise[]; partial: boolean; catalogue: Map<string, { title: string | null; owner: string | null; severity: string | null }> }> {
  const r = await pool.query<Omit<HostPromise, "seq"> & { seq: string; title: string | null; owner: string | null; severity: string | null }>(
    `SELECT s.key, s.control, s.type, s.promiser, s.outcome, s.since, s.reason, s.seq, s.since AS "hostTime", c.title, coalesce(o.owner, c.owner) AS owner, c.severity
     FROM hub_promise_state s LEFT JOIN hub_controls c ON c.control = s.control LEFT JOIN hub_control_owners o ON o.control = s.control
     WHERE s.host_id = $1 ORDER BY s.control, s.key`,
    [id],
  );
  const full = hostFullyVisible(access, group);
  const catalogue = new Map<string, { title: string | null; owner: string | null; severity: string | null }>();
  const flat: HostPromise[] = [];
  for (const { title, owner, severity, seq, ...p } of r.rows) {
    if (!full && !controlVisible(access, p.control, owner)) continue;
    catalogue.set(p.control, { title, owner, severity });
    flat.push({ ...p, seq: Number(seq) });
  }
  return { flat, partial: !full, catalogue };
}

async function policyOf(pool: Pool, group: string | null, row: { policy_hash: string | null; policy_content: string | null; policy_since: string | null }): Promise<HostView["policy"]> {
  const v = row.policy_content
    ? (await pool.query<{ id: string; status: string; author: string; message: string; decided_by: string | null; decided_at: Date | null }>(
        "SELECT id, status, author, message, decided_by, decided_at FROM hub_policy_versions WHERE content = $1 AND status <> 'rejected' ORDER BY status = 'approved' DESC, id DESC LIMIT 1",
        [row.policy_content],
      )).rows[0]
    : undefined;
  // as the host fetches it (policy/versions.ts policyForHost): its group's version, else the one for every host
  const f = (await pool.query<{ id: string; content: string; since: Date; host_group: string }>(
    "SELECT v.id, v.content, c.since, c.host_group FROM hub_policy_current c JOIN hub_policy_versions v ON v.id = c.version_id WHERE c.host_group = $1 OR c.host_group = '' ORDER BY (c.host_group = '') LIMIT 1",
    [group ?? ""],
  )).rows[0];
  return {
    hash: row.policy_hash,
    content: row.policy_content,
    since: row.policy_since,
    version: v ? { id: Number(v.id), status: v.status, author: v.author, message: v.message, decidedBy: v.decided_by, decidedAt: v.decided_at } : null,
    inForce: f ? { id: Number(f.id), content: f.content, since: f.since, forGroup: f.host_group } : null,
    runsInForce: f && row.policy_content ? f.content === row.policy_content : null,
  };
}

/** The host's view; the host exists (the route's target check found it in reach). */
export async function hostView(pool: Pool, id: string, access: Access): Promise<HostView> {
  const r = await pool.query(
    `SELECT id, name, host_group, fingerprint, enrolled_at, revoked_at, revoked_reason, last_seq::int, last_push_at, last_sent_at, clock_skew_ms::int, chain_status,
       policy_hash, policy_content, policy_since, last_run_seq, last_run_finished, last_run_kind, promises, counts
     FROM hub_hosts WHERE id = $1`,
    [id],
  );
  const h = r.rows[0]!;
  const group = h.host_group as string | null;
  const { flat, partial, catalogue } = await promisesOf(pool, id, group, access);
  const byControl = new Map<string, HostControl>();
  for (const p of flat) {
    const c = byControl.get(p.control) ?? { control: p.control, ...catalogue.get(p.control)!, verdict: p.outcome, promises: [] };
    c.promises.push(p);
    c.verdict = worst(c.promises.map((x) => x.outcome));
    byControl.set(p.control, c);
  }
  const incidents = await pool.query(
    `SELECT id::int, kind, message, opened_at AS "openedAt", last_seen_at AS "lastSeenAt", seen, resolved_at AS "resolvedAt", resolved_by AS "resolvedBy"
     FROM hub_incidents WHERE host_id = $1 ORDER BY resolved_at IS NOT NULL, opened_at DESC, id DESC LIMIT ${RECENT_INCIDENTS}`,
    [id],
  );
  return {
    host: { id: h.id, name: h.name, group, fingerprint: h.fingerprint, enrolledAt: h.enrolled_at, revokedAt: h.revoked_at, revokedReason: h.revoked_reason, lastSeq: h.last_seq, lastPushAt: h.last_push_at, lastSentAt: h.last_sent_at, clockSkewMs: h.clock_skew_ms, chainStatus: h.chain_status },
    controls: flat,
    byControl: [...byControl.values()],
    partial,
    incidents: partial ? [] : incidents.rows,
    policy: await policyOf(pool, group, h),
    // the run's figures count every control's promises: a viewer who sees only some controls gets when and which run, not them
    lastRun: h.last_run_seq === null ? null : { seq: Number(h.last_run_seq), finished: h.last_run_finished, kind: h.last_run_kind, promises: partial ? null : h.promises, counts: partial ? {} : (h.counts ?? {}) },
  };
}
