// A test's expectations against what its run observed: each control's verdict (the worst outcome
// of its promises), each promise's outcome, and, with `reason`, the text that says the promise
// meant to catch the fixture's fault caught it. Each mismatch says what was expected, what was
// observed, and the reasons of the promises behind it, so that a failing test explains itself.
import type { ControlResult, Evaluation, PromiseResult } from "../evaluator/engine.js";
import type { Expectation, PolicyTest } from "./test-file.js";

export interface Mismatch {
  /** `control SOX-AC-01` or `promise SOX-AC-01/account:root` */
  subject: string;
  expected: string;
  observed: string;
  /** the promises behind what was observed: `key: outcome: reason` (those not kept, or the one named) */
  details: string[];
}

const expectedText = (e: Expectation, others = false) => `${e.outcomes.join(" or ")}${e.reason !== undefined ? ` with a reason containing ${JSON.stringify(e.reason)}` : ""}${others ? " (others)" : ""}`;
const line = (p: PromiseResult) => `${p.key}: ${p.outcome}: ${p.reason}`;
/** The promises worth showing under a control's mismatch: those not simply kept or skipped. */
const notable = (c: ControlResult) => c.promises.filter((p) => p.outcome !== "kept" && p.outcome !== "skipped").map(line);

function judgeControl(c: ControlResult | undefined, id: string, e: Expectation, others: boolean): Mismatch | undefined {
  const subject = `control ${id}`;
  if (!c) return { subject, expected: expectedText(e, others), observed: "not evaluated", details: [] };
  const verdictOk = e.outcomes.includes(c.verdict);
  const caught = e.reason === undefined || c.promises.some((p) => e.outcomes.includes(p.outcome) && p.reason.includes(e.reason!));
  if (verdictOk && caught) return undefined;
  const observed = verdictOk ? `${c.verdict}, but no ${e.outcomes.join(" or ")} promise gives that reason` : c.verdict;
  return { subject, expected: expectedText(e, others), observed, details: notable(c) };
}

function judgePromise(p: PromiseResult | undefined, key: string, e: Expectation): Mismatch | undefined {
  const subject = `promise ${key}`;
  if (!p) return { subject, expected: expectedText(e), observed: "not evaluated", details: [] };
  const ok = e.outcomes.includes(p.outcome) && (e.reason === undefined || p.reason.includes(e.reason));
  if (ok) return undefined;
  return { subject, expected: expectedText(e), observed: `${p.outcome}: ${p.reason}`, details: [] };
}

/** Every way the run differs from the test's expectations; none: the test passes. */
export function judge(test: PolicyTest, evaluation: Evaluation, keys: ReadonlyMap<string, readonly string[]>): Mismatch[] {
  const controls = new Map(evaluation.controls.map((c) => [c.id, c]));
  const promises = new Map(evaluation.results.map((p) => [p.key, p]));
  const out: Mismatch[] = [];
  for (const [id, e] of test.controls) {
    const m = judgeControl(controls.get(id), id, e, false);
    if (m) out.push(m);
  }
  for (const [key, e] of test.promises) {
    const m = judgePromise(promises.get(key), key, e);
    if (m) out.push(m);
  }
  if (test.others) {
    // a control is named when it, or one of its promises, has an expectation of its own
    const named = new Set([...test.controls.keys(), ...[...test.promises.keys()].map((k) => controlOf(k, keys))]);
    for (const id of keys.keys()) {
      if (named.has(id)) continue;
      const m = judgeControl(controls.get(id), id, test.others, true);
      if (m) out.push(m);
    }
  }
  return out;
}

/** The control a promise key belongs to (control ids may hold `/`: the policy's own keys decide). */
export function controlOf(key: string, keys: ReadonlyMap<string, readonly string[]>): string | undefined {
  for (const [id, list] of keys) if (list.includes(key)) return id;
  return undefined;
}
