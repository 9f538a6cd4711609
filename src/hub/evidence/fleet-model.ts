// The fleet report (`covenant hub report`, docs/hub-evidence.md): the evidence report of each host
// (report/report-model.ts, built from the records the host pushed) gathered over a fleet or a host
// group, with what only the hub can say beside it: each host's chain as the hub judged it (the
// incidents of the period), and for every record shown the hub's receive time next to the host's
// clock, records whose host time is farther from the receive time than hub.yaml's clockTolerance
// flagged. Times are ISO 8601 (UTC); durations milliseconds.
import type { ClockReview, ControlDesign, Episode, EvidenceReport, ExpectedCadence, RemediationFigures, ReportPeriod } from "../../report/report-model.js";

export const FLEET_REPORT_FORMAT = "covenant-fleet-report/1";

/** The deficiencies of a host the fleet's page lists (a summary keeps these, so that a fleet's summaries stay small whatever the period). */
export const MAX_LISTED_DEFICIENCIES = 100;

export interface FleetReport {
  format: typeof FLEET_REPORT_FORMAT;
  /** the hub's signing key, whose packs carry this report */
  hub: { fingerprint: string };
  generatedAt: string;
  generator: string;
  period: ReportPeriod;
  /** the host group reported (null: the whole fleet) and the controls asked for (empty: every one) */
  scope: { group: string | null; controls: string[] };
  clock: FleetClock;
  summary: FleetSummary;
  controls: FleetControl[];
  hosts: FleetHost[];
  notes: string[];
}

export interface FleetClock {
  /** each record keeps the host's clock; the hub's receive time is shown beside it */
  source: "host, with the hub's receive time";
  /** hub.yaml clockTolerance: a record whose host time is farther than this from its receive time is flagged */
  toleranceMs: number;
}

export interface FleetSummary {
  hosts: number;
  /** hosts whose chain the hub holds in doubt (a fork, rollback or gap now, or an incident of one in the period) */
  hostsInDoubt: number;
  /** hosts with a record whose host time is ahead of the hub's receive time by more than the tolerance */
  hostsClockAhead: number;
  controls: number;
  evaluations: number;
  keptShare: number | null;
  episodes: number;
  gaps: number;
  openAtEnd: number;
  remediation: RemediationFigures;
}

/** One control across the hosts that ran it in the period. */
export interface FleetControl {
  id: string;
  /** as the newest policy version of the hosts defining it says (null when no stored version defines it) */
  design: ControlDesign | null;
  hosts: FleetControlHost[];
  totals: { hosts: number; evaluations: number; kept: number; keptShare: number | null; gaps: number; episodes: number; openAtEnd: number; repairs: number; remediation: RemediationFigures };
}

export interface FleetControlHost {
  host: string;
  name: string;
  evaluations: number;
  expected: ExpectedCadence;
  gaps: number;
  kept: number;
  keptShare: number | null;
  /** deficiencies (episodes that were not notices) and those open at the period's end */
  episodes: number;
  openAtEnd: number;
  repairs: number;
  remediation: RemediationFigures;
}

export interface FleetHost {
  id: string;
  name: string;
  group: string | null;
  enrolledAt: string;
  revokedAt: string | null;
  chain: HostChain;
  clock: HostClock;
  /**
   * the hub's receive time of every record the host's report names (episodes opened and resolved,
   * repairs, deliveries, acknowledgements, clock anomalies, the integrity head), by record number
   */
  received: Record<string, string>;
  /** the host's evidence report, from the records it pushed, as `covenant report` makes it on the host */
  report: EvidenceReport;
}

export interface HostChain {
  /** hub_hosts.chain_status now: ok, or fork, rollback, gap */
  status: string;
  /** the epoch reported (an administrator's `covenant hub accept` starts a new one) */
  epoch: number;
  /** the hub's own chain over the records it holds of the period, recomputed from the lines */
  verdict: "intact" | "broken";
  problem?: { seq: number; message: string };
  records: number;
  first: number | null;
  last: number | null;
  /** incidents opened, seen or still open during the period (every epoch) */
  incidents: HostIncident[];
}

export interface HostIncident {
  id: number;
  kind: string;
  epoch: number;
  seq: number | null;
  openedAt: string;
  lastSeenAt: string;
  resolvedAt: string | null;
  resolvedBy: string | null;
  message: string;
}

/** A record whose host time is farther from the hub's receive time than the tolerance. */
export interface OffRecord {
  record: number;
  hostTime: string;
  receivedAt: string;
  /** host time minus receive time: positive when the host's clock is ahead of the hub's */
  deltaMs: number;
}

export interface HostClock {
  /** the host's clock skew at its last push (its clock minus the hub's, as the push's sentAt said) */
  lastPushSkewMs: number | null;
  /**
   * records written later than the hub received them (the host's clock ahead of the hub's by more
   * than the tolerance): a record cannot be received before it is written, so the host's clock was wrong
   */
  ahead: { count: number; worstMs: number | null; list: OffRecord[] };
  /**
   * records received more than the tolerance after their host time: the host's clock behind, or
   * the record sent late (the hub unreachable, the host off): the push skew above tells which
   */
  behind: { count: number; worstMs: number | null; list: OffRecord[] };
}

/**
 * A host as the fleet's own pages draw it (HTML, Markdown, CSV): its chain, clock and receive
 * times, and of its report only the deficiencies and the clock's steps. The evidence pack keeps
 * this of each host once its full report is written (reports/hosts/, and its part of fleet.json),
 * so that a fleet's pack holds one host's report at a time, not the fleet's.
 */
export interface FleetHostSummary extends Omit<FleetHost, "report" | "received"> {
  /**
   * the host's episodes that were deficiencies (not notices), with their control, that the fleet's
   * page lists: open ones first, then the most recent, at most MAX_LISTED_DEFICIENCIES (every one is
   * in the host's own report and in the fleet's Markdown, CSV and JSON)
   */
  deficiencies: { control: string; episode: Episode }[];
  /** how many deficiencies the host had in the period, listed or not */
  deficiencyCount: number;
  /** of its report's clock review, what the fleet's pages show: the steps back, and how many steps and jumps there were */
  hostClock: Pick<ClockReview, "backwardSteps" | "jumpThresholdMs"> & { backwardCount: number; jumpCount: number };
  /** the receive times of the records the listed deficiencies and the clock's steps name */
  received: Record<string, string>;
}

/** The fleet report with each host summarised (what fleet-html.ts and fleet-text.ts draw). */
export interface FleetOverview extends Omit<FleetReport, "hosts"> {
  hosts: FleetHostSummary[];
}
