// `covenant test [paths...]`: the policy tests (*.test.yaml) found under the paths, each run in a
// sandbox made from its fixture; pass or fail with what differed, coverage, and a summary. Bad
// input (a test file, a policy or a fixture in error) is reported all at once, as `covenant
// check` reports a policy, and no test runs (exit 2).
import { countDiagnostics, compareDiagnostics, LineIndex } from "../../parser/diagnostics.js";
import { loadTests, type RunnableTest } from "../../testing/load-tests.js";
import { coverage, renderJson, renderJunit, renderResult, renderSummary, type Coverage } from "../../testing/report.js";
import { runTests } from "../../testing/run-tests.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { SourceMap } from "../../parser/source-map.js";
import { renderDiagnostic, summaryLine, toJson } from "../render.js";
import { writeReport } from "../report-file.js";

export interface TestCommandOptions {
  json: boolean;
  junit?: string;
  /** directories whose .promise files policies may import (--include) */
  include: string[];
  /** keep each test's sandbox, and say where (--keep-sandboxes) */
  keep: boolean;
  /** --min-coverage, as given: the least share (percent) of controls and of promises covered */
  minCoverage?: string;
}

/** `--min-coverage`'s percent, or why it is not one. */
function minCoverageOf(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d{1,3}(?:\.\d+)?)%?$/.exec(text.trim());
  const n = m ? Number(m[1]) : NaN;
  return Number.isFinite(n) && n >= 0 && n <= 100 ? n : `--min-coverage wants a percent from 0 to 100, such as 80, got \`${escapeText(text)}\``;
}

/** What falls short of the coverage asked for, one line each (none when it is met). */
function shortfalls(cov: Coverage, min: number): string[] {
  const out: string[] = [];
  for (const [what, c] of [["controls", cov.controls], ["promises", cov.promises]] as const) {
    const share = c.total === 0 ? 100 : (100 * c.covered) / c.total;
    // said rounded down: a share just below what was asked is never said as reaching it (66.666… as 66.6, not 66.7)
    if (share < min) out.push(`${c.covered} of ${c.total} ${what} covered (${(Math.floor(share * 10) / 10).toFixed(1)}%), below --min-coverage ${min}%`);
  }
  return out;
}

export async function runTestCommand(paths: string[], opts: TestCommandOptions, io: Io): Promise<number> {
  const min = minCoverageOf(opts.minCoverage);
  if (typeof min === "string") {
    io.err(`covenant test: ${min}`);
    return EXIT.policyError;
  }
  const today = new Date().toISOString().slice(0, 10);
  const loaded = loadTests(paths, { include: opts.include, today });
  if (loaded.diagnostics.length > 0) {
    const map = new SourceMap([]);
    for (const t of loaded.texts) map.add(t.path, t.text);
    const sorted = [...loaded.diagnostics].sort(compareDiagnostics);
    if (opts.json) io.out(JSON.stringify({ diagnostics: sorted.map((d) => toJson(d, map)), summary: { errors: countDiagnostics(sorted).errors } }, null, 2));
    else {
      for (const d of sorted) io.out(`${renderDiagnostic(d, map, io.style)}\n`);
      io.out(summaryLine(sorted, loaded.texts.length));
    }
    return EXIT.policyError;
  }
  const lines = new Map(loaded.texts.map((t) => [t.path, new LineIndex(t.text)]));
  const lineOf = (t: RunnableTest) => lines.get(t.file.path)?.position(t.test.span.start).line ?? 0;
  const { results, scratch } = await runTests(loaded.tests, {
    keep: opts.keep,
    lineOf,
    onResult: (r) => {
      if (!opts.json) io.out(renderResult(r, io.style));
    },
  });
  const cov = coverage(loaded.policies, loaded.tests, results);
  if (opts.json) io.out(renderJson(results, cov));
  else io.out(renderSummary(results, cov, io.style));
  if (opts.keep) io.err(`covenant test: the sandboxes are kept in ${escapeText(scratch)} (sandbox-N for the N-th test)`);
  if (opts.junit !== undefined) {
    try {
      writeReport(opts.junit, renderJunit(results));
    } catch (err) {
      io.err(`covenant test: cannot write the JUnit report ${escapeText(opts.junit)}: ${escapeText((err as NodeJS.ErrnoException).code ?? (err as Error).message)}`);
      return EXIT.policyError;
    }
  }
  const short = min === undefined ? [] : shortfalls(cov, min);
  for (const line of short) io.err(`covenant test: ${line}`);
  return results.every((r) => r.passed) && short.length === 0 ? EXIT.ok : EXIT.deficiencies;
}
