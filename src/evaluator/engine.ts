// The engine: evaluates every promise of a checked policy in written order (moved only as far
// as `depends_on` requires), each within its timeout: observe → judge → repair through the
// change gate → observe again to confirm. A control's verdict is the worst of its promises.
import type { CheckedControl, CheckedPromise, CheckedWaiver, Policy } from "../checker/policy.js";
import { exprText } from "../parser/ast.js";
import type { FactValue } from "../facts/host.js";
import type { ProbeRoots } from "../probes/result.js";
import { behavioursFor } from "./behaviours.js";
import { pluginBehaviour } from "./plugin-behaviour.js";
import type { PromiseBehaviour } from "./contract.js";
import { ChangeGate, type ChangeRecord } from "./change-gate.js";
import { Conditions } from "./conditions.js";
import { isoDate, localTime } from "../facts/calendar.js";
import { CannotObserve, type BaselineStore, type Difference, type EvalContext, type IntegrityStore, type Observation, type SampleStore } from "./contract.js";
import { MemoryIntegrity } from "./memory-integrity.js";
import type { EvaluationMemory } from "./evaluation-memory.js";
import { worst, type Outcome } from "./outcomes.js";
import type { FileFinding } from "./file-finding.js";
import { approveRepaired } from "./integrity-repaired.js";
import { Snapshot } from "./snapshot.js";
import { PromiseStop, PromiseTimeouts } from "./promise-timeouts.js";
import { lstatSync } from "node:fs";
import { join } from "node:path";

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

interface Item {
  control: CheckedControl;
  promise: CheckedPromise;
  key: string;
  index: number;
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

export function promiserText(p: CheckedPromise): string {
  if (p.promiser === undefined || p.promiser === null) return "";
  return typeof p.promiser === "string" ? p.promiser : JSON.stringify(p.promiser);
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

/** Whether the sandbox holds the recorded answer a type observes it through (a fixture's `commands`). */
function answered(behaviour: PromiseBehaviour<unknown>, roots: ProbeRoots): boolean {
  return behaviour.sandboxAnswer !== undefined && roots.answers !== undefined && lstatSync(join(roots.answers, behaviour.sandboxAnswer), { throwIfNoEntry: false }) !== undefined;
}

function activeWaiver(waivers: CheckedWaiver[], control: string, today: string): CheckedWaiver | undefined {
  return waivers.find((w) => w.control === control && w.until >= today && (w.from === undefined || w.from <= today));
}

export async function evaluate(policy: Policy, opts: EngineOptions): Promise<Evaluation> {
  const conditions = new Conditions(opts.facts, policy.contexts, policy.variables);
  const snapshot = new Snapshot(opts.roots);
  // the site's own types (`promise_type`) are run by their plugins; a built-in name is never one (E114)
  const plugins = new Map([...(policy.promiseTypes ?? new Map()).values()].map((t) => [t.name, pluginBehaviour(t) as PromiseBehaviour<unknown>]));
  const gateOptions: ConstructorParameters<typeof ChangeGate>[0] = { dryRun: opts.dryRun, procRoot: opts.roots.proc };
  if (opts.confineTo !== undefined) gateOptions.confineTo = opts.confineTo;
  if (opts.systemctl !== undefined) gateOptions.systemctl = opts.systemctl;
  if (opts.modprobe !== undefined) gateOptions.modprobe = opts.modprobe;
  if (opts.killGraceMs !== undefined) gateOptions.killGraceMs = opts.killGraceMs;
  if (opts.holdChanges !== undefined) gateOptions.hold = opts.holdChanges;
  // the behaviours of the types evaluated, and only those, loaded: before the gate is opened, so
  // that a type whose code fails to load leaves no descriptor of the gate's behind
  const every: Item[] = promiseKeys(policy).map((k, index) => ({ ...k, index }));
  const only = opts.only;
  const items = only === undefined ? every : every.filter((i) => only.has(i.key));
  const builtins = await behavioursFor(items.map((i) => i.promise.type));
  const gate = new ChangeGate(gateOptions);
  // a dry run is a preview: it approves no integrity baseline and learns no band
  const baselines: BaselineStore = opts.dryRun ? { get: (p) => opts.baselines.get(p), set: () => undefined, keyDigest: (d) => opts.baselines.keyDigest(d) } : opts.baselines;
  const given: IntegrityStore = opts.integrity ?? new MemoryIntegrity();
  // nor does it approve any integrity state it sees first
  // (unless it is what the run is for: `covenant integrity init` and `approve` capture states in a dry run)
  const integrity: IntegrityStore = opts.dryRun && !opts.captureIntegrity ? { readOnly: true, approved: (p) => given.approved(p), approvedCopy: (p, r) => given.approvedCopy?.(p, r) ?? { none: "no approved copy kept" }, approvedBelow: (p) => given.approvedBelow(p), recordFirst: () => undefined, keyLine: (l) => given.keyLine(l) } : given;
  const samples: SampleStore = opts.dryRun ? { observe: (m, h) => opts.samples.band(m, h), band: (m, h) => opts.samples.band(m, h) } : opts.samples;
  const root = opts.filesRoot;
  const hostPath = root === undefined ? (p: string) => p : (p: string) => join(root, p);

  const behaviourOf = (type: string) => builtins.get(type) ?? plugins.get(type);
  // a waiver's dates are the business's dates: "until 2026-12-31" holds to the end of that day in the calendar's zone
  const t = localTime(opts.calendarNow ?? opts.now, policy.calendar.timezone);
  const today = isoDate(t.year, t.month, t.day);
  const results = new Map<Item, PromiseResult>();
  const order = evaluationOrder(items);
  const timeouts = new PromiseTimeouts();
  try {
    for (const it of order) {
      // process.hrtime, not performance.now(): the global `performance` loads perf_hooks (a few ms at every run's start)
      const started = process.hrtime.bigint();
      const r = await evaluateItem(it);
      // what was kept of an evaluation that did not observe (skipped, error, timed out) is not to
      // be built on: events it was asked for are not looked at, so the next evaluation is whole
      if (r.outcome === "skipped" || r.outcome === "error") opts.memory?.of(it.key).forget();
      r.durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
      results.set(it, r);
      await opts.onResult?.(r);
    }
  } finally {
    timeouts.close();
    gate.close();
  }

  async function evaluateItem(it: Item): Promise<PromiseResult> {
    const { control, promise } = it;
    const result: PromiseResult = {
      key: it.key,
      control: control.id,
      type: promise.type,
      promiser: promiserText(promise),
      outcome: "error",
      reason: "",
      differences: [],
      changes: [],
      notes: [],
      stakeholders: promise.stakeholders,
      file: promise.span.file,
      line: opts.lineOf?.(promise.span) ?? 0,
      durationMs: 0,
    };
    for (const [who, cond] of [
      ["control", control.when],
      ["promise", promise.when],
    ] as const) {
      let holds: boolean;
      try {
        holds = cond === undefined || conditions.holds(cond);
      } catch (err) {
        result.reason = `the ${who}'s condition \`${exprText(cond!)}\` cannot be evaluated: ${(err as Error).message}`;
        return result;
      }
      if (!holds) {
        result.outcome = "skipped";
        result.reason = `the ${who}'s condition \`${exprText(cond!)}\` is false`;
        return result;
      }
    }
    if (opts.deadline !== undefined && Date.now() > opts.deadline) {
      result.reason = "not evaluated: the run timeout expired";
      return result;
    }
    const behaviour = behaviourOf(promise.type);
    if (!behaviour) {
      result.reason = `promise type \`${promise.type}\` has no behaviour in this version`;
      return result;
    }
    if (behaviour.notInSandbox && opts.filesRoot !== undefined && !answered(behaviour, opts.roots)) {
      result.outcome = "skipped";
      result.reason = `not run in the sandbox: ${behaviour.notInSandbox}`;
      return result;
    }
    const timeoutMs = (promise.attributes["timeout"] as number | undefined) ?? opts.defaultTimeoutMs ?? 30_000;
    const stop = new PromiseStop();
    const ctx: EvalContext = {
      roots: opts.roots,
      hostPath,
      snapshot,
      gate,
      baselines,
      integrity,
      samples,
      now: opts.now,
      stop,
      get signal() {
        return stop.signal;
      },
    };
    const memory = opts.memory?.of(it.key);
    if (memory) ctx.memory = memory;
    const focus = opts.focus?.get(it.key);
    if (focus && memory) ctx.focus = focus;
    await decideWithin({ timeouts, ms: timeoutMs, stop }, (draft) => decide(behaviour, promise, ctx, draft), result);
    const waiver = result.outcome === "drift" || result.outcome === "failed" ? activeWaiver(policy.waivers, control.id, today) : undefined;
    if (waiver) {
      result.notes.push(`would be ${result.outcome}; waived`);
      // who accepted the risk, in the record itself: a waiver given on the fleet hub is in no policy file
      result.notes.push(`waiver approved by ${waiver.approvedBy}, until ${waiver.until}${waiver.ticket !== undefined ? ` (${waiver.ticket})` : ""}`);
      result.outcome = "waived";
    }
    return result;
  }

  const evaluated = only === undefined ? policy.controls : policy.controls.filter((c) => items.some((i) => i.control === c));
  const controls: ControlResult[] = evaluated.map((c) => {
    const promises = items.filter((i) => i.control === c).map((i) => results.get(i)!);
    const cr: ControlResult = { id: c.id, title: c.title, severity: c.severity, key: c.key, verdict: worst(promises.map((p) => p.outcome)), promises };
    if (c.owner !== undefined) cr.owner = c.owner;
    const w = activeWaiver(policy.waivers, c.id, today);
    if (w) cr.waiver = { reason: w.reason, approvedBy: w.approvedBy, until: w.until };
    return cr;
  });
  return { controls, results: order.map((i) => results.get(i)!), contexts: conditions.allContexts(), changes: gate.log };

  async function decide(behaviour: PromiseBehaviour<unknown>, promise: CheckedPromise, ctx: EvalContext, result: PromiseResult): Promise<"done"> {
    const first = await behaviour.observe(promise, ctx);
    if (!first.ok) {
      result.outcome = "error";
      result.reason = first.error;
      return "done";
    }
    if (first.notes) result.notes.push(...first.notes);
    // what changed since the approved state, as first observed: a repair does not make it unseen
    if (first.findings && first.findings.length > 0) result.findings = first.findings;
    const differences = behaviour.judge(promise, first.value, ctx);
    if (differences.length === 0) {
      result.outcome = "kept";
      result.reason = "as promised";
      return "done";
    }
    result.differences = differences;
    const plan = behaviour.repair?.(promise, first.value, differences, ctx) ?? [];
    if (plan.length === 0) {
      result.outcome = "drift";
      result.reason = summarise(differences);
      return "done";
    }
    // the draft's list is filled as the gate goes: a timeout mid-change keeps what was done
    await ctx.gate.apply(plan, ctx.signal, result.changes);
    const applied = result.changes.filter((c) => c.status === "applied");
    // skipped: nothing was left to do (the process to stop had gone): what holds now decides
    const skipped = result.changes.some((c) => c.status === "skipped");
    if (applied.length === 0 && !skipped) {
      const failed = result.changes.filter((c) => c.status === "failed");
      if (failed.length > 0) {
        result.outcome = "failed";
        result.reason = `repair failed: ${failed.map((c) => `${c.description}: ${c.detail}`).join("; ")}`;
      } else {
        result.outcome = "drift";
        const held = result.changes.find((c) => c.status === "held");
        result.reason = `${summarise(differences)} (${held ? `repair held: ${held.detail}` : "dry run: repair not applied"})`;
      }
      return "done";
    }
    snapshot.invalidate();
    const after = await reobserve(behaviour, promise, ctx);
    if (!after.ok) {
      result.outcome = "failed";
      result.reason = `repaired, but could not observe again: ${after.error}`;
      return "done";
    }
    const remaining = behaviour.judge(promise, after.value, ctx);
    if (remaining.length === 0 && applied.length === 0) {
      result.outcome = "kept";
      result.reason = `as promised when the repair came to it (${result.changes.map((c) => c.detail ?? c.description).join("; ")})`;
    } else if (remaining.length === 0) {
      result.outcome = "repaired";
      // what was wrong, then what fixed it: the outcome itself already says "repaired"
      result.reason = `${summarise(differences)}; fixed: ${applied.map((c) => c.description).join("; ")}`;
      try {
        await approveRepaired(promise, ctx, result.changes);
      } catch (err) {
        result.notes.push(`the state the repair left could not be recorded as approved: ${(err as Error).message}`);
      }
    } else {
      result.outcome = "failed";
      result.reason = `still not as promised after repair: ${summarise(remaining)}`;
      result.notes.push(...remaining.map((d) => `after repair: ${d.reason}`));
    }
    return "done";
  }

  /**
   * Observes after a repair. Where a repair takes time to show (a started process), polls until
   * the promise holds or the settle time is over; a state that holds must still hold a moment
   * later, so that a program that starts and dies at once is not taken for a repair.
   */
  async function reobserve(behaviour: PromiseBehaviour<unknown>, promise: CheckedPromise, ctx: EvalContext): Promise<Observation<unknown>> {
    const settleMs = behaviour.settleMs ?? 0;
    const settleUntil = Date.now() + settleMs;
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    for (;;) {
      const o = await behaviour.observe(promise, ctx);
      const holds = o.ok && behaviour.judge(promise, o.value, ctx).length === 0;
      if (holds && settleMs > 0) {
        await pause(Math.min(500, settleMs));
        snapshot.invalidate();
        const again = await behaviour.observe(promise, ctx);
        if (!again.ok || behaviour.judge(promise, again.value, ctx).length === 0 || Date.now() >= settleUntil || ctx.stop.aborted) return again;
        continue;
      }
      if (!o.ok || holds || Date.now() >= settleUntil || ctx.stop.aborted) return o;
      await pause(100);
      snapshot.invalidate();
    }
  }
}

/**
 * Runs `decide` within the promise's timeout and settles `result` from it. decide() works on a
 * draft: after a timeout it may still be running, and must not overwrite the outcome (`error`,
 * timed out, the promise's stop aborted); what the gate already changed is kept either way.
 */
async function decideWithin(timeout: { timeouts: PromiseTimeouts; ms: number; stop: PromiseStop }, decide: (draft: PromiseResult) => Promise<"done">, result: PromiseResult): Promise<void> {
  let disarm = () => {};
  const timedOut = new Promise<"timeout">((resolve) => {
    disarm = timeout.timeouts.arm(timeout.ms, () => resolve("timeout"));
  });
  const draft: PromiseResult = { ...result, differences: [], changes: [], notes: [] };
  try {
    const done = await Promise.race([decide(draft), timedOut]);
    if (done === "timeout") {
      timeout.stop.abort();
      result.outcome = "error";
      result.reason = `timed out after ${timeout.ms / 1000}s`;
      // copies: the evaluation still runs, and may add to its draft after the result is recorded
      adoptDraft(result, draft, (a) => [...a]);
    } else {
      result.outcome = draft.outcome;
      result.reason = draft.reason;
      adoptDraft(result, draft, (a) => a);
    }
  } catch (err) {
    result.outcome = "error";
    result.reason = err instanceof CannotObserve ? err.message : `internal error while evaluating: ${(err as Error).message}`;
    result.changes = [...draft.changes];
  } finally {
    disarm();
  }
}

/** What the draft found, into the result, each list as `take` gives it. */
function adoptDraft(result: PromiseResult, draft: PromiseResult, take: <T>(list: T[]) => T[]): void {
  result.differences = take(draft.differences);
  result.changes = take(draft.changes);
  result.notes = take(draft.notes);
  if (draft.findings) result.findings = take(draft.findings);
}

function summarise(differences: Difference[]): string {
  const first = differences[0]!.reason;
  return differences.length === 1 ? first : `${first} (and ${differences.length - 1} more)`;
}
