// The evidence report (`covenant report`): what a host's store proves about each control over a
// period, as one document that every output is drawn from (JSON as it is, with its published
// JSON Schema; HTML, CSV and Markdown as views of it). Times are ISO 8601 as the host's clock wrote
// them (UTC); durations are milliseconds. Nothing secret is in it: no file content, no diff of a
// `nodiff` file, no password hash, no command output the policy redacts; the history holds none
// of these, and the report takes nothing from anywhere else.
import type { CheckedWaiver, Severity } from "../checker/policy.js";
import type { Outcome } from "../evaluator/outcomes.js";

export const REPORT_FORMAT = "covenant-report/1";

export interface EvidenceReport {
  format: typeof REPORT_FORMAT;
  host: string;
  /** when the report was made (the reporting machine's clock) */
  generatedAt: string;
  /** Covenant's version that made it */
  generator: string;
  period: ReportPeriod;
  summary: ReportSummary;
  integrity: IntegrityResult;
  clock: ClockReview;
  /** every policy version in force at some time during the period, oldest first */
  policyVersions: PolicyVersionInForce[];
  controls: ControlReport[];
  /** present when `--sample N --seed S` was given */
  sample?: AuditorSample;
  /** what the report could not say in full, in words (a stored policy version that no longer checks) */
  notes?: string[];
}

export interface ReportPeriod {
  /** the dates as given: whole days, both included */
  from: string;
  to: string;
  /** the time zone the days are read in (the policy calendar's, `--tz`, or the host's: null) */
  timeZone: string | null;
  /** the first instant of `from` and the first instant after `to` */
  start: string;
  end: string;
}

export interface ReportSummary {
  controls: number;
  keyControls: number;
  /** operational runs in the period (not dry runs, not sandbox runs), `covenant run` and watcher runs */
  runs: { operational: number; watch: number; dryRun: number; sandbox: number };
  /** evaluations of controls counted together (a run evaluating 30 controls counts 30) */
  evaluations: number;
  /** share of those evaluations in which the control was kept (every promise kept, skipped or waived); null when none */
  keptShare: number | null;
  /** controls with at least one exception (an episode or a gap) */
  controlsWithExceptions: number;
  episodes: number;
  gaps: number;
  /** deficiencies still open at the period's end */
  openAtEnd: number;
  remediation: RemediationFigures;
}

export interface RemediationFigures {
  /** resolved episodes counted */
  resolved: number;
  medianMs: number | null;
  worstMs: number | null;
}

export interface IntegrityResult {
  /** the chain over the period's records (and the anchors when the period reaches the store's end) */
  verdict: "intact" | "tampered";
  firstRecord: number | null;
  lastRecord: number | null;
  records: number;
  /** the head the report vouches for: the last record of the period, with its MAC */
  head: { seq: number; mac: string } | null;
  /** the store's head when the report was made */
  storeHead: { seq: number; mac: string } | null;
  tampering?: { kind: string; seq: number; message: string };
  notes: string[];
}

export interface ClockReview {
  /** what the times are: always the host's own clock, as each record wrote it */
  source: "host";
  /** records whose time is earlier than the record before them (the clock stepped back) */
  backwardSteps: ClockAnomaly[];
  /** gaps between consecutive records larger than `jumpThresholdMs` while runs were expected */
  jumps: ClockAnomaly[];
  jumpThresholdMs: number;
  /** how many there were in all: the lists above hold at most 500 of each (the longest jumps) */
  backwardCount?: number;
  jumpCount?: number;
}

export interface ClockAnomaly {
  /** the record after the step, and the one before it */
  record: number;
  previousRecord: number;
  at: string;
  previousAt: string;
  /** signed: negative for a step back */
  deltaMs: number;
}

export interface PolicyVersionInForce {
  hash: string;
  /** the `policy` record that holds its text */
  record: number;
  /** the first run that used it, and when it took effect (that run's start); `until` when a later version replaced it */
  firstRun: number;
  from: string;
  until?: string;
  files: { path: string; sha256: string; bytes: number }[];
}

export interface ControlReport {
  id: string;
  design: ControlDesign;
  operation: ControlOperation;
  /** per day of the period, in its time zone: how the control's evaluations went (the chart) */
  timeline: DayPoint[];
}

export interface ControlDesign {
  title: string;
  description?: string;
  owner?: string;
  severity: Severity;
  key: boolean;
  /** framework references as written (`SOX:404`, `COBIT2019:DSS05.04`) */
  refs: string[];
  /** the promises as written in the policy text (one entry per promise, its source text) */
  promises: { key: string; type: string; promiser: string; text: string; file: string; line: number }[];
  /** the policy versions that defined this control during the period (hash and when each took effect) */
  versions: { hash: string; from: string; until?: string; changed: boolean }[];
}

export interface ControlOperation {
  evaluations: number;
  expected: ExpectedCadence;
  /** periods in which it was not evaluated for longer than its cadence allows: exceptions */
  gaps: Gap[];
  kept: number;
  keptShare: number | null;
  /** evaluations by the control's verdict (the worst outcome of its promises) */
  verdicts: Partial<Record<Outcome, number>>;
  /** the episodes listed: every one (JSON and CSV by default), or a selection of them (`listing` says how many of how many) */
  episodes: Episode[];
  /** the repairs listed: every one, or the most recent (`listing`) */
  repairs: Repair[];
  /** how many episodes and repairs the period holds, and how many of them are listed; the figures are always over all of them */
  listing: Listing;
  integrity: { approved: IntegrityApproval[]; unapproved: IntegrityChange[] };
  waivers: WaiverInPeriod[];
  remediation: RemediationFigures;
}

/**
 * A report for reading (HTML, Markdown) lists at most `limit` episodes and `limit` repairs of a
 * control (`--list N`): every episode still open at the period's end (even past the limit), then
 * the longest, then the most recent; the most recent repairs. JSON and CSV list every one unless
 * asked otherwise (`limit` null).
 */
export interface Listing {
  limit: number | null;
  episodes: {
    /** every episode of the control in the period, notices included */
    total: number;
    listed: number;
    /** episodes that were deficiencies (not notices), and those still open at the period's end */
    deficiencies: number;
    openAtEnd: number;
  };
  repairs: { total: number; listed: number };
}

export interface ExpectedCadence {
  /** ms between evaluations; null when it cannot be told */
  everyMs: number | null;
  /** declared in the configuration (or the control's `every`), learned from the history, or unknown */
  source: "configured" | "learned" | "unknown";
  /** evaluations the cadence asks for over the period; null when unknown */
  count: number | null;
}

export interface Gap {
  from: string;
  to: string;
  durationMs: number;
  /** words for the report: "control not operating from … to …" */
  text: string;
}

/** A deficiency's life, rebuilt from the history: the change records that opened, moved and closed it. */
export interface Episode {
  /** the deficiency's id as the host showed it */
  id: string;
  promise: string;
  type: string;
  promiser: string;
  /** drift, failed or error (the worst it reached); repaired for a notice */
  outcome: Outcome;
  notice: boolean;
  opened: string;
  openedRecord: number;
  resolved?: string;
  resolvedRecord?: number;
  /** the outcome that closed it (kept, skipped, waived, repaired) */
  resolvedBy?: Outcome;
  durationMs?: number;
  repaired: boolean;
  /** what differed when it opened (as the record says it) */
  reason: string;
  told: { at: string; recipient: string; channel: string; status: "sent" | "given-up"; record: number }[];
  ack?: { at: string; by: string; reason: string; record: number };
}

export interface Repair {
  at: string;
  record: number;
  promise: string;
  changes: string[];
}

export interface IntegrityApproval {
  at: string;
  record: number;
  how: string;
  by?: string;
  reason?: string;
  paths: number;
  sample: string[];
}

export interface IntegrityChange {
  at: string;
  record: number;
  promise: string;
  paths: string[];
  /** AIDE's terms: content, mode, owner... */
  kinds: string[];
}

/** A waiver of the control as the policy declared it, and whether it was in force during some of the period or had expired. */
export type WaiverInPeriod = Omit<CheckedWaiver, "control" | "span"> & { status: "in-force" | "expired" };

export interface DayPoint {
  day: string;
  evaluations: number;
  kept: number;
  deficient: number;
  /** waived, skipped, or error outside the deficient count */
  other: number;
}

export interface AuditorSample {
  seed: string;
  size: number;
  /** per control sampled: the evaluations picked, reproducibly from the seed */
  controls: { control: string; population: number; picks: SampledEvaluation[] }[];
}

export interface SampledEvaluation {
  run: number;
  kind: "run" | "watch";
  started: string;
  finished: string;
  policy: { hash: string; record?: number };
  /** the run's summary record, and its roster */
  summaryRecord: number;
  roster?: number;
  verdict: Outcome;
  /** whether the promises' outcomes hash to the summary's digest */
  proven: boolean;
  why?: string;
  /** the control's promises at that run: outcome, what was observed, and the record that proves it */
  promises: { key: string; outcome: Outcome; record: number; since: string; reason: string; differences: string[] }[];
}
