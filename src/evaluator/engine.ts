// The engine: evaluates every promise of a checked policy in written order (moved only as far
// as `depends_on` requires), each within its timeout: observe → judge → repair through the
// change gate → observe again to confirm (evaluate-item.ts). A control's verdict is the worst of
// its promises.
import type { CheckedControl, CheckedPromise, CheckedWaiver, Policy } from "../checker/policy.js";
import type { FactValue } from "../facts/host.js";
import type { ProbeRoots } from "../probes/result.js";
import { behavioursFor } from "./behaviours.js";
import { pluginBehaviour } from "./plugin-behaviour.js";
import { ChangeGate, type ChangeRecord } from "./change-gate.js";
import { Conditions } from "./conditions.js";
import { isoDate, localTime } from "../facts/calendar.js";
import type { BaselineStore, Difference, IntegrityStore, PromiseBehaviour, SampleStore } from "./contract.js";
import { MemoryIntegrity } from "./memory-integrity.js";
import type { EvaluationMemory } from "./evaluation-memory.js";
import { worst, type Outcome } from "./outcomes.js";
import type { FileFinding } from "./file-finding.js";
import { Snapshot } from "./snapshot.js";
import { PromiseTimeouts } from "./promise-timeouts.js";
import { activeWaiver, evaluateItem, promiserText, type Item, type RunContext } from "./evaluate-item.js";
import { join } from "node:path";

export { promiserText };

export interface EngineOptions {
  roots: ProbeRoots;
  /** a sandbox directory: paths named in the policy are read below it */
  filesRoot?: string;
  dryRun: boolean;
  /** changes outside this directory, and to processes, services and the kernel, are held */
  confineTo?: string;
  facts: ReadonlyMap<string, FactValue>;
  now: Date;
  /** the instant waivers are judged at, when not `now` (a test fixture's `facts.now`: file ages stay real) */
  calendarNow?: Date;
  baselines: BaselineStore;
  /** approved integrity states: the store's; in memory (nothing kept) when not given */
  integrity?: IntegrityStore;
  /** a dry run whose `integrity` store captures the states it sees (integrity-capture.ts) */
  captureIntegrity?: boolean;
  samples: SampleStore;
  /** the promise timeout when the policy sets none (ms) */
  defaultTimeoutMs?: number;
  /** stop evaluating new promises after this instant (the run timeout); the rest are `error` */
  deadline?: number;
  systemctl?: string;
  /** the modprobe program, for unloading modules (tests give a stand-in) */
  modprobe?: string;
  killGraceMs?: number;
  /** line of a source position (the CLI knows the texts); 0 when not given */
  lineOf?: (span: { file: string; start: number }) => number;
  /** called as each promise is decided, in evaluation order (the store commits here); awaited before the next promise */
  onResult?: (r: PromiseResult) => void | Promise<void>;
  /** asked before each change: a reason to hold it (the run can no longer record what it changes) */
  holdChanges?: () => string | undefined;
  /**
   * Evaluate only these promises (by key, as promiseKeys gives them for the whole policy, so a
   * repeated promiser keeps its `#n`): the watcher's evaluation of what an event touched. The
   * evaluation's controls are those with a promise evaluated.
   */
  only?: ReadonlySet<string>;
  /**
   * The watcher's: for a promise asked for by events alone, the paths they named since its last
   * evaluation (a promise not in it is evaluated whole). Used with `memory`.
   */
  focus?: ReadonlyMap<string, readonly string[]>;
  /** what each promise's type kept of its last evaluation in this process (evaluation-memory.ts) */
  memory?: EvaluationMemory;
}

export interface PromiseResult {
  /** stable identity across runs: control, type and promiser */
  key: string;
  control: string;
  type: string;
  /** the promiser as written, for people */
  promiser: string;
  outcome: Outcome;
  /** one line: why this outcome */
  reason: string;
  differences: Difference[];
  /** file-integrity findings: what changed at each path in AIDE's terms, its diff, who (file-finding.ts) */
  findings?: FileFinding[];
  /** set by `covenant approve` on the results its approval settled: the deficiency it closes says so */
  approval?: { by: string; reason: string; record: number };
  changes: ChangeRecord[];
  notes: string[];
  stakeholders: string[];
  file: string;
  line: number;
  durationMs: number;
}

export interface ControlResult {
  id: string;
  title: string;
  severity: string;
  owner?: string;
  key: boolean;
  verdict: Outcome;
  waiver?: { reason: string; approvedBy: string; until: string };
  promises: PromiseResult[];
}

export interface Evaluation {
  controls: ControlResult[];
  /** in evaluation order */
  results: PromiseResult[];
  contexts: Record<string, boolean>;
  changes: ChangeRecord[];
}

/**
 * Every promise of the policy with its key, in order: `control/type:promiser`, with `#n` for
 * the n-th repeat of the same. The key of a promise's state, its deficiency and its history.
 */
export function promiseKeys(policy: Policy): { control: CheckedControl; promise: CheckedPromise; key: string }[] {
  const out: { control: CheckedControl; promise: CheckedPromise; key: string }[] = [];
  const seen = new Map<string, number>();
  for (const control of policy.controls) {
    for (const promise of control.promises) {
      const base = `${control.id}/${promise.type}:${promiserText(promise)}`;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      out.push({ control, promise, key: n === 1 ? base : `${base}#${n}` });
    }
  }
  return out;
}

/** Promises in written order, each moved after the promises it depends on. */
export function evaluationOrder(items: Item[]): Item[] {
  const byHandle = new Map<string, Item>();
  for (const it of items) if (it.promise.handle) byHandle.set(it.promise.handle, it);
  const done = new Set<Item>();
  const out: Item[] = [];
  const visiting = new Set<Item>();
  const visit = (it: Item) => {
    if (done.has(it) || visiting.has(it)) return; // the checker rejects cycles; never loop here
    visiting.add(it);
    for (const h of it.promise.dependsOn) {
      const dep = byHandle.get(h);
      if (dep) visit(dep);
    }
    visiting.delete(it);
    done.add(it);
    out.push(it);
  };
  for (const it of items) visit(it);
  return out;
}

export async function evaluate(policy: Policy, opts: EngineOptions): Promise<Evaluation> {
  const conditions = new Conditions(opts.facts, policy.contexts, policy.variables);
  const snapshot = new Snapshot(opts.roots);
  // the site's own types (`promise_type`) are run by their plugins; a built-in name is never one (E114)
  const plugins = new Map([...(policy.promiseTypes ?? new Map()).values()].map((t) => [t.name, pluginBehaviour(t) as PromiseBehaviour<unknown>]));
  const gateOptions = changeGateOptions(opts);
  // the behaviours of the types evaluated, and only those, loaded: before the gate is opened, so
  // that a type whose code fails to load leaves no descriptor of the gate's behind
  // a literal, not `{ ...k, index }`: V8 gave each spread copy a hidden class of its own (2,000
  // promises, 2,000 classes, 0.4 MB of a run's peak)
  const every: Item[] = promiseKeys(policy).map((k, index) => ({ control: k.control, promise: k.promise, key: k.key, index }));
  const only = opts.only;
  const items = only === undefined ? every : every.filter((i) => only.has(i.key));
  const builtins = await behavioursFor(items.map((i) => i.promise.type));
  const gate = new ChangeGate(gateOptions);
  const run = runContext(policy, opts, conditions, snapshot, gate, (type: string) => builtins.get(type) ?? plugins.get(type));
  const results = new Map<Item, PromiseResult>();
  const order = evaluationOrder(items);
  try {
    for (const it of order) {
      // process.hrtime, not performance.now(): the global `performance` loads perf_hooks (a few ms at every run's start)
      const started = process.hrtime.bigint();
      const r = await evaluateItem(run, it);
      // what was kept of an evaluation that did not observe (skipped, error, timed out) is not to
      // be built on: events it was asked for are not looked at, so the next evaluation is whole
      if (r.outcome === "skipped" || r.outcome === "error") opts.memory?.of(it.key).forget();
      r.durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
      results.set(it, r);
      await opts.onResult?.(r);
    }
  } finally {
    run.timeouts.close();
    gate.close();
  }
  const evaluated = only === undefined ? policy.controls : policy.controls.filter((c) => items.some((i) => i.control === c));
  const controls = evaluated.map((c) => controlResult(c, items, results, policy.waivers, run.today));
  return { controls, results: order.map((i) => results.get(i)!), contexts: conditions.allContexts(), changes: gate.log };
}

function changeGateOptions(opts: EngineOptions): ConstructorParameters<typeof ChangeGate>[0] {
  const gateOptions: ConstructorParameters<typeof ChangeGate>[0] = { dryRun: opts.dryRun, procRoot: opts.roots.proc };
  if (opts.confineTo !== undefined) gateOptions.confineTo = opts.confineTo;
  if (opts.systemctl !== undefined) gateOptions.systemctl = opts.systemctl;
  if (opts.modprobe !== undefined) gateOptions.modprobe = opts.modprobe;
  if (opts.killGraceMs !== undefined) gateOptions.killGraceMs = opts.killGraceMs;
  if (opts.holdChanges !== undefined) gateOptions.hold = opts.holdChanges;
  return gateOptions;
}

/** What the run's promises share, made once before the first is evaluated. */
function runContext(policy: Policy, opts: EngineOptions, conditions: Conditions, snapshot: Snapshot, gate: ChangeGate, behaviourOf: RunContext["behaviourOf"]): RunContext {
  // a dry run is a preview: it approves no integrity baseline and learns no band
  const baselines: BaselineStore = opts.dryRun ? { get: (p) => opts.baselines.get(p), set: () => undefined, keyDigest: (d) => opts.baselines.keyDigest(d) } : opts.baselines;
  const given: IntegrityStore = opts.integrity ?? new MemoryIntegrity();
  // nor does it approve any integrity state it sees first
  // (unless it is what the run is for: `covenant integrity init` and `approve` capture states in a dry run)
  const integrity: IntegrityStore = opts.dryRun && !opts.captureIntegrity ? { readOnly: true, approved: (p) => given.approved(p), approvedCopy: (p, r) => given.approvedCopy?.(p, r) ?? { none: "no approved copy kept" }, approvedBelow: (p) => given.approvedBelow(p), recordFirst: () => undefined, keyLine: (l) => given.keyLine(l) } : given;
  const samples: SampleStore = opts.dryRun ? { observe: (m, h) => opts.samples.band(m, h), band: (m, h) => opts.samples.band(m, h) } : opts.samples;
  const root = opts.filesRoot;
  const hostPath = root === undefined ? (p: string) => p : (p: string) => join(root, p);
  // a waiver's dates are the business's dates: "until 2026-12-31" holds to the end of that day in the calendar's zone
  const t = localTime(opts.calendarNow ?? opts.now, policy.calendar.timezone);
  const today = isoDate(t.year, t.month, t.day);
  return { opts, waivers: policy.waivers, conditions, snapshot, gate, baselines, integrity, samples, hostPath, behaviourOf, today, timeouts: new PromiseTimeouts() };
}

function controlResult(c: CheckedControl, items: Item[], results: Map<Item, PromiseResult>, waivers: CheckedWaiver[], today: string): ControlResult {
  const promises = items.filter((i) => i.control === c).map((i) => results.get(i)!);
  const cr: ControlResult = { id: c.id, title: c.title, severity: c.severity, key: c.key, verdict: worst(promises.map((p) => p.outcome)), promises };
  if (c.owner !== undefined) cr.owner = c.owner;
  const w = activeWaiver(waivers, c.id, today);
  if (w) cr.waiver = { reason: w.reason, approvedBy: w.approvedBy, until: w.until };
  return cr;
}
