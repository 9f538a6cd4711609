// `every`: how often `covenant watch` evaluates a promise, set on a control for all its promises
// or on one promise (which wins). Only the watcher reads it: `covenant run` (cron) evaluates every
// promise each time it runs. The checker resolves the inheritance once, so the watcher reads one
// number per promise and cannot get the rule wrong.
import { exprText, type Attribute, type ControlDecl } from "../parser/ast.js";
import { diagnostic, type Diagnostic } from "../parser/diagnostics.js";
import type { CheckedAttributes } from "./attributes.js";
import type { CheckedControl } from "./policy.js";

/**
 * The shortest interval: the watcher's scheduling clock ticks no faster than this, and each
 * evaluation records a run under the store's lock; a change that must be seen sooner is what
 * `watch = realtime` is for.
 */
export const EVERY_MIN_MS = 10_000;
/** The longest: a day is what cron's daily `covenant run` covers, so a rarer schedule would never be what decides. */
export const EVERY_MAX_MS = 86_400_000;

// no days: the bound reads as `24h`, as cron's daily job is thought of
const units: [string, number][] = [
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
];

/** 90,000 ms as `90s`, 5,400,000 as `90m`: the largest unit that divides it exactly. */
export function durationText(ms: number): string {
  for (const [unit, size] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** `every = 5s`, or `every = interval` (5s) when the value comes through a variable. */
function written(node: Attribute, ms: number): string {
  const v = node.value;
  return v.kind === "quantity" ? `\`every = ${v.raw}\`` : `\`every = ${exprText(v)}\` (${durationText(ms)})`;
}

/** The block's own `every` in ms when it is set, valid and within bounds; E125 when it is out of them. */
export function ownEvery(a: CheckedAttributes, diagnostics: Diagnostic[]): number | undefined {
  const ms = a.values["every"] as number | undefined;
  const node = a.nodes["every"];
  if (ms === undefined || node === undefined) return undefined;
  if (ms < EVERY_MIN_MS) {
    diagnostics.push(
      diagnostic("E125", `${written(node, ms)} is below the ${durationText(EVERY_MIN_MS)} minimum`, node.value, {
        suggestion: `use ${durationText(EVERY_MIN_MS)} or more; for a file or directory that must be seen sooner, \`watch = realtime\``,
      }),
    );
    return undefined;
  }
  if (ms > EVERY_MAX_MS) {
    diagnostics.push(
      diagnostic("E125", `${written(node, ms)} is above the ${durationText(EVERY_MAX_MS)} maximum`, node.value, {
        suggestion: `use ${durationText(EVERY_MAX_MS)} or less: the daily \`covenant run\` evaluates every promise anyway`,
      }),
    );
    return undefined;
  }
  return ms;
}

/**
 * A promise's `every`: its own, else its control's; undefined when neither is set (the watcher's
 * default then applies, which is a command-line option and not part of the policy). A promise
 * repeating its control's value is W208: the line says nothing, and hides the inheritance.
 */
export function promiseEvery(a: CheckedAttributes, control: CheckedControl, diagnostics: Diagnostic[]): number | undefined {
  const own = ownEvery(a, diagnostics);
  if (own === undefined) return a.nodes["every"] === undefined ? control.every : undefined;
  if (own === control.every) {
    const node = a.nodes["every"]!;
    const at = controlEveryNode(control);
    diagnostics.push(
      diagnostic("W208", `\`every\` repeats its control's value (${durationText(own)})`, node, {
        related: at ? [{ span: at, message: "the control sets it here" }] : [],
        suggestion: "remove it: the promise takes its control's `every`",
      }),
    );
  }
  return own;
}

/** The control's `every` attribute, for positions (the control keeps its declaration as its span). */
export function controlEveryNode(control: CheckedControl): Attribute | undefined {
  for (const item of (control.span as ControlDecl).items) if (item.kind === "attribute" && item.name === "every") return item;
  return undefined;
}
