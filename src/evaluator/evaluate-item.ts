// One promise of a run evaluated: its conditions, then its behaviour within its timeout
// (observe → judge → repair through the change gate → observe again to confirm), then its
// waiver. evaluate() (engine.ts) calls it for every promise in turn: what the run shares is made
// once, in a RunContext, so that a promise costs no closure or object beyond its own.
import type { CheckedControl, CheckedPromise, CheckedWaiver } from "../checker/policy.js";
import { exprText } from "../parser/ast.js";
import type { ProbeRoots } from "../probes/result.js";
import type { ChangeGate } from "./change-gate.js";
import type { Conditions } from "./conditions.js";
import { CannotObserve, type BaselineStore, type Difference, type EvalContext, type IntegrityStore, type Observation, type PromiseBehaviour, type SampleStore } from "./contract.js";
import type { EngineOptions, PromiseResult } from "./engine.js";
import { approveRepaired } from "./integrity-repaired.js";
import type { Snapshot } from "./snapshot.js";
import { PromiseStop, type PromiseTimeouts } from "./promise-timeouts.js";
import { lstatSync } from "node:fs";
import { join } from "node:path";

/** A promise of the policy, with its control, its key and its place in the written order. */
export interface Item {
  control: CheckedControl;
  promise: CheckedPromise;
  key: string;
  index: number;
}

/** What every promise of one run is evaluated with: made once, by evaluate(). */
export interface RunContext {
  readonly opts: EngineOptions;
  readonly waivers: CheckedWaiver[];
  readonly conditions: Conditions;
  readonly snapshot: Snapshot;
  readonly gate: ChangeGate;
  /** the stores as the run may use them (a dry run's write nothing: see evaluate()) */
  readonly baselines: BaselineStore;
  readonly integrity: IntegrityStore;
  readonly samples: SampleStore;
  readonly hostPath: (policyPath: string) => string;
  readonly behaviourOf: (type: string) => PromiseBehaviour<unknown> | undefined;
  /** the calendar's date: what waivers are judged on */
  readonly today: string;
  readonly timeouts: PromiseTimeouts;
}

export function promiserText(p: CheckedPromise): string {
  if (p.promiser === undefined || p.promiser === null) return "";
  return typeof p.promiser === "string" ? p.promiser : JSON.stringify(p.promiser);
}

export function activeWaiver(waivers: CheckedWaiver[], control: string, today: string): CheckedWaiver | undefined {
  return waivers.find((w) => w.control === control && w.until >= today && (w.from === undefined || w.from <= today));
}

/** Whether the sandbox holds the recorded answer a type observes it through (a fixture's `commands`). */
function answered(behaviour: PromiseBehaviour<unknown>, roots: ProbeRoots): boolean {
  return behaviour.sandboxAnswer !== undefined && roots.answers !== undefined && lstatSync(join(roots.answers, behaviour.sandboxAnswer), { throwIfNoEntry: false }) !== undefined;
}

export async function evaluateItem(run: RunContext, it: Item): Promise<PromiseResult> {
  const { control, promise } = it;
  const opts = run.opts;
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
  if (!conditionsHold(run.conditions, control, promise, result)) return result;
  if (opts.deadline !== undefined && Date.now() > opts.deadline) {
    result.reason = "not evaluated: the run timeout expired";
    return result;
  }
  const behaviour = run.behaviourOf(promise.type);
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
  const ctx = evalContext(run, it.key, stop);
  await decideWithin({ timeouts: run.timeouts, ms: timeoutMs, stop }, (draft) => decide(run.snapshot, behaviour, promise, ctx, draft), result);
  const waiver = result.outcome === "drift" || result.outcome === "failed" ? activeWaiver(run.waivers, control.id, run.today) : undefined;
  if (waiver) {
    result.notes.push(`would be ${result.outcome}; waived`);
    // who accepted the risk, in the record itself: a waiver given on the fleet hub is in no policy file
    result.notes.push(`waiver approved by ${waiver.approvedBy}, until ${waiver.until}${waiver.ticket !== undefined ? ` (${waiver.ticket})` : ""}`);
    result.outcome = "waived";
  }
  return result;
}

/** Whether the control's and the promise's conditions hold; where one does not, or cannot be evaluated, `result` says so. */
function conditionsHold(conditions: Conditions, control: CheckedControl, promise: CheckedPromise, result: PromiseResult): boolean {
  for (const [who, cond] of [
    ["control", control.when],
    ["promise", promise.when],
  ] as const) {
    let holds: boolean;
    try {
      holds = cond === undefined || conditions.holds(cond);
    } catch (err) {
      result.reason = `the ${who}'s condition \`${exprText(cond!)}\` cannot be evaluated: ${(err as Error).message}`;
      return false;
    }
    if (!holds) {
      result.outcome = "skipped";
      result.reason = `the ${who}'s condition \`${exprText(cond!)}\` is false`;
      return false;
    }
  }
  return true;
}

/** What a promise's behaviour is given: the run's, with this promise's stop, and what the watcher kept of it. */
function evalContext(run: RunContext, key: string, stop: PromiseStop): EvalContext {
  const opts = run.opts;
  const ctx: EvalContext = {
    roots: opts.roots,
    hostPath: run.hostPath,
    snapshot: run.snapshot,
    gate: run.gate,
    baselines: run.baselines,
    integrity: run.integrity,
    samples: run.samples,
    now: opts.now,
    stop,
    get signal() {
      return stop.signal;
    },
  };
  const memory = opts.memory?.of(key);
  if (memory) ctx.memory = memory;
  const focus = opts.focus?.get(key);
  if (focus && memory) ctx.focus = focus;
  return ctx;
}

async function decide(snapshot: Snapshot, behaviour: PromiseBehaviour<unknown>, promise: CheckedPromise, ctx: EvalContext, result: PromiseResult): Promise<"done"> {
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
  const after = await reobserve(snapshot, behaviour, promise, ctx);
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
async function reobserve(snapshot: Snapshot, behaviour: PromiseBehaviour<unknown>, promise: CheckedPromise, ctx: EvalContext): Promise<Observation<unknown>> {
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
