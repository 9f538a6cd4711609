// Evaluates a policy written inline, against the real host (or the given roots), with
// in-memory baselines: the kit the promise-type behaviour tests use.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkPaths } from "../../src/checker/check.ts";
import { evaluate, type EngineOptions, type Evaluation, type PromiseResult } from "../../src/evaluator/engine.ts";
import { readFacts } from "../../src/facts/host.ts";
import { MemoryBaselines, MemorySamples } from "../../src/store/memory.ts";

export interface EvaluateOptions extends Partial<EngineOptions> {
  /** put around promises that are not already in a control */
  wrap?: boolean;
}

/** Checks and evaluates `policy`; fails the test with the diagnostics when it does not check. */
export async function evaluateText(policy: string, options: EvaluateOptions = {}): Promise<Evaluation> {
  const dir = mkdtempSync(join(tmpdir(), "covenant-eval-"));
  const file = join(dir, "test.promise");
  const text = options.wrap === false || /^\s*control\b/m.test(policy) ? policy : `control "T-1" {\n  title = "test"\n${policy}\n}\n`;
  writeFileSync(file, text);
  const checked = checkPaths([file]);
  if (!checked.policy) throw new Error(`policy does not check:\n${checked.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n")}\n${text}`);
  const now = options.now ?? new Date();
  return evaluate(checked.policy, {
    roots: { proc: "/proc", etc: "/etc" },
    dryRun: false,
    facts: readFacts({ now }),
    now,
    baselines: new MemoryBaselines(),
    samples: new MemorySamples(),
    killGraceMs: 2000,
    ...options,
  });
}

/** The single promise's result of a one-promise policy. */
export async function evaluateOne(promise: string, options: EvaluateOptions = {}): Promise<PromiseResult> {
  const e = await evaluateText(promise, options);
  if (e.results.length !== 1) throw new Error(`expected one promise, got ${e.results.length}`);
  return e.results[0]!;
}
