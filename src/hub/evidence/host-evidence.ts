// One host's part of the fleet report: its evidence report built from the records it pushed
// (report/report-build.ts's pass, fed from hub_records rather than a store), the hub's verdict on
// its chain over them, the period's incidents, and the hub's receive time beside the host's clock.
import { createHash } from "node:crypto";
import type { Pool } from "pg";
import { hubChainStart } from "../../store/hub-chain.js";
import type { Period } from "../../facts/period.js";
import { reportPass, type ReportSource } from "../../report/report-build.js";
import type { EvidenceReport } from "../../report/report-model.js";
import type { PolicyFile } from "../../store/store.js";
import { deficiencyId } from "../../store/deficiencies.js";
import type { FleetHost, HostIncident, OffRecord } from "./fleet-model.js";
import { HeldChain, heldRecords, type HeldRecord } from "./held-records.js";

/** The most records listed of each kind of clock flag (the count says how many there were). */
export const MAX_OFF_LISTED = 200;

export interface HostRow {
  id: string;
  name: string;
  host_group: string | null;
  enrolled_at: Date;
  revoked_at: Date | null;
  epoch: number;
  chain_status: string;
  clock_skew_ms: string | null;
  /** the id the host makes its deficiency ids with, as its pushes said (null before any push said it) */
  deficiency_key: string | null;
}

export interface HostEvidenceOptions {
  period: Period;
  controls: readonly string[];
  toleranceMs: number;
  generator: string;
  now: Date;
}

/**
 * The policy versions and deficiency ids a report needs, from what the host pushed: each `policy`
 * record's body holds a version's files as the host stored them. A deficiency's id is the host's
 * own, made from the key id its pushes say (an HMAC of a label under its host key, never the key),
 * so that an episode here, the host's messages and the acknowledgements given on the hub all name
 * it alike; for a host that never said it (older hosts), ids of the hub's own ("h-").
 */
class PushedSource implements ReportSource {
  readonly versions = new Map<string, { record: number; files: PolicyFile[] }>();

  constructor(
    private readonly hostId: string,
    private readonly deficiencyKey: string | null,
  ) {}

  take(seq: number, body: Record<string, unknown>): void {
    if (typeof body["hash"] === "string" && Array.isArray(body["files"]) && !this.versions.has(body["hash"])) this.versions.set(body["hash"], { record: seq, files: body["files"] as PolicyFile[] });
  }

  deficiencyIdOf(promiseKey: string, run: number, record: number): string {
    if (this.deficiencyKey !== null) return deficiencyId(this.deficiencyKey, promiseKey, run, record);
    return "h-" + createHash("sha256").update(`${this.hostId}\n${promiseKey}\n${run}\n${record}`).digest("hex").slice(0, 13);
  }

  policyVersion(hash: string): { record: number; files: PolicyFile[] } | undefined {
    return this.versions.get(hash);
  }
}

/** Records farther from their receive time than the tolerance, ahead or behind: counted, the first listed. */
class OffClock {
  readonly ahead = { count: 0, worstMs: null as number | null, list: [] as OffRecord[] };
  readonly behind = { count: 0, worstMs: null as number | null, list: [] as OffRecord[] };

  constructor(private readonly toleranceMs: number) {}

  record(h: HeldRecord): void {
    const hostMs = Date.parse(h.time);
    if (Number.isNaN(hostMs)) return;
    const delta = hostMs - h.receivedAt.getTime();
    if (Math.abs(delta) <= this.toleranceMs) return;
    const side = delta > 0 ? this.ahead : this.behind;
    side.count++;
    if (side.worstMs === null || Math.abs(delta) > Math.abs(side.worstMs)) side.worstMs = delta;
    if (side.list.length < MAX_OFF_LISTED) side.list.push({ record: h.seq, hostTime: h.time, receivedAt: h.receivedAt.toISOString(), deltaMs: delta });
  }
}

export async function hostEvidence(pool: Pool, host: HostRow, o: HostEvidenceOptions): Promise<FleetHost> {
  const source = new PushedSource(host.id, host.deficiency_key);
  const pass = reportPass(source, { period: o.period, controls: o.controls, generator: o.generator, now: o.now, chainCheck: "hub-chain" });
  const chain = new HeldChain(hubChainStart(host.id));
  const off = new OffClock(o.toleranceMs);
  let last: { seq: number; mac: string } | undefined;
  let first: number | null = null;
  let lastInPeriod: number | null = null;
  let records = 0;
  for await (const h of heldRecords(pool, host.id, host.epoch)) {
    const r = chain.scanned(h);
    if (r.kind === "policy" && r.verified && r.body) source.take(r.seq, r.body);
    pass.visit(r);
    last = { seq: r.seq, mac: r.mac ? r.mac.toString("hex") : "" };
    const ms = Date.parse(h.time);
    if (ms >= o.period.startMs && ms < o.period.endMs) {
      off.record(h);
      first ??= h.seq;
      lastInPeriod = h.seq;
      records++;
    }
  }
  const report = pass.finish({ ...(last ? { last, storeHead: last } : {}) });
  const problem = chain.firstProblem;
  return {
    id: host.id,
    name: host.name,
    group: host.host_group,
    enrolledAt: host.enrolled_at.toISOString(),
    revokedAt: host.revoked_at?.toISOString() ?? null,
    chain: { status: host.chain_status, epoch: host.epoch, verdict: problem ? "broken" : "intact", ...(problem ? { problem } : {}), records, first, last: lastInPeriod, incidents: await incidentsOf(pool, host.id, o.period) },
    clock: { lastPushSkewMs: host.clock_skew_ms === null ? null : Number(host.clock_skew_ms), ahead: off.ahead, behind: off.behind },
    received: await receivedOf(pool, host, recordsNamed(report)),
    report,
  };
}

/** The incidents of a host open at some time during the period, of every epoch. */
async function incidentsOf(pool: Pool, hostId: string, period: Period): Promise<HostIncident[]> {
  const rows = await pool.query<{ id: string; kind: string; epoch: number; seq: string | null; opened_at: Date; last_seen_at: Date; resolved_at: Date | null; resolved_by: string | null; message: string }>(
    "SELECT id, kind, epoch, seq, opened_at, last_seen_at, resolved_at, resolved_by, message FROM hub_incidents WHERE host_id = $1 AND opened_at < $3 AND (resolved_at IS NULL OR resolved_at >= $2) ORDER BY opened_at, id LIMIT 1000",
    [hostId, new Date(period.startMs), new Date(period.endMs)],
  );
  return rows.rows.map((r) => ({ id: Number(r.id), kind: r.kind, epoch: r.epoch, seq: r.seq === null ? null : Number(r.seq), openedAt: r.opened_at.toISOString(), lastSeenAt: r.last_seen_at.toISOString(), resolvedAt: r.resolved_at?.toISOString() ?? null, resolvedBy: r.resolved_by, message: r.message }));
}

/** Every record number the report shows a time of. */
export function recordsNamed(report: EvidenceReport): number[] {
  const seqs = new Set<number>();
  const add = (n: number | undefined | null) => {
    if (typeof n === "number" && n > 0) seqs.add(n);
  };
  for (const c of report.controls) {
    const op = c.operation;
    for (const e of op.episodes) {
      add(e.openedRecord);
      add(e.resolvedRecord);
      add(e.ack?.record);
      for (const t of e.told) add(t.record);
    }
    for (const r of op.repairs) add(r.record);
    for (const a of op.integrity.approved) add(a.record);
    for (const u of op.integrity.unapproved) add(u.record);
  }
  for (const a of [...report.clock.backwardSteps, ...report.clock.jumps]) {
    add(a.record);
    add(a.previousRecord);
  }
  for (const v of report.policyVersions) add(v.record);
  add(report.integrity.firstRecord);
  add(report.integrity.lastRecord);
  return [...seqs].sort((a, b) => a - b);
}

async function receivedOf(pool: Pool, host: HostRow, seqs: readonly number[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (let i = 0; i < seqs.length; i += 5_000) {
    const rows = await pool.query<{ seq: string; received_at: Date }>("SELECT seq, received_at FROM hub_records WHERE host_id = $1 AND epoch = $2 AND seq = ANY($3::bigint[])", [host.id, host.epoch, seqs.slice(i, i + 5_000)]);
    for (const r of rows.rows) out[r.seq] = r.received_at.toISOString();
  }
  return out;
}
