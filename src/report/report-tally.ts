// The one pass over the history a report makes: every record in seq order, the state of each
// promise kept as the change records move it (the history keeps changes of state only, so a
// promise's outcome at a run is the one its last change record gave it), each operational run's
// verdict per control (the worst outcome of the control's promises in the run's roster), and the
// episodes, repairs, integrity approvals and changes, deliveries and acknowledgements on the way.
// Memory is bounded by the policy and the period's exceptions: counters per control and per day,
// never a list per run.
import { outcomeOrder, worst, type Outcome } from "../evaluator/outcomes.js";
import type { ScannedRecord } from "../store/store.js";
import { IntervalTally } from "./report-cadence.js";
import { EpisodeTracker } from "./report-episodes.js";
import { EpisodeBook, RepairBook } from "./report-books.js";
import type { DayPoint, Episode, IntegrityApproval, IntegrityChange } from "./report-model.js";
import { Reservoir, SeededRandom } from "./report-sample.js";
import { ClockWatch, IntegrityWatch, PolicyStretches } from "./report-watch.js";

const OUTCOMES = new Set<string>(outcomeOrder);

/** An evaluation kept in a sample's reservoir. */
export interface Evaluation {
  run: number;
  started: string;
}

/** What the pass keeps of one control. */
export class ControlTally {
  evaluations = 0;
  kept = 0;
  /** evaluations per verdict, by the verdict's place in outcomeOrder (a year holds millions of evaluations: a number bumped, not a property looked up by name) */
  private readonly verdictCounts = new Array<number>(outcomeOrder.length).fill(0);
  /** the verdicts in the order they were first counted: the report lists them so */
  private readonly verdictsSeen: Outcome[] = [];
  readonly intervals = new IntervalTally();
  readonly days: DayPoint[];
  readonly episodes: EpisodeBook;
  readonly repairs: RepairBook;
  readonly approved: IntegrityApproval[] = [];
  readonly unapproved: IntegrityChange[] = [];
  reservoir?: Reservoir<Evaluation>;
  /** bumped when one of its promises changes state: a cached verdict older than this is computed again */
  version = 0;

  /** `list`: the most episodes and repairs the report lists (report-books.ts keeps only those it can) */
  constructor(dayNames: readonly string[], list: number | undefined, forget: (e: Episode) => void) {
    this.days = dayNames.map((day) => ({ day, evaluations: 0, kept: 0, deficient: 0, other: 0 }));
    this.episodes = new EpisodeBook(list, forget);
    this.repairs = new RepairBook(list);
  }

  /** An evaluation's verdict, `index` its place in outcomeOrder. */
  countVerdict(verdict: Outcome, index: number): void {
    const before = this.verdictCounts[index]!;
    this.verdictCounts[index] = before + 1;
    if (before === 0) this.verdictsSeen.push(verdict);
  }

  /** How many evaluations had each verdict, in the order each was first seen. */
  get verdicts(): Partial<Record<Outcome, number>> {
    const out: Partial<Record<Outcome, number>> = {};
    for (const v of this.verdictsSeen) out[v] = this.verdictCounts[outcomeOrder.indexOf(v)]!;
    return out;
  }
}

/**
 * One control's part of a roster (the keys of its promises the roster lists), and its verdict as
 * last worked out: the same until one of the control's promises changes state (its tally's
 * `version`), which happens far less often than the roster is evaluated (every run).
 */
interface RosterShare {
  controlId: string;
  keys: string[];
  tally: ControlTally | undefined;
  /** the control's version the verdict was worked out at (-1: never) */
  version: number;
  verdict: Outcome;
  /** the verdict's place in outcomeOrder, and what it counts as */
  index: number;
  kept: boolean;
  deficient: boolean;
}

export interface TallyOptions {
  startMs: number;
  endMs: number;
  /** the first instant of each day of the period, in its time zone, and the days' names */
  dayStarts: readonly number[];
  dayNames: readonly string[];
  deficiencyIdOf: (key: string, run: number, record: number) => string;
  sample?: { size: number; seed: string };
  /** only these controls are tallied (`--control`): the others' changes and evaluations are passed over */
  only?: ReadonlySet<string>;
  /** list at most this many episodes and repairs per control: only those that can be listed are kept */
  list?: number;
}

const KEPT = new Set<Outcome>(["kept", "skipped", "waived"]);
const DEFICIENT = new Set<Outcome>(["drift", "failed", "error"]);

/**
 * Strings kept once: each record's body is parsed anew, so the same promise key or reason in
 * 70,000 episodes would be 70,000 copies. At most MAX_INTERNED distinct ones are kept (a reason
 * can hold an observed value): past that, a string is kept as it came.
 */
const MAX_INTERNED = 20_000;

class Interned {
  private readonly seen = new Map<string, string>();

  of(s: string): string {
    const kept = this.seen.get(s);
    if (kept !== undefined) return kept;
    if (this.seen.size < MAX_INTERNED) this.seen.set(s, s);
    return s;
  }
}

export class ReportTally {
  readonly controls = new Map<string, ControlTally>();
  readonly runs = { operational: 0, watch: 0, dryRun: 0, sandbox: 0 };
  readonly clock = new ClockWatch();
  readonly integrity = new IntegrityWatch();
  readonly policies = new PolicyStretches();
  readonly episodes: EpisodeTracker;
  /** the host the latest summary names */
  host = "";
  private readonly current = new Map<string, Outcome>();
  private readonly keyControl = new Map<string, string>();
  /** each roster record's keys, grouped by control (the controls tallied only) */
  private readonly rosters = new Map<number, RosterShare[]>();
  private previousInPeriod = false;
  /** the period's approvals, given to their controls when the policy is known (assignApprovals) */
  private readonly approvals: { approval: IntegrityApproval; promise?: string; targets: string[] }[] = [];
  /** the promises' keys, types, promisers and reasons, each kept once however many episodes name it */
  private readonly strings = new Interned();
  /** the runs' intervals, for the clock's jump threshold */
  readonly runIntervals = new IntervalTally();

  constructor(private readonly o: TallyOptions) {
    this.episodes = new EpisodeTracker(o, o.deficiencyIdOf, (key, e) => this.control(this.controlOf(key)).episodes.add(e));
  }

  control(id: string): ControlTally {
    let c = this.controls.get(id);
    if (!c) {
      c = new ControlTally(this.o.dayNames, this.o.list, (e) => this.episodes.forget(e));
      if (this.o.sample) c.reservoir = new Reservoir<Evaluation>(this.o.sample.size, new SeededRandom(this.o.sample.seed, id));
      this.controls.set(id, c);
    }
    return c;
  }

  private controlOf(key: string): string {
    return this.keyControl.get(key) ?? key.split("/")[0] ?? key;
  }

  private wanted(controlId: string): boolean {
    return this.o.only === undefined || this.o.only.has(controlId);
  }

  private inPeriod(ms: number): boolean {
    return ms >= this.o.startMs && ms < this.o.endMs;
  }

  visit(r: ScannedRecord): void {
    const ms = Date.parse(r.time);
    const inPeriod = this.inPeriod(ms);
    this.integrity.record(r, inPeriod, ms >= this.o.endMs);
    // a record just after one of the period's is watched too: a clock set back to before the period is a step back in it
    if (inPeriod || this.previousInPeriod) this.clock.record(r.seq, r.time, ms);
    else this.clock.forget();
    this.previousInPeriod = inPeriod;
    const b = r.body;
    if (!b || !r.verified) return; // an unverified record proves nothing: the integrity section names it
    switch (r.kind) {
      case "change":
        return this.change(r, b, ms, inPeriod);
      case "run":
        return this.summary(r, b);
      case "roster":
        return this.roster(r.seq, b);
      case "delivery":
        // told or acknowledged before the period's end: an episode open when it began may have been told before it
        if (ms < this.o.endMs && Array.isArray(b["deficiencies"])) this.episodes.told(b["deficiencies"].map(String), { at: r.time, recipient: String(b["recipient"] ?? ""), channel: String(b["channel"] ?? ""), status: b["status"] === "given-up" ? "given-up" : "sent", record: r.seq });
        return;
      case "ack":
        if (ms < this.o.endMs) this.episodes.acknowledged(String(b["deficiency"] ?? ""), { at: String(b["at"] ?? r.time), by: String(b["by"] ?? ""), reason: String(b["reason"] ?? ""), record: r.seq });
        return;
      case "approval":
        if (inPeriod) this.approval(r, b);
        return;
      default:
        return;
    }
  }

  private change(r: ScannedRecord, b: Record<string, unknown>, ms: number, inPeriod: boolean): void {
    const key = b["key"];
    const to = b["to"];
    if (typeof key !== "string" || typeof to !== "string" || !OUTCOMES.has(to)) return;
    const outcome = to as Outcome;
    const controlId = typeof b["control"] === "string" ? b["control"] : this.controlOf(key);
    this.keyControl.set(key, controlId);
    if (!this.wanted(controlId)) return;
    if (this.current.get(key) !== outcome) {
      this.current.set(key, outcome);
      this.control(controlId).version++;
    }
    const strings = this.strings;
    // a reason is long and most often new: kept once only when every episode is kept (a bounded listing keeps a few hundred)
    const reason = String(b["reason"] ?? "");
    this.episodes.change({ seq: r.seq, run: r.run, time: r.time, ms, key: strings.of(key), type: strings.of(String(b["type"] ?? "")), promiser: strings.of(String(b["promiser"] ?? "")), to: outcome, reason: this.o.list === undefined ? strings.of(reason) : reason });
    if (!inPeriod) return;
    const changes = Array.isArray(b["changes"]) ? b["changes"].map(String) : [];
    if (outcome === "repaired") this.control(controlId).repairs.add({ at: r.time, record: r.seq, promise: this.strings.of(key), changes: changes.map((c) => this.strings.of(c)) });
    const findings = Array.isArray(b["findings"]) ? (b["findings"] as { path?: unknown; kinds?: unknown }[]) : [];
    if (findings.length > 0 && DEFICIENT.has(outcome)) {
      const kinds = new Set<string>();
      for (const f of findings) if (Array.isArray(f.kinds)) for (const k of f.kinds) kinds.add(String(k));
      this.control(controlId).unapproved.push({ at: r.time, record: r.seq, promise: key, paths: findings.map((f) => String(f.path ?? "")), kinds: [...kinds] });
    }
  }

  private roster(seq: number, b: Record<string, unknown>): void {
    if (!Array.isArray(b["keys"])) return;
    const grouped = new Map<string, string[]>();
    for (const k of b["keys"]) {
      const key = String(k);
      const c = this.controlOf(key);
      const list = grouped.get(c);
      if (list) list.push(key);
      else grouped.set(c, [key]);
    }
    const shares: RosterShare[] = [];
    for (const [controlId, keys] of grouped) if (this.wanted(controlId)) shares.push({ controlId, keys, tally: undefined, version: -1, verdict: "skipped", index: 0, kept: false, deficient: false });
    this.rosters.set(seq, shares);
  }

  private summary(r: ScannedRecord, b: Record<string, unknown>): void {
    if (typeof b["host"] === "string") this.host = b["host"];
    const startedText = typeof b["started"] === "string" ? b["started"] : r.time;
    const started = Date.parse(startedText);
    if (!this.inPeriod(started)) {
      // the policy in force when the period began is the last one an operational run used before it
      if (started < this.o.startMs && b["dryRun"] !== true && b["sandbox"] !== true) this.policies.run(b, r.run, startedText);
      return;
    }
    if (b["dryRun"] === true) return void this.runs.dryRun++;
    if (b["sandbox"] === true) return void this.runs.sandbox++;
    this.runs.operational++;
    if (b["kind"] === "watch") this.runs.watch++;
    this.runIntervals.add(started);
    this.policies.run(b, r.run, startedText);
    const shares = typeof b["roster"] === "number" ? this.rosters.get(b["roster"]) : undefined;
    if (!shares) return;
    const day = this.dayOf(started);
    for (const share of shares) this.evaluated(share, day, r.run, startedText, started);
  }

  /** `run` started at `started` (`ms`): offered to a sample's reservoir as an Evaluation, made only when there is one (a year's runs × controls are millions) */
  private evaluated(share: RosterShare, day: number, run: number, started: string, ms: number): void {
    const c = (share.tally ??= this.control(share.controlId));
    if (share.version !== c.version) {
      const outcomes: Outcome[] = [];
      for (const k of share.keys) {
        const o = this.current.get(k);
        if (o) outcomes.push(o);
      }
      if (outcomes.length === 0) return; // no promise of it was ever recorded: nothing was proven of it
      const verdict = worst(outcomes);
      Object.assign(share, { version: c.version, verdict, index: outcomeOrder.indexOf(verdict), kept: KEPT.has(verdict), deficient: DEFICIENT.has(verdict) });
    }
    c.evaluations++;
    c.countVerdict(share.verdict, share.index);
    if (share.kept) c.kept++;
    c.intervals.add(ms);
    c.reservoir?.offer({ run, started });
    const point = c.days[day];
    if (point) {
      point.evaluations++;
      if (share.verdict === "kept") point.kept++;
      else if (share.deficient) point.deficient++;
      else point.other++;
    }
  }

  private approval(r: ScannedRecord, b: Record<string, unknown>): void {
    const a: IntegrityApproval = { at: r.time, record: r.seq, how: String(b["how"] ?? ""), paths: typeof b["paths"] === "number" ? b["paths"] : 0, sample: Array.isArray(b["sample"]) ? b["sample"].map(String) : [] };
    if (typeof b["by"] === "string") a.by = b["by"];
    if (typeof b["reason"] === "string") a.reason = b["reason"];
    const targets = Array.isArray(b["targets"]) ? b["targets"].map(String) : [];
    this.approvals.push({ approval: a, ...(typeof b["promise"] === "string" ? { promise: b["promise"] } : {}), targets });
  }

  /**
   * Gives each approval of the period to the controls it approved for: the promise a first-seen or
   * repaired approval names (`type:promiser`, the key without its control), or the controls and
   * paths `covenant approve` and `integrity init` were given. Called once the policy is known.
   */
  assignApprovals(promisesOf: ReadonlyMap<string, readonly { key: string; promiser: string }[]>): void {
    for (const { approval, promise, targets } of this.approvals) {
      const owners = approvalControls(promise, targets, promisesOf);
      if (owners.size === 0) this.integrity.unassignedApprovals++;
      for (const id of owners) this.control(id).approved.push(approval);
    }
    this.approvals.length = 0;
  }

  /** The index of the period's day an instant falls in (binary search over the days' first instants). */
  private dayOf(ms: number): number {
    const starts = this.o.dayStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= ms) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  finish(): void {
    this.episodes.finish();
  }
}

/**
 * The controls an approval approved for: the promise a first-seen or repaired approval names
 * (`type:promiser`, the key without its control), or the controls and paths `covenant approve`
 * and `integrity init` were given (a path under a promise's, or a promise's under a path given).
 * The hub's control page gives a host's approvals to its controls the same way.
 */
export function approvalControls(promise: string | undefined, targets: readonly string[], promisesOf: ReadonlyMap<string, readonly { key: string; promiser: string }[]>): Set<string> {
  const owners = new Set<string>();
  for (const [id, promises] of promisesOf) {
    if (targets.includes(id)) owners.add(id);
    for (const p of promises) {
      if (promise !== undefined && (p.key === promise || p.key === `${id}/${promise}` || p.key.startsWith(`${id}/${promise}#`))) owners.add(id);
      if (targets.some((t) => t === p.promiser || t.startsWith(`${p.promiser.replace(/\/+$/, "")}/`) || p.promiser.startsWith(`${t.replace(/\/+$/, "")}/`))) owners.add(id);
    }
  }
  return owners;
}
