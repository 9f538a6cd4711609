// Builds the fleet report (fleet-model.ts): the hosts of the fleet or of one host group, each
// host's evidence from the records it pushed (host-evidence.ts, one host at a time), then each
// control across the hosts that ran it, and the fleet's totals. The evidence pack takes each
// host's report as it is made and keeps only its summary (streamFleetReport): a fleet's pack
// holds one host's report at a time.
import type { Pool } from "pg";
import type { Period } from "../../facts/period.js";
import { remediationOf } from "../../report/report-build.js";
import type { ControlDesign, ControlReport, EvidenceReport, ReportPeriod } from "../../report/report-model.js";
import { FLEET_REPORT_FORMAT, MAX_LISTED_DEFICIENCIES, type FleetControl, type FleetControlHost, type FleetHost, type FleetHostSummary, type FleetOverview, type FleetReport } from "./fleet-model.js";
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

/**
 * The fleet report, each host's part built one host at a time and given to `each` whole (its
 * report, receive times, chain) with its summary, then kept only as that summary (FleetHostSummary:
 * the deficiencies a page lists, at most MAX_LISTED_DEFICIENCIES), or, `slim`, without even those
 * (the evidence pack draws each host's part of the pages as it is given): memory is one host's
 * report and the fleet's summaries, whatever the period. The controls asked for are checked
 * against what the hosts reported once every host is read.
 */
export async function streamFleetReport(pool: Pool, o: FleetReportOptions, each: (h: FleetHost, summary: FleetHostSummary, index: number) => Promise<void> | void, keep: "listed" | "slim" = "listed"): Promise<FleetOverview> {
  const now = o.now ?? new Date();
  const rows = await reportedHosts(pool, o.period, o.group);
  if (rows.length === 0) throw new FleetReportError(o.group !== undefined ? `no host enrolled before the period's end is in the group ${JSON.stringify(o.group)}` : "no host was enrolled before the period's end");
  const gathered = new FleetGatherer();
  const known = new Set<string>();
  const wanted = new Set(o.controls);
  let period: ReportPeriod | undefined;
  for (const row of rows) {
    let host = await hostEvidence(pool, row, { period: o.period, controls: [], toleranceMs: o.toleranceMs, generator: o.generator, now });
    for (const c of host.report.controls) known.add(c.id);
    if (wanted.size > 0) host = { ...host, report: onlyControls(host.report, wanted) };
    period ??= host.report.period;
    const summary = summaryOfHost(host);
    await each(host, summary, gathered.hosts.length);
    gathered.add(host, keep === "slim" ? { ...summary, deficiencies: [], received: {} } : summary);
  }
  const unknown = o.controls.filter((id) => !known.has(id));
  if (unknown.length > 0) throw new FleetReportError(`no host reported the control${unknown.length === 1 ? "" : "s"} ${unknown.join(", ")} in the period`);
  const controls = gathered.controls();
  return {
    format: FLEET_REPORT_FORMAT,
    hub: { fingerprint: o.hubFingerprint },
    generatedAt: now.toISOString(),
    generator: o.generator,
    period: period!,
    scope: { group: o.group ?? null, controls: [...o.controls] },
    clock: { source: "host, with the hub's receive time", toleranceMs: o.toleranceMs },
    summary: gathered.summary(controls),
    controls,
    hosts: gathered.hosts,
    notes: [
      "every time is the host's clock as its record says; the hub's receive time is shown beside it, and records farther from it than the tolerance are flagged",
      "deficiency ids are the host's own (d-…), made from the key id its pushes say; a host that never said it gets ids of the hub's (h-…) for the same episodes",
    ],
  };
}

/**
 * The fleet report with every host's full report in it, held whole: what the documents made a host
 * at a time (fleet-documents.ts) must equal, byte for byte, in the tests; the commands never hold it.
 */
export async function buildFleetReport(pool: Pool, o: FleetReportOptions): Promise<FleetReport> {
  const hosts: FleetHost[] = [];
  const overview = await streamFleetReport(pool, o, (h) => void hosts.push(h));
  return withHosts(overview, hosts);
}

/** The report of `overview` with `hosts` in its place, its fields in the order the JSON gives them. */
export function withHosts<H>(overview: Omit<FleetReport, "hosts">, hosts: H): Omit<FleetReport, "hosts"> & { hosts: H } {
  const { format, hub, generatedAt, generator, period, scope, clock, summary, controls, notes } = overview;
  return { format, hub, generatedAt, generator, period, scope, clock, summary, controls, hosts, notes };
}

/** A host's part as the fleet's pages draw it: its report reduced to its deficiencies and clock steps. */
export function summaryOfHost(h: FleetHost): FleetHostSummary {
  const { report, received, ...rest } = h;
  const all = report.controls.flatMap((ctl) => ctl.operation.episodes.filter((e) => !e.notice).map((episode) => ({ control: ctl.id, episode })));
  // open ones first, then the most recent: what a page lists; the rest are in the host's own report
  const deficiencies = all.sort((a, b) => Number(b.episode.resolved === undefined) - Number(a.episode.resolved === undefined) || (a.episode.opened < b.episode.opened ? 1 : a.episode.opened > b.episode.opened ? -1 : 0)).slice(0, MAX_LISTED_DEFICIENCIES);
  const hc = report.clock;
  const named = new Set<number>();
  for (const { episode: e } of deficiencies) for (const n of [e.openedRecord, e.resolvedRecord]) if (n !== undefined) named.add(n);
  for (const a of hc.backwardSteps) named.add(a.record).add(a.previousRecord);
  const kept: Record<string, string> = {};
  for (const n of named) if (received[String(n)] !== undefined) kept[String(n)] = received[String(n)]!;
  return { ...rest, deficiencies, deficiencyCount: all.length, hostClock: { backwardSteps: hc.backwardSteps, jumpThresholdMs: hc.jumpThresholdMs, backwardCount: hc.backwardCount ?? hc.backwardSteps.length, jumpCount: hc.jumpCount ?? hc.jumps.length }, received: kept };
}

/** The fleet's pages' view of a report: a full one's hosts summarised, a summary as it is. */
export function overviewOf(r: FleetReport | FleetOverview): FleetOverview {
  return withHosts(r, (r.hosts as readonly (FleetHost | FleetHostSummary)[]).map((h) => ("report" in h ? summaryOfHost(h) : h)));
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

interface ControlEntry {
  design: ControlDesign | null;
  since: string;
  rows: FleetControlHost[];
  /** each resolved deficiency's time to remediate, over the hosts */
  durations: number[];
}

/**
 * Each control across the hosts that report it (its design from the host whose version of it
 * took effect last), and the fleet's totals, gathered a host at a time: of each host, its rows
 * and its summary are kept, never its report.
 */
class FleetGatherer {
  readonly hosts: FleetHostSummary[] = [];
  private readonly byId = new Map<string, ControlEntry>();
  private readonly durations: number[] = [];

  add(host: FleetHost, summary: FleetHostSummary): void {
    for (const c of host.report.controls) {
      const entry = this.byId.get(c.id) ?? { design: null, since: "", rows: [], durations: [] };
      entry.rows.push({
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
      });
      // one by one: a control's year on a host can resolve more episodes than a call takes arguments
      for (const d of resolvedDurations(c)) {
        entry.durations.push(d);
        this.durations.push(d);
      }
      const since = c.design.versions.at(-1)?.from ?? "";
      if (c.design.versions.length > 0 && (entry.design === null || since > entry.since)) Object.assign(entry, { design: c.design, since });
      this.byId.set(c.id, entry);
    }
    this.hosts.push(summary);
  }

  controls(): FleetControl[] {
    return [...this.byId.keys()].sort().map((id) => {
      const { design, rows, durations } = this.byId.get(id)!;
      const evaluations = rows.reduce((n, h) => n + h.evaluations, 0);
      const kept = rows.reduce((n, h) => n + h.kept, 0);
      return {
        id,
        design,
        hosts: rows,
        totals: {
          hosts: rows.length,
          evaluations,
          kept,
          keptShare: evaluations > 0 ? kept / evaluations : null,
          gaps: rows.reduce((n, h) => n + h.gaps, 0),
          episodes: rows.reduce((n, h) => n + h.episodes, 0),
          openAtEnd: rows.reduce((n, h) => n + h.openAtEnd, 0),
          repairs: rows.reduce((n, h) => n + h.repairs, 0),
          remediation: remediationOf(durations),
        },
      };
    });
  }

  summary(controls: readonly FleetControl[]): FleetReport["summary"] {
    const evaluations = controls.reduce((n, c) => n + c.totals.evaluations, 0);
    const kept = controls.reduce((n, c) => n + c.totals.kept, 0);
    return {
      hosts: this.hosts.length,
      hostsInDoubt: this.hosts.filter(inDoubt).length,
      hostsClockAhead: this.hosts.filter((h) => h.clock.ahead.count > 0).length,
      controls: controls.length,
      evaluations,
      keptShare: evaluations > 0 ? kept / evaluations : null,
      episodes: controls.reduce((n, c) => n + c.totals.episodes, 0),
      gaps: controls.reduce((n, c) => n + c.totals.gaps, 0),
      openAtEnd: controls.reduce((n, c) => n + c.totals.openAtEnd, 0),
      remediation: remediationOf(this.durations),
    };
  }
}

/** Whether the hub holds a host's chain in doubt: its status now, a chain incident of the period, or its own chain broken. */
export function inDoubt(h: Pick<FleetHost, "chain">): boolean {
  return h.chain.status !== "ok" || h.chain.verdict !== "intact" || h.chain.incidents.some((i) => i.kind !== "clock");
}
