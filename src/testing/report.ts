// What `covenant test` says: each test passed or failed with the differences between expected and
// observed, which controls and promises no test covers, and a summary line; as text for people
// (outside text escaped), JSON for machines, and JUnit XML for CI.
import type { Outcome } from "../evaluator/outcomes.js";
import { escapeText } from "../text/escape.js";
import type { Style } from "../text/style.js";
import { xmlAttribute, xmlText } from "../text/xml.js";
import { controlOf } from "./judge.js";
import type { LoadedPolicy, RunnableTest } from "./load-tests.js";
import type { TestResult } from "./run-tests.js";

/** Found not as promised, in a way a test can expect: what shows a promise can catch a fault. */
const FOUND: readonly Outcome[] = ["drift", "failed", "repaired", "waived"];

export interface Coverage {
  controls: { total: number; covered: number; uncovered: string[] };
  promises: { total: number; covered: number; uncovered: string[]; neverFound: string[] };
}

/**
 * A control is covered when a test names it (or one of its promises) and, in that test, it was
 * judged: not every promise of it skipped. A promise is covered when a test names it or its
 * control and, in that test, it was judged (not skipped). A covered promise that no passing test
 * saw found not as promised (drift, failed, repaired, waived) is listed apart: nothing shows it
 * can catch a fault.
 */
export function coverage(policies: LoadedPolicy[], tests: RunnableTest[], results: TestResult[]): Coverage {
  const controls = new Map<string, boolean>();
  const promises = new Map<string, { judged: boolean; found: boolean }>();
  for (const p of policies) for (const [id, keys] of p.keys) {
    if (!controls.has(id)) controls.set(id, false);
    for (const k of keys) if (!promises.has(k)) promises.set(k, { judged: false, found: false });
  }
  results.forEach((r, i) => {
    const t = tests[i]!;
    if (!r.evaluation) return;
    const named = new Set([...t.test.controls.keys(), ...[...t.test.promises.keys()].map((k) => controlOf(k, t.policy.keys))]);
    for (const c of r.evaluation.controls) {
      const controlNamed = named.has(c.id);
      if (controlNamed && c.verdict !== "skipped") controls.set(c.id, true);
      for (const p of c.promises) {
        if (!(controlNamed || t.test.promises.has(p.key)) || p.outcome === "skipped") continue;
        const seen = promises.get(p.key)!;
        seen.judged = true;
        if (r.passed && FOUND.includes(p.outcome)) seen.found = true;
      }
    }
  });
  const uncoveredControls = [...controls].filter(([, v]) => !v).map(([k]) => k);
  const uncoveredPromises = [...promises].filter(([, v]) => !v.judged).map(([k]) => k);
  const neverFound = [...promises].filter(([, v]) => v.judged && !v.found).map(([k]) => k);
  return {
    controls: { total: controls.size, covered: controls.size - uncoveredControls.length, uncovered: uncoveredControls },
    promises: { total: promises.size, covered: promises.size - uncoveredPromises.length, uncovered: uncoveredPromises, neverFound },
  };
}

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** One test's lines: PASS or FAIL, then, when it failed, each mismatch and what lies behind it. */
export function renderResult(r: TestResult, style: Style): string {
  const where = `${escapeText(r.file)}:${r.line}`;
  if (r.passed) return `${style.green("PASS")} ${where} ${escapeText(r.name)} ${style.dim(`(${seconds(r.durationMs)})`)}`;
  const out = [`${style.red(style.bold("FAIL"))} ${where} ${escapeText(r.name)} ${style.dim(`(${seconds(r.durationMs)})`)}`];
  if (r.error !== undefined) out.push(...r.error.split("\n").map((l) => `  ${escapeText(l)}`));
  for (const m of r.mismatches) {
    out.push(`  ${escapeText(m.subject)}: expected ${escapeText(m.expected)}, observed ${style.bold(escapeText(m.observed))}`);
    for (const d of m.details) out.push(`    ${style.dim(escapeText(d))}`);
  }
  return out.join("\n");
}

/** Coverage and the summary: the last line is `N tests: N passed, N failed`. */
export function renderSummary(results: TestResult[], cov: Coverage, style: Style): string {
  const out: string[] = [];
  out.push(`coverage: ${cov.controls.covered} of ${plural(cov.controls.total, "control")}, ${cov.promises.covered} of ${plural(cov.promises.total, "promise")}`);
  for (const id of cov.controls.uncovered) out.push(`  ${style.yellow("not covered")}: control ${escapeText(id)}`);
  for (const k of cov.promises.uncovered) out.push(`  ${style.yellow("not covered")}: promise ${escapeText(k)}`);
  if (cov.promises.neverFound.length > 0) out.push(`  ${plural(cov.promises.neverFound.length, "covered promise")} never seen not kept by a passing test (--json lists them)`);
  const failed = results.filter((r) => !r.passed).length;
  out.push(`${plural(results.length, "test")}: ${results.length - failed} passed, ${failed} failed`);
  return out.join("\n");
}

export function renderJson(results: TestResult[], cov: Coverage): string {
  const tests = results.map((r) => ({
    file: r.file,
    name: r.name,
    line: r.line,
    status: r.passed ? "passed" : "failed",
    durationMs: r.durationMs,
    ...(r.error !== undefined ? { error: r.error } : {}),
    mismatches: r.mismatches,
    controls: (r.evaluation?.controls ?? []).map((c) => ({ id: c.id, verdict: c.verdict, promises: c.promises.map((p) => ({ key: p.key, outcome: p.outcome, reason: p.reason })) })),
  }));
  const failed = results.filter((r) => !r.passed).length;
  return JSON.stringify({ tests, summary: { tests: results.length, passed: results.length - failed, failed }, coverage: cov }, null, 2);
}

/** JUnit XML: a suite per test file, a case per test, a failure carrying each mismatch on its own line. */
export function renderJunit(results: TestResult[]): string {
  const x = (s: string) => xmlAttribute(escapeText(s));
  const files = [...new Set(results.map((r) => r.file))];
  const failed = results.filter((r) => !r.passed).length;
  const total = results.reduce((n, r) => n + r.durationMs, 0);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="covenant test" tests="${results.length}" failures="${failed}" time="${(total / 1000).toFixed(3)}">`];
  for (const f of files) {
    const rs = results.filter((r) => r.file === f);
    const time = rs.reduce((n, r) => n + r.durationMs, 0);
    out.push(`  <testsuite name="${x(f)}" tests="${rs.length}" failures="${rs.filter((r) => !r.passed).length}" time="${(time / 1000).toFixed(3)}">`);
    for (const r of rs) {
      const attrs = `name="${x(r.name)}" classname="${x(f)}" file="${x(f)}" line="${r.line}" time="${(r.durationMs / 1000).toFixed(3)}"`;
      if (r.passed) {
        out.push(`    <testcase ${attrs}/>`);
        continue;
      }
      const first = r.error ?? (r.mismatches[0] ? `${r.mismatches[0].subject}: expected ${r.mismatches[0].expected}, observed ${r.mismatches[0].observed}` : "failed");
      const lines = [...(r.error !== undefined ? r.error.split("\n") : []), ...r.mismatches.flatMap((m) => [`${m.subject}: expected ${m.expected}, observed ${m.observed}`, ...m.details.map((d) => `  ${d}`)])];
      out.push(`    <testcase ${attrs}>`, `      <failure message="${x(first)}" type="expectation">${lines.map((l) => xmlText(escapeText(l))).join("\n")}</failure>`, "    </testcase>");
    }
    out.push("  </testsuite>");
  }
  out.push("</testsuites>");
  return `${out.join("\n")}\n`;
}
