// The checked policy: what the evaluator consumes. Values are typed by their schema
// (durations in milliseconds, sizes in bytes, modes as numbers, lists as arrays). Each `span`
// is the declaration's AST node itself (every node is a Span) after a check, but a policy from the
// policy cache (`run`, `watch`) keeps only its file, start and end (cli/policy-wire.ts): code that
// may be given one reads nothing else (config/reach.ts, given checked policies only, falls back to them).
import type { Expr } from "../parser/ast.js";
import type { Span } from "../parser/diagnostics.js";

export type Severity = "low" | "medium" | "high" | "critical";

export interface CheckedPromise {
  type: string;
  promiser: unknown;
  stakeholders: string[];
  attributes: Record<string, unknown>;
  /** the promise's own `when`, if any (the control's is on the control) */
  when?: Expr;
  /**
   * How often `covenant watch` evaluates the promise (ms): its own `every`, else its control's,
   * resolved by the checker; absent when neither sets one (the watcher's `--every` then applies).
   * `covenant run` does not read it.
   */
  every?: number;
  handle?: string;
  dependsOn: string[];
  span: Span;
}

export interface CheckedControl {
  id: string;
  title: string;
  description?: string;
  owner?: string;
  severity: Severity;
  refs: string[];
  key: boolean;
  when?: Expr;
  /** the control's own `every` (ms), as written; each promise carries the value that applies to it */
  every?: number;
  promises: CheckedPromise[];
  span: Span;
}

export interface CheckedWaiver {
  control: string;
  reason: string;
  approvedBy: string;
  from?: string;
  until: string;
  risk?: string;
  ticket?: string;
  span: Span;
}

export interface Calendar {
  holidays: string[];
  weekend: string[];
  timezone?: string;
}

/** A site's own promise type (`promise_type`), run by a plugin over JSON lines (docs/plugins.md). */
export interface DeclaredPromiseType {
  name: string;
  /** the plugin's argv; its first element an absolute path */
  command: string[];
  /** the declaration's own cap on one operation (ms) */
  timeoutMs?: number;
  span: Span;
}

export interface Policy {
  /** every file of the policy, imports included, in load order */
  files: string[];
  controls: CheckedControl[];
  waivers: CheckedWaiver[];
  contexts: Map<string, Expr>;
  variables: Map<string, unknown>;
  stakeholders: Map<string, { description?: string }>;
  calendar: Calendar;
  /** the site's own promise types, by name (absent: none declared) */
  promiseTypes?: Map<string, DeclaredPromiseType>;
}
