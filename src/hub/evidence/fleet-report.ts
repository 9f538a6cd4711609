// Builds the fleet report (fleet-model.ts): the hosts of the fleet or of one host group, each
// host's evidence from the records it pushed (host-evidence.ts, one host at a time, so memory is
// one host's), then each control across the hosts that ran it, and the fleet's totals.
import type { Pool } from "pg";
import type { Period } from "../../facts/period.js";
import { remediationOf } from "../../report/report-build.js";
import type { ControlDesign, ControlReport, EvidenceReport } from "../../report/report-model.js";
import { FLEET_REPORT_FORMAT, type FleetControl, type FleetHost, type FleetReport } from "./fleet-model.js";
import { hostEvidence, type HostRow } from "./host-evidence.js";

export interface FleetReportOptions {
  period: Period;
  /** the host group (every host when absent) */
  group?: string;
  /** only these controls (every one of the period when empty) */
  controls: readonly string[];
  toleranceMs: number;
  hubFingerprint: string;
  generator: string;
  now?: Date;
}

/** A usage error: a group no host is in, a control no host's period knows. */
export class FleetReportError extends Error {}

/** The hosts reported: enrolled before the period's end, of the group when one is asked. */
export async function reportedHosts(pool: Pool, period: Period, group: string | undefined): Promise<HostRow[]> {
  const rows = await pool.query<HostRow>(
    "SELECT id, name, host_group, enrolled_at, revoked_at, epoch, chain_status, clock_skew_ms, deficiency_key FROM hub_hosts WHERE enrolled_at < $1 AND ($2::text IS NULL OR host_group = $2) ORDER BY name, id",
    [new Date(period.endMs), group ?? null],
  );
  return rows.rows;
}

export async function buildFleetReport(pool: Pool, o: FleetReportOptions): Promise<FleetReport> {
  const now = o.now ?? new Date();
  const rows = await reportedHosts(pool, o.period, o.group);
  if (rows.length === 0) throw new FleetReportError(o.group !== undefined ? `no host enrolled before the period's end is in the group ${JSON.stringify(o.group)}` : "no host was enrolled before the period's end");
  const hosts: FleetHost[] = [];
  for (const row of rows) hosts.push(await hostEvidence(pool, row, { period: o.period, controls: [], toleranceMs: o.toleranceMs, generator: o.generator, now }));
  if (o.controls.length > 0) {
    const known = new Set(hosts.flatMap((h) => h.report.controls.map((c) => c.id)));
    const unknown = o.controls.filter((id) => !known.has(id));
    if (unknown.length > 0) throw new FleetReportError(`no host reported the control${unknown.length === 1 ? "" : "s"} ${unknown.join(", ")} in the period`);
    const wanted = new Set(o.controls);
    for (const h of hosts) h.report = onlyControls(h.report, wanted);
  }
  const controls = fleetControls(hosts);
  return {
    format: FLEET_REPORT_FORMAT,
    hub: { fingerprint: o.hubFingerprint },
    generatedAt: now.toISOString(),
    generator: o.generator,
    period: hosts[0]!.report.period,
    scope: { group: o.group ?? null, controls: [...o.controls] },
    clock: { source: "host, with the hub's receive time", toleranceMs: o.toleranceMs },
    summary: summaryOf(hosts, controls),
    controls,
    hosts,
    notes: [
      "every time is the host's clock as its record says; the hub's receive time is shown beside it, and records farther from it than the tolerance are flagged",
      "deficiency ids are the host's own (d-…), made from the key id its pushes say; a host that never said it gets ids of the hub's (h-…) for the same episodes",
    ],
  };
}

/** A host's report reduced to the controls asked for (the report's figures are per control; its summary is made again over them). */
function onlyControls(r: EvidenceReport, wanted: ReadonlySet<string>): EvidenceReport {
  const controls = r.controls.filter((c) => wanted.has(c.id));
  const evaluations = controls.reduce((n, c) => n + c.operation.evaluations, 0);
  const kept = controls.reduce((n, c) => n + c.operation.kept, 0);
  return {
    ...r,
    controls,
    summary: {
      ...r.summary,
      controls: controls.length,
      keyControls: controls.filter((c) => c.design.key).length,
      evaluations,
      keptShare: evaluations > 0 ? kept / evaluations : null,
      controlsWithExceptions: controls.filter((c) => c.operation.gaps.length > 0 || c.operation.listing.episodes.deficiencies > 0).length,
      episodes: controls.reduce((n, c) => n + c.operation.listing.episodes.deficiencies, 0),
      gaps: controls.reduce((n, c) => n + c.operation.gaps.length, 0),
      openAtEnd: controls.reduce((n, c) => n + c.operation.listing.episodes.openAtEnd, 0),
      remediation: remediationOf(controls.flatMap(resolvedDurations)),
    },
  };
}

function resolvedDurations(c: ControlReport): number[] {
  return c.operation.episodes.flatMap((e) => (!e.notice && e.durationMs !== undefined ? [e.durationMs] : []));
}

/** Each control across the hosts that report it, ordered by id; its design from the host whose version of it took effect last. */
function fleetControls(hosts: readonly FleetHost[]): FleetControl[] {
  const byId = new Map<string, { design: ControlDesign | null; since: string; rows: { host: FleetHost; c: ControlReport }[] }>();
  for (const host of hosts) {
    for (const c of host.report.controls) {
      const entry = byId.get(c.id) ?? { design: null, since: "", rows: [] };
      entry.rows.push({ host, c });
      const since = c.design.versions.at(-1)?.from ?? "";
      if (c.design.versions.length > 0 && (entry.design === null || since > entry.since)) Object.assign(entry, { design: c.design, since });
      byId.set(c.id, entry);
    }
  }
  return [...byId.keys()].sort().map((id) => {
    const { design, rows } = byId.get(id)!;
    const hostRows = rows.map(({ host, c }) => ({
      host: host.id,
      name: host.name,
      evaluations: c.operation.evaluations,
      expected: c.operation.expected,
      gaps: c.operation.gaps.length,
      kept: c.operation.kept,
      keptShare: c.operation.keptShare,
      episodes: c.operation.listing.episodes.deficiencies,
      openAtEnd: c.operation.listing.episodes.openAtEnd,
      repairs: c.operation.listing.repairs.total,
      remediation: c.operation.remediation,
    }));
    const evaluations = hostRows.reduce((n, h) => n + h.evaluations, 0);
    const kept = hostRows.reduce((n, h) => n + h.kept, 0);
    return {
      id,
      design,
      hosts: hostRows,
      totals: {
        hosts: hostRows.length,
        evaluations,
        kept,
        keptShare: evaluations > 0 ? kept / evaluations : null,
        gaps: hostRows.reduce((n, h) => n + h.gaps, 0),
        episodes: hostRows.reduce((n, h) => n + h.episodes, 0),
        openAtEnd: hostRows.reduce((n, h) => n + h.openAtEnd, 0),
        repairs: hostRows.reduce((n, h) => n + h.repairs, 0),
        remediation: remediationOf(rows.flatMap(({ c }) => resolvedDurations(c))),
      },
    };
  });
}

function summaryOf(hosts: readonly FleetHost[], controls: readonly FleetControl[]): FleetReport["summary"] {
  const evaluations = controls.reduce((n, c) => n + c.totals.evaluations, 0);
  const kept = controls.reduce((n, c) => n + c.totals.kept, 0);
  return {
    hosts: hosts.length,
    hostsInDoubt: hosts.filter(inDoubt).length,
    hostsClockAhead: hosts.filter((h) => h.clock.ahead.count > 0).length,
    controls: controls.length,
    evaluations,
    keptShare: evaluations > 0 ? kept / evaluations : null,
    episodes: controls.reduce((n, c) => n + c.totals.episodes, 0),
    gaps: controls.reduce((n, c) => n + c.totals.gaps, 0),
    openAtEnd: controls.reduce((n, c) => n + c.totals.openAtEnd, 0),
    remediation: remediationOf(hosts.flatMap((h) => h.report.controls.flatMap(resolvedDurations))),
  };
}

/** Whether the hub holds a host's chain in doubt: its status now, a chain incident of the period, or its own chain broken. */
export function inDoubt(h: FleetHost): boolean {
  return h.chain.status !== "ok" || h.chain.verdict !== "intact" || h.chain.incidents.some((i) => i.kind !== "clock");
}
