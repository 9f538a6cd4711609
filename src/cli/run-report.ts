// The report of a run: for people (per control: verdict, what drifted, what was repaired), as
// JSON for machines, and as JUnit XML for CI systems (one test case per promise).
import type { ControlResult, Evaluation, PromiseResult } from "../evaluator/engine.js";
import { isDeficiency, outcomeOrder, type Outcome } from "../evaluator/outcomes.js";
import type { RunBody } from "../store/store.js";
import type { Style } from "./style.js";

/** The report's heading: the run as the store records it, and where its state and sandbox are. */
export interface RunInfo extends Pick<RunBody, "run" | "host" | "started" | "finished" | "policy" | "dryRun"> {
  stateDir: string;
  sandbox?: string;
  notes: string[];
}

export function countOutcomes(results: PromiseResult[]): Record<Outcome, number> {
  const counts = Object.fromEntries(outcomeOrder.map((o) => [o, 0])) as Record<Outcome, number>;
  for (const r of results) counts[r.outcome]++;
  return counts;
}

function paint(o: Outcome, s: string, style: Style): string {
  if (o === "kept" || o === "repaired") return style.green(s);
  if (o === "skipped") return style.dim(s);
  if (o === "waived") return style.yellow(s);
  return style.red(s);
}

function promiseLabel(r: PromiseResult): string {
  return r.promiser === "" ? r.type : `${r.type} ${r.promiser.startsWith("[") ? r.promiser : JSON.stringify(r.promiser)}`;
}

const MAX_LINES_PER_PROMISE = 6;

export function renderText(e: Evaluation, info: RunInfo, style: Style): string {
  const out: string[] = [];
  const head = `covenant run ${info.run} on ${info.host}${info.dryRun ? " (dry run: nothing changed)" : ""}${info.sandbox ? ` (sandbox ${info.sandbox})` : ""}`;
  out.push(style.bold(head));
  for (const n of info.notes) out.push(style.yellow(`note: ${n}`));
  for (const c of e.controls) out.push(...renderControl(c, style));
  const counts = countOutcomes(e.results);
  const parts = outcomeOrder.filter((o) => counts[o] > 0).map((o) => paint(o, `${counts[o]} ${o}`, style));
  const verdicts = e.controls.filter((c) => isDeficiency(c.verdict)).length;
  out.push("");
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  out.push(`${count(e.controls.length, "control")}, ${count(e.results.length, "promise")}: ${parts.join(", ") || "nothing to evaluate"}`);
  out.push(verdicts === 0 ? style.green("no deficiencies") : style.red(`${verdicts} control${verdicts === 1 ? "" : "s"} with deficiencies`));
  out.push(style.dim(`state: ${info.stateDir}`));
  return out.join("\n");
}

function renderControl(c: ControlResult, style: Style): string[] {
  const out = [`${paint(c.verdict, c.verdict.toUpperCase().padEnd(8), style)} ${style.bold(c.id)}  ${c.title}${c.severity ? style.dim(` [${c.severity}]`) : ""}`];
  if (c.waiver) out.push(style.yellow(`         waiver until ${c.waiver.until}: ${c.waiver.reason} (approved by ${c.waiver.approvedBy})`));
  for (const r of c.promises) {
    // kept promises are listed only when they carry notes (a baseline recorded, input skipped)
    if (r.outcome === "skipped" || (r.outcome === "kept" && r.notes.length === 0)) continue;
    out.push(`         ${paint(r.outcome, r.outcome.padEnd(8), style)} ${promiseLabel(r)}: ${r.reason}`);
    const lines: string[] = [];
    if (r.differences.length > 1) lines.push(...r.differences.map((d) => `- ${d.reason}`));
    for (const ch of r.changes) lines.push(`${ch.status === "applied" ? "✓" : ch.status === "failed" ? "✗" : "·"} ${ch.status}: ${ch.description}${ch.detail ? ` (${ch.detail})` : ""}`);
    for (const n of r.notes) lines.push(`note: ${n}`);
    for (const l of lines.slice(0, MAX_LINES_PER_PROMISE)) out.push(style.dim(`                  ${l}`));
    if (lines.length > MAX_LINES_PER_PROMISE) out.push(style.dim(`                  … and ${lines.length - MAX_LINES_PER_PROMISE} more`));
  }
  return out;
}

export function renderJson(e: Evaluation, info: RunInfo): string {
  return JSON.stringify(
    {
      run: info,
      summary: { controls: e.controls.length, promises: e.results.length, outcomes: countOutcomes(e.results), deficient_controls: e.controls.filter((c) => isDeficiency(c.verdict)).map((c) => c.id) },
      contexts: e.contexts,
      controls: e.controls,
    },
    null,
    2,
  );
}

function xml(s: string): string {
  // XML 1.0 cannot carry most control characters at all, escaped or not
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "?").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** JUnit XML: a suite per control, a case per promise; drift and failed are failures, error is an error. */
export function renderJunit(e: Evaluation, info: RunInfo): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const all = e.results;
  const failures = all.filter((r) => r.outcome === "drift" || r.outcome === "failed").length;
  const errors = all.filter((r) => r.outcome === "error").length;
  const skipped = all.filter((r) => r.outcome === "skipped").length;
  out.push(`<testsuites name="covenant run ${info.run}" tests="${all.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" timestamp="${info.started}">`);
  for (const c of e.controls) {
    const f = c.promises.filter((r) => r.outcome === "drift" || r.outcome === "failed").length;
    const er = c.promises.filter((r) => r.outcome === "error").length;
    const sk = c.promises.filter((r) => r.outcome === "skipped").length;
    const time = c.promises.reduce((t, r) => t + r.durationMs, 0) / 1000;
    out.push(`  <testsuite name="${xml(c.id)}" tests="${c.promises.length}" failures="${f}" errors="${er}" skipped="${sk}" time="${time.toFixed(3)}" hostname="${xml(info.host)}">`);
    out.push(`    <properties><property name="title" value="${xml(c.title)}"/><property name="severity" value="${c.severity}"/><property name="verdict" value="${c.verdict}"/></properties>`);
    for (const r of c.promises) {
      const attrs = `name="${xml(promiseLabel(r))}" classname="${xml(c.id)}" file="${xml(r.file)}" line="${r.line}" time="${(r.durationMs / 1000).toFixed(3)}"`;
      const detail = [r.reason, ...r.differences.map((d) => `- ${d.reason}`), ...r.changes.map((ch) => `${ch.status}: ${ch.description}`), ...r.notes.map((n) => `note: ${n}`)].join("\n");
      if (r.outcome === "drift" || r.outcome === "failed") out.push(`    <testcase ${attrs}><failure type="${r.outcome}" message="${xml(r.reason)}">${xml(detail)}</failure></testcase>`);
      else if (r.outcome === "error") out.push(`    <testcase ${attrs}><error type="error" message="${xml(r.reason)}">${xml(detail)}</error></testcase>`);
      else if (r.outcome === "skipped") out.push(`    <testcase ${attrs}><skipped message="${xml(r.reason)}"/></testcase>`);
      else out.push(`    <testcase ${attrs}><system-out>${xml(`${r.outcome}: ${detail}`)}</system-out></testcase>`);
    }
    out.push("  </testsuite>");
  }
  out.push("</testsuites>");
  return out.join("\n") + "\n";
}
