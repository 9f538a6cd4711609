// Fuzzing `check` and `fmt` with a fixed budget (issue 13, "Checks"): byte mutations of real
// policies, random bytes and policies generated from the grammar, each examined in-process by
// the functions behind the two commands (see oracle.ts for the invariants). One run uses a fixed
// seed, so a regression shows the same way every time; one a fresh seed, printed when it fails
// (replay with FUZZ_SEED=<seed>). `npm run fuzz [seconds]` runs the same for longer.
import { rmSync } from "node:fs";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { fuzzInput, generatedPolicy, mutatedPolicy } from "./arbitraries.ts";
import type { Diagnostic } from "../../src/parser/diagnostics.ts";
import { examine, fuzzDirectory, positions } from "./oracle.ts";

afterAll(() => rmSync(fuzzDirectory(), { recursive: true, force: true }));

const FIXED_SEED = 20261205;
const BUDGET_MS = 2500;
/** Far above any input's time (a few ms): beyond it, an input is a hang. */
const PER_INPUT_MS = 3000;

function holds(text: string): void {
  const started = performance.now();
  const findings = examine(text);
  const ms = performance.now() - started;
  expect(findings.map((f) => `${f.kind} in ${f.step}: ${f.message}`)).toEqual([]);
  expect(ms, `a hang: one input took ${ms.toFixed(0)} ms`).toBeLessThan(PER_INPUT_MS);
}

function fuzz(arbitrary: fc.Arbitrary<string>, seed: number, budgetMs: number): number {
  let tried = 0;
  const result = fc.check(
    fc.property(arbitrary, (text) => {
      tried++;
      holds(text);
    }),
    { seed, numRuns: 1_000_000, interruptAfterTimeLimit: budgetMs, markInterruptAsFailure: false },
  );
  if (result.failed) {
    throw new Error(`fuzzing failed with seed ${seed} (replay: FUZZ_SEED=${seed} npx vitest run test/fuzz)\n${fc.defaultReportMessage(result)}`);
  }
  return tried;
}

describe("fuzzing check and fmt", () => {
  it(`holds for mutated real policies, seed ${FIXED_SEED}`, () => {
    expect(fuzz(mutatedPolicy, FIXED_SEED, BUDGET_MS)).toBeGreaterThan(50);
  });

  it(`holds for policies generated from the grammar, seed ${FIXED_SEED}`, () => {
    expect(fuzz(generatedPolicy, FIXED_SEED, BUDGET_MS)).toBeGreaterThan(50);
  });

  it("holds for every kind of input, with a fresh seed (printed when it fails)", () => {
    const seed = Number(process.env["FUZZ_SEED"] ?? Math.floor(Math.random() * 2 ** 31));
    expect(fuzz(fuzzInput, seed, BUDGET_MS)).toBeGreaterThan(50);
  });

  it("finds what it looks for: a diagnostic outside its file, an exception (the oracle is not vacuous)", () => {
    const d = (start: number, end: number) => ({ code: "E001", severity: "error", message: "m", span: { file: "f", start, end } }) as Diagnostic;
    expect(positions([d(0, 3)], new Map([["f", 3]]))).toEqual([]);
    expect(positions([d(2, 4)], new Map([["f", 3]]))).toHaveLength(1);
    expect(positions([d(2, 1)], new Map([["f", 3]]))).toHaveLength(1);
    expect(examine("let x = 1\n")).toEqual([]);
  });
});
