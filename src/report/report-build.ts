// Builds the evidence report (report-model.ts) from a host's store: one pass over the history
// (report-tally.ts), the policy versions in force checked again for each control's design
// (stored-policy.ts, report-design.ts), the cadence and gaps (report-cadence.ts), and the
// auditor's sample explained from the history and proven against each run's summary.
import type { CheckedWaiver } from "../checker/policy.js";
import type { Period } from "../facts/period.js";
import { startOfDay } from "../facts/period.js";
import type { PolicyFile, ScannedRecord, ScanOutcome, StateStore } from "../store/store.js";
import { expectedCadence, gapsOf } from "./report-cadence.js";
import { designOf, type DesignOf, type VersionInForce } from "./report-design.js";
import { REPORT_FORMAT, type ControlReport, type EvidenceReport, type IntegrityResult, type PolicyVersionInForce, type RemediationFigures } from "./report-model.js";
import { sampleOf } from "./report-sampled.js";
import { listingOf } from "./report-listing.js";
import { ReportTally, type ControlTally } from "./report-tally.js";
import { CheckedVersions } from "./stored-policy.js";

export interface BuildOptions {
  period: Period;
  /** only these controls (every one of the period when absent) */
  controls?: readonly string[];
  sample?: { size: number; seed: string };
  /** list at most this many episodes and repairs per control (report-listing.ts); every one when absent */
  list?: number;
  /** covenant.yaml `report.expected_every` (ms): the cadence every control is held to */
  expectedEveryMs?: number;
  now?: Date;
  generator: string;
  /**
   * what checked the records' chain: the host key's MACs (a host's store), or the fleet hub's own
   * sha256 chain over the lines the host pushed (the hub holds no host key)
   */
  chainCheck?: "host-mac" | "hub-chain";
}

/**
 * What a report's pass needs besides the records: the id the host gave each deficiency, and the
 * stored policy versions' texts. A host's store gives them (and explains sampled runs); the fleet
 * hub gives them from what each host pushed (hub/evidence), and takes no sample.
 */
export interface ReportSource {
  deficiencyIdOf(promiseKey: string, run: number, record: number): string;
  policyVersion(hash: string): { record: number; files: PolicyFile[] } | undefined;
  explainRuns?: StateStore["explainRuns"];
}

/** A control asked for that the period does not know: a usage error. */
export class UnknownControlError extends Error {}

export function buildReport(store: StateStore, o: BuildOptions): EvidenceReport {
  const pass = reportPass(store, o);
  return pass.finish(store.scanHistory({}, pass.visit));
}

/**
 * A report built as the history is read: `visit` takes each record (scanHistory's, or the walk
 * the evidence pack shares with verify and its extract), then `finish` with what the scan vouched
 * for gives the report.
 */
export function reportPass(store: ReportSource, o: BuildOptions): { visit: (r: ScannedRecord) => void; finish: (scan: ScanOutcome) => EvidenceReport } {
  const { dayStarts, dayNames } = daysOf(o.period);
  const tally = new ReportTally({ startMs: o.period.startMs, endMs: o.period.endMs, dayStarts, dayNames, deficiencyIdOf: (k, run, rec) => store.deficiencyIdOf(k, run, rec), ...(o.sample ? { sample: o.sample } : {}), ...(o.controls && o.controls.length > 0 ? { only: new Set(o.controls) } : {}), ...(o.list !== undefined ? { list: o.list } : {}) });
  const hubWaivers: CheckedWaiver[] = [];
  const visit = (r: ScannedRecord) => {
    tally.visit(r);
    // waivers given on the fleet hub are records, not policy text: shown beside the policy's, with who approved them
    if (r.kind === "waiver" && r.verified && r.body && Date.parse(r.time) < o.period.endMs) {
      const w = hubWaiverOf(r.body);
      if (w) hubWaivers.push(w);
    }
  };
  return { visit, finish: (scan) => finishReport(store, o, tally, scan, hubWaivers) };
}

/** A `waiver` record's body as a waiver (store/hub-decisions.ts WaiverBody), or undefined when it does not read as one. */
function hubWaiverOf(b: Record<string, unknown>): CheckedWaiver | undefined {
  const [control, reason, approvedBy, until, decision] = [b["control"], b["reason"], b["approvedBy"], b["until"], b["decision"]];
  if (typeof control !== "string" || typeof reason !== "string" || typeof approvedBy !== "string" || typeof until !== "string" || typeof decision !== "string") return undefined;
  return { control, reason, approvedBy, ...(typeof b["from"] === "string" ? { from: b["from"] } : {}), until, ticket: `hub decision ${decision}`, span: { file: "(fleet hub)", start: 0, end: 0 } };
}

function finishReport(store: ReportSource, o: BuildOptions, tally: ReportTally, scan: ScanOutcome, hubWaivers: readonly CheckedWaiver[]): EvidenceReport {
  const now = o.now ?? new Date();
  tally.finish();
  const checked = new CheckedVersions((hash) => store.policyVersion(hash), now.toISOString().slice(0, 10));
  const stretches = tally.policies.inForce(o.period.startMs).filter((s) => Date.parse(s.from) < o.period.endMs);
  const versions: VersionInForce[] = stretches.map((s) => ({ hash: s.hash, from: s.from, ...(s.until !== undefined ? { until: s.until } : {}), checked: checked.get(s.hash) }));
  const ids = controlIds(tally, versions, o.controls);
  const windowEnd = Math.min(o.period.endMs, now.getTime());
  const designs = new Map(ids.map((id) => [id, designOf(id, versions, o.period, hubWaivers.filter((w) => w.control === id))]));
  tally.assignApprovals(new Map([...designs].map(([id, d]) => [id, d.design.promises])));
  const controls = ids.map((id) => controlReport(id, tally.control(id), designs.get(id)!, o, windowEnd));
  const notes = versions.flatMap((v) => (v.checked?.problem ? [`policy version ${v.hash.slice(0, 12)}: ${v.checked.problem}; the controls it defines are shown by id only`] : v.checked ? [] : [`policy version ${v.hash.slice(0, 12)} is not in the store: the controls it defines are shown by id only`]));
  const report: EvidenceReport = {
    format: REPORT_FORMAT,
    host: tally.host,
    generatedAt: now.toISOString(),
    generator: o.generator,
    period: { from: o.period.from, to: o.period.to, timeZone: o.period.timeZone ?? null, start: new Date(o.period.startMs).toISOString(), end: new Date(o.period.endMs).toISOString() },
    summary: summaryOf(controls, tally),
    integrity: integrityOf(tally, scan, o.period.startMs, o.chainCheck ?? "host-mac"),
    clock: clockOf(tally),
    policyVersions: stretches.map((s) => versionInForce(store, s)),
    controls,
  };
  if (notes.length > 0) report.notes = notes;
  const explainRuns = store.explainRuns?.bind(store);
  if (o.sample && !explainRuns) throw new Error("an auditor's sample is explained from a host's store: this source cannot explain runs");
  if (o.sample && explainRuns) report.sample = sampleOf({ explainRuns }, o.sample, controls.map((c) => ({ id: c.id, tally: tally.control(c.id), keys: new Set(c.design.promises.map((p) => p.key)) })));
  return report;
}

/** The first instant of each day of the period in its time zone, and the days' names. */
function daysOf(p: Period): { dayStarts: number[]; dayNames: string[] } {
  const dayStarts: number[] = [];
  const dayNames: string[] = [];
  const [y, m, d] = p.from.split("-").map(Number) as [number, number, number];
  const [ty, tm, td] = p.to.split("-").map(Number) as [number, number, number];
  // compared as instants, not as names: past 9999-12-31 an ISO name is "+010000-…", which sorts before any date
  const last = Date.UTC(ty, tm - 1, td);
  for (let i = 0; ; i++) {
    const date = new Date(Date.UTC(y, m - 1, d + i));
    if (date.getTime() > last) break;
    const name = date.toISOString().slice(0, 10);
    dayNames.push(name);
    dayStarts.push(startOfDay(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), p.timeZone));
  }
  return { dayStarts, dayNames };
}

/** The controls of the period: defined by a version in force, or evaluated or deficient in it; those asked for must be among them. */
function controlIds(tally: ReportTally, versions: readonly VersionInForce[], asked: readonly string[] | undefined): string[] {
  const known = new Set<string>();
  for (const v of versions) for (const id of v.checked?.controls.keys() ?? []) known.add(id);
  for (const [id, c] of tally.controls) if (c.evaluations > 0 || c.episodes.total > 0) known.add(id);
  if (asked === undefined || asked.length === 0) return [...known].sort();
  const unknown = asked.filter((id) => !known.has(id));
  if (unknown.length > 0) throw new UnknownControlError(`no control ${unknown.join(", ")} in the period (its policy versions define ${known.size === 0 ? "none" : [...known].sort().slice(0, 20).join(", ")})`);
  return [...new Set(asked)];
}

function controlReport(id: string, t: ControlTally, d: DesignOf, o: BuildOptions, windowEnd: number): ControlReport {
  const start = Math.max(o.period.startMs, d.definedFrom ?? o.period.startMs);
  const end = Math.min(windowEnd, d.definedUntil ?? windowEnd);
  const configured = o.expectedEveryMs ?? d.latest?.control.every ?? shortestEvery(d.latest?.control.promises ?? []);
  const expected = expectedCadence(configured, t.intervals, Math.max(0, end - start));
  const episodes = t.episodes.listed(o.list);
  const repairs = t.repairs.listed();
  return {
    id,
    design: d.design,
    operation: {
      evaluations: t.evaluations,
      expected,
      gaps: gapsOf(t.intervals, expected.everyMs, start, end),
      kept: t.kept,
      keptShare: t.evaluations > 0 ? t.kept / t.evaluations : null,
      verdicts: { ...t.verdicts },
      episodes,
      repairs,
      listing: listingOf(t.episodes, episodes.length, t.repairs.total, repairs.length, o.list),
      integrity: { approved: t.approved, unapproved: t.unapproved },
      waivers: d.waivers,
      remediation: remediationOf(t.episodes.durations),
    },
    timeline: t.days,
  };
}

/** The shortest `every` of a control's promises (each promise's own, or its control's), when any has one. */
function shortestEvery(promises: readonly { every?: number }[]): number | undefined {
  const given = promises.map((p) => p.every).filter((e): e is number => e !== undefined && e > 0);
  return given.length > 0 ? Math.min(...given) : undefined;
}

/** The remediation figures over the durations of resolved deficiencies. */
export function remediationOf(resolved: readonly number[]): RemediationFigures {
  const durations = [...resolved].sort((a, b) => a - b);
  if (durations.length === 0) return { resolved: 0, medianMs: null, worstMs: null };
  const mid = durations.length >> 1;
  const median = durations.length % 2 === 1 ? durations[mid]! : Math.round((durations[mid - 1]! + durations[mid]!) / 2);
  return { resolved: durations.length, medianMs: median, worstMs: durations[durations.length - 1]! };
}

function summaryOf(controls: readonly ControlReport[], tally: ReportTally): EvidenceReport["summary"] {
  const evaluations = controls.reduce((n, c) => n + c.operation.evaluations, 0);
  const kept = controls.reduce((n, c) => n + c.operation.kept, 0);
  // the figures are over every episode of the controls reported, listed or not
  const durations = controls.flatMap((c) => tally.control(c.id).episodes.durations);
  return {
    controls: controls.length,
    keyControls: controls.filter((c) => c.design.key).length,
    runs: { ...tally.runs },
    evaluations,
    keptShare: evaluations > 0 ? kept / evaluations : null,
    controlsWithExceptions: controls.filter((c) => c.operation.gaps.length > 0 || c.operation.listing.episodes.deficiencies > 0).length,
    episodes: controls.reduce((n, c) => n + c.operation.listing.episodes.deficiencies, 0),
    gaps: controls.reduce((n, c) => n + c.operation.gaps.length, 0),
    openAtEnd: controls.reduce((n, c) => n + c.operation.listing.episodes.openAtEnd, 0),
    remediation: remediationOf(durations),
  };
}

function integrityOf(tally: ReportTally, scan: ScanOutcome, periodStartMs: number, check: "host-mac" | "hub-chain"): IntegrityResult {
  const w = tally.integrity;
  const notes: string[] = [];
  const reachesEnd = w.last !== undefined && scan.storeHead !== undefined && w.last.seq === scan.storeHead.seq;
  const tampering = w.problem() ?? (reachesEnd || w.last === undefined ? scan.end : undefined);
  if (w.first === undefined) notes.push("the store holds no record with a time in the period");
  else if (check === "hub-chain") notes.push(`records ${Math.max(1, w.first - 1)} to ${w.next ?? w.last?.seq ?? w.first} were checked against the hub's own chain over the lines the host pushed, each chained to the one before (the hub holds no host key: the records' MACs are kept as pushed, for whoever holds it)`);
  else notes.push(`the MACs of records ${Math.max(1, w.first - 1)} to ${w.next ?? w.last?.seq ?? w.first} were checked, each chained to the one before${reachesEnd ? ", and the store's end against its head anchors" : ""}`);
  if (w.outsideBetween > 0) notes.push(`${w.outsideBetween} record(s) among the period's carry a time outside it (the host's clock moved): see the clock section`);
  const cp = scan.checkpoint;
  if (cp && periodStartMs < Date.parse(cp.before)) {
    const packs = [...cp.earlier, cp.evidence].map((e) => `${e.from} to ${e.to} (manifest sha256 ${e.manifestSha256.slice(0, 16)}…)`);
    notes.push(`the history before ${cp.before} (records up to ${cp.cut.seq}, through run ${cp.cut.run}) was pruned on ${cp.at}: what the period held before then is in the evidence pack${packs.length === 1 ? "" : "s"} of ${packs.join(", ")}, not in these figures`);
  }
  if (w.unassignedApprovals > 0) notes.push(`${w.unassignedApprovals} integrity approval(s) in the period name no control (paths approved by \`covenant approve\` or \`integrity init\`): see \`covenant history\``);
  return {
    verdict: tampering ? "tampered" : "intact",
    firstRecord: w.first ?? null,
    lastRecord: w.last?.seq ?? null,
    records: w.records,
    head: w.last ?? null,
    storeHead: scan.storeHead ?? null,
    ...(tampering ? { tampering: { kind: tampering.kind, seq: tampering.seq, message: tampering.message } } : {}),
    notes,
  };
}

function clockOf(tally: ReportTally): EvidenceReport["clock"] {
  const threshold = Math.max(3_600_000, 2 * (tally.runIntervals.median() ?? 0));
  const jumps = tally.clock.jumps(threshold);
  return { source: "host", backwardSteps: tally.clock.backward, jumps: jumps.list, jumpThresholdMs: threshold, backwardCount: tally.clock.backwardCount, jumpCount: jumps.count };
}

function versionInForce(store: ReportSource, s: { hash: string; record?: number; firstRun: number; from: string; until?: string }): PolicyVersionInForce {
  const stored = store.policyVersion(s.hash);
  return {
    hash: s.hash,
    record: s.record ?? stored?.record ?? 0,
    firstRun: s.firstRun,
    from: s.from,
    ...(s.until !== undefined ? { until: s.until } : {}),
    files: (stored?.files ?? []).map((f) => ({ path: f.path, sha256: f.sha256, bytes: f.bytes })),
  };
}
