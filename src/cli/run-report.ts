// The report of a run: for people (per control: verdict, what drifted, what was repaired), as
// JSON for machines, and as JUnit XML for CI systems (one test case per promise).
import { findingLines, viewOfFinding } from "../text/finding-text.js";
import type { CheckedPromise, Policy } from "../checker/policy.js";
import { promiserText, type ControlResult, type Evaluation, type PromiseResult } from "../evaluator/engine.js";
import { countOutcomes, isDeficiency, outcomeOrder, type Outcome } from "../evaluator/outcomes.js";
import type { RunBody } from "../store/store.js";
import { escapeText } from "./escape.js";
import { repairAdvice } from "./repair-advice.js";
import { jsonChunks } from "./json-parts.js";
import type { Style } from "../text/style.js";
import { xmlAttribute, xmlText } from "../text/xml.js";
import { renderNotifications } from "./notify-report.js";
import type { NotificationsView } from "./run-notify.js";
import type { PolicyCacheUse } from "./checked-policy.js";
import type { ConfigCacheUse } from "./notify-config.js";

/** The report's heading: the run as the store records it, and where its state and sandbox are. */
export interface RunInfo extends Pick<RunBody, "run" | "host" | "started" | "finished" | "policy" | "dryRun"> {
  stateDir: string;
  sandbox?: string;
  notes: string[];
  /** who is, was or would be told about each deficiency and repair */
  notifications?: NotificationsView;
  /** whether the policy came from the policy cache (`hit`) or was checked in full, and why (cli/checked-policy.ts) */
  policyCache?: PolicyCacheUse;
  /** with a configuration: whether it came from its cache (`hit`) or was loaded, and why (cli/config-cache.ts) */
  configCache?: ConfigCacheUse;
  /** controls of Covenant's own found deficient by this run (`covenant.watch`: the watcher is gone); each has a note saying why */
  covenantDeficiencies?: string[];
}

function paint(o: Outcome, s: string, style: Style): string {
  if (o === "kept" || o === "repaired") return style.green(s);
  if (o === "skipped") return style.dim(s);
  if (o === "waived") return style.yellow(s);
  return style.red(s);
}

/** The promise as written, `file "/srv/x"`, with its stakeholders when asked: `-> [compliance]`. Outside text, escaped. */
function promiseLabel(r: PromiseResult, stakeholders = true): string {
  const promiser = r.promiser === "" ? "" : ` ${r.promiser.startsWith("[") ? r.promiser : JSON.stringify(r.promiser)}`;
  const to = stakeholders && r.stakeholders.length > 0 ? ` -> [${r.stakeholders.join(", ")}]` : "";
  return escapeText(`${r.type}${promiser}${to}`);
}

/**
 * The headline of a promise: why its outcome. For a repaired promise, what was not as promised
 * (its changes follow, as `✓ applied:` lines); the engine's reason there only repeats the
 * changes after the word "repaired", which the outcome column already says.
 */
function headline(r: PromiseResult): string {
  if (r.outcome !== "repaired" || r.differences.length === 0) return r.reason;
  const first = r.differences[0]!.reason;
  return r.differences.length === 1 ? first : `${first} (and ${r.differences.length - 1} more)`;
}

const MAX_LINES_PER_PROMISE = 6;
const INDENT = "         ";
const DETAIL = "                  ";

/** Finds each result's promise in the policy (results are in the order of their control's promises). */
export type PromiseOf = (r: PromiseResult, control: number, index: number) => CheckedPromise | undefined;

export function promisesOf(policy: Policy): PromiseOf {
  return (r, control, index) => {
    const p = policy.controls[control]?.promises[index];
    return p && p.type === r.type && promiserText(p) === r.promiser ? p : undefined;
  };
}

export function renderText(e: Evaluation, info: RunInfo, style: Style, promiseOf?: PromiseOf): string {
  const out: string[] = [];
  const head = `covenant run ${info.run} on ${escapeText(info.host)}${info.dryRun ? " (dry run: nothing changed)" : ""}${info.sandbox ? ` (sandbox ${escapeText(info.sandbox)})` : ""}`;
  out.push(style.bold(head));
  for (const n of info.notes) out.push(style.yellow(`note: ${escapeText(n)}`));
  e.controls.forEach((c, i) => out.push(...renderControl(c, style, (r, j) => promiseOf?.(r, i, j))));
  const counts = countOutcomes(e.results);
  const parts = outcomeOrder.filter((o) => counts[o] > 0).map((o) => paint(o, `${counts[o]} ${o}`, style));
  const verdicts = e.controls.filter((c) => isDeficiency(c.verdict)).length;
  out.push("");
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  out.push(`${count(e.controls.length, "control")}, ${count(e.results.length, "promise")}: ${parts.join(", ") || "nothing to evaluate"}`);
  const own = info.covenantDeficiencies ?? [];
  const ownText = own.length > 0 ? `${own.length} of Covenant's own: ${own.map(escapeText).join(", ")} (see the note${own.length === 1 ? "" : "s"} above)` : "";
  if (verdicts === 0) out.push(own.length === 0 ? style.green("no deficiencies") : style.red(`no deficiencies in the policy; ${ownText}`));
  else out.push(style.red(`${verdicts} control${verdicts === 1 ? "" : "s"} with deficiencies${own.length > 0 ? `, and ${ownText}` : ""}`));
  if (info.notifications) out.push(...renderNotifications(info.notifications, style));
  out.push(style.dim(`state: ${escapeText(info.stateDir)}`));
  return out.join("\n");
}

/** The control's line: verdict, id, title, severity and owner; a control skipped as a whole gives its reason here. */
function controlLine(c: ControlResult, style: Style, skippedBecause?: string): string {
  const facts = [c.severity, ...(c.owner !== undefined ? [`owner ${c.owner}`] : [])].filter(Boolean).join(", ");
  const tail = skippedBecause === undefined ? "" : `: ${skippedBecause}`;
  return `${paint(c.verdict, c.verdict.toUpperCase().padEnd(8), style)} ${style.bold(escapeText(c.id))}  ${escapeText(c.title)}${facts ? style.dim(` [${escapeText(facts)}]`) : ""}${escapeText(tail)}`;
}

function renderControl(c: ControlResult, style: Style, promiseOf: (r: PromiseResult, index: number) => CheckedPromise | undefined): string[] {
  // a control skipped as a whole, for one reason (its own condition): one line
  const reasons = new Set(c.promises.map((r) => r.reason));
  if (c.promises.length > 0 && c.promises.every((r) => r.outcome === "skipped") && reasons.size === 1) return [controlLine(c, style, c.promises[0]!.reason)];
  const out = [controlLine(c, style)];
  if (c.waiver) out.push(style.yellow(`${INDENT}waiver until ${c.waiver.until}: ${escapeText(c.waiver.reason)} (approved by ${escapeText(c.waiver.approvedBy)})`));
  c.promises.forEach((r, i) => {
    // kept promises are listed only when they carry notes (a baseline recorded, input skipped)
    if (r.outcome === "kept" && r.notes.length === 0 && !r.findings?.length) return;
    out.push(`${INDENT}${paint(r.outcome, r.outcome.padEnd(8), style)} ${promiseLabel(r)}: ${escapeText(headline(r))}`);
    if (r.outcome === "skipped") return;
    const lines: string[] = [];
    if (r.differences.length > 1) lines.push(...r.differences.map((d) => `- ${d.reason}`));
    // a detail the promise's reason already gives (the held repair's why) is not said twice
    for (const ch of r.changes) lines.push(`${ch.status === "applied" ? "✓" : ch.status === "failed" ? "✗" : "·"} ${ch.status}: ${ch.description}${ch.detail && !r.reason.includes(ch.detail) ? ` (${ch.detail})` : ""}`);
    for (const n of r.notes) lines.push(`note: ${n}`);
    for (const l of lines.slice(0, MAX_LINES_PER_PROMISE)) out.push(style.dim(`${DETAIL}${escapeText(l)}`));
    if (lines.length > MAX_LINES_PER_PROMISE) out.push(style.dim(`${DETAIL}… and ${lines.length - MAX_LINES_PER_PROMISE} more`));
    out.push(...findingsText(r, style));
    const p = promiseOf(r, i);
    const advice = p && repairAdvice(r, p);
    if (advice) out.push(`${DETAIL}what to do: ${escapeText(advice)}`);
  });
  return out;
}

/** What changed at each file since its approved state (AIDE's terms) and its masked diff: finding-text.ts renders them, escaped. */
function findingsText(r: PromiseResult, style: Style): string[] {
  const findings = r.findings ?? [];
  const out = findings.slice(0, MAX_FINDINGS).flatMap((f) => findingLines(viewOfFinding(f), { indent: DETAIL }).map((l, i) => (i === 0 ? `${DETAIL}changed since approved: ${l.slice(DETAIL.length)}` : style.dim(l))));
  if (findings.length > MAX_FINDINGS) out.push(style.dim(`${DETAIL}… and ${findings.length - MAX_FINDINGS} more paths changed (--json lists them all)`));
  return out;
}

const MAX_FINDINGS = 20;

/**
 * A difference's `significant` value is the store's business (it tells a second change of a
 * file's content from the first): it is the content's digest, which `nodiff` keeps out of
 * reports, and what a report reader needs is already in `expected` and `observed`.
 */
/**
 * What the JSON leaves out: the state that tells a second change from the first, and what the
 * change gate checks a change against (the approved copy's digest, the observed device and
 * inode). The digest is a digest of the content, which a `nodiff` file's report must never
 * hold (a digest of a PIN is found by trying every guess); the report's reader needs neither.
 */
const internal = (key: string, value: unknown) => {
  if (key === "significant") return undefined;
  // a `nodiff` file's state in a finding: its keyed digest is withheld too
  if (typeof value === "object" && value !== null && (value as { sha256Keyed?: unknown }).sha256Keyed === true) return { ...(value as object), sha256: "(withheld: nodiff)" };
  if (key === "change" && typeof value === "object" && value !== null) {
    const { digest: _digest, expect: _expect, ...shown } = value as Record<string, unknown>;
    // a config edit's new content is the whole file, whose other lines (or the value set, for a `secret`) the report must not carry: its summary says what changed
    if (shown["op"] === "edit") delete shown["content"];
    return shown;
  }
  return value;
};

/**
 * The JSON report in chunks that each end a line (json-parts.ts): joined, they are
 * `JSON.stringify(report, internal, 2)` and a line break; written one by one, the report is never
 * one string of megabytes in memory.
 */
export function renderJsonParts(e: Evaluation, info: RunInfo): Generator<string> {
  const report = {
    run: info,
    summary: { controls: e.controls.length, promises: e.results.length, outcomes: countOutcomes(e.results), deficient_controls: e.controls.filter((c) => isDeficiency(c.verdict)).map((c) => c.id) },
    contexts: e.contexts,
    controls: e.controls,
  };
  return jsonChunks(report, internal);
}

/** One piece of outside text for XML: first on one line (as in the text report), then for XML. */
const x = (s: string) => xmlAttribute(escapeText(s));

/** The lines a test case carries: its reason, differences, changes and notes, each piece of outside text on its own line. */
function caseDetail(r: PromiseResult, p: CheckedPromise | undefined): string {
  const advice = p && repairAdvice(r, p);
  const lines = [headline(r), ...(r.differences.length > 1 ? r.differences.map((d) => `- ${d.reason}`) : []), ...r.changes.map((ch) => `${ch.status}: ${ch.description}${ch.detail ? ` (${ch.detail})` : ""}`), ...r.notes.map((n) => `note: ${n}`)];
  if (r.stakeholders.length > 0) lines.push(`stakeholders: ${r.stakeholders.join(", ")}`);
  if (advice) lines.push(`what to do: ${advice}`);
  return [...lines.map((l) => xmlText(escapeText(l))), ...findingsDetail(r)].join("\n");
}

/** What changed at each file since approved, its masked diff and who, as the text report says it (already escaped by finding-text.ts). */
function findingsDetail(r: PromiseResult): string[] {
  const findings = r.findings ?? [];
  const lines = findings.slice(0, MAX_FINDINGS).flatMap((f) => findingLines(viewOfFinding(f), { indent: "  " }).map((l, i) => (i === 0 ? `changed since approved: ${l.slice(2)}` : l)));
  if (findings.length > MAX_FINDINGS) lines.push(`… and ${findings.length - MAX_FINDINGS} more paths changed (--json lists them all)`);
  return lines.map(xmlText);
}

/** JUnit XML: a suite per control, a case per promise; drift and failed are failures, error is an error. */
export function renderJunit(e: Evaluation, info: RunInfo, promiseOf?: PromiseOf): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const all = e.results;
  const failures = all.filter((r) => r.outcome === "drift" || r.outcome === "failed").length;
  const errors = all.filter((r) => r.outcome === "error").length;
  const skipped = all.filter((r) => r.outcome === "skipped").length;
  out.push(`<testsuites name="covenant run ${info.run}" tests="${all.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" timestamp="${x(info.started)}">`);
  e.controls.forEach((c, ci) => {
    const f = c.promises.filter((r) => r.outcome === "drift" || r.outcome === "failed").length;
    const er = c.promises.filter((r) => r.outcome === "error").length;
    const sk = c.promises.filter((r) => r.outcome === "skipped").length;
    const time = c.promises.reduce((t, r) => t + r.durationMs, 0) / 1000;
    out.push(`  <testsuite name="${x(c.id)}" tests="${c.promises.length}" failures="${f}" errors="${er}" skipped="${sk}" time="${time.toFixed(3)}" hostname="${x(info.host)}">`);
    const properties = [["title", c.title], ["severity", c.severity], ["verdict", c.verdict], ...(c.owner !== undefined ? [["owner", c.owner]] : [])];
    out.push(`    <properties>${properties.map(([k, v]) => `<property name="${k}" value="${x(v!)}"/>`).join("")}</properties>`);
    c.promises.forEach((r, pi) => {
      // the case's name is its identity to CI: the promise without its stakeholders, which may change
      const attrs = `name="${xmlAttribute(promiseLabel(r, false))}" classname="${x(c.id)}" file="${x(r.file)}" line="${r.line}" time="${(r.durationMs / 1000).toFixed(3)}"`;
      const detail = caseDetail(r, promiseOf?.(r, ci, pi));
      const message = x(headline(r));
      if (r.outcome === "drift" || r.outcome === "failed") out.push(`    <testcase ${attrs}><failure type="${r.outcome}" message="${message}">${detail}</failure></testcase>`);
      else if (r.outcome === "error") out.push(`    <testcase ${attrs}><error type="error" message="${message}">${detail}</error></testcase>`);
      else if (r.outcome === "skipped") out.push(`    <testcase ${attrs}><skipped message="${message}"/></testcase>`);
      else out.push(`    <testcase ${attrs}><system-out>${r.outcome}: ${detail}</system-out></testcase>`);
    });
    out.push("  </testsuite>");
  });
  out.push("</testsuites>");
  return out.join("\n") + "\n";
}
