// Attributes that do what they say only while `covenant watch` runs. No attribute may silently
// do nothing: `watch = realtime` and `every` are read by the watcher alone (`covenant run`
// checks every promise each time it runs, whatever they say), and the watcher is a preview
// (inotify overflow detection and AIDE-style change details are still to come),
// so `check` says so once per policy.
import { diagnostic, type Diagnostic, type Span } from "../parser/diagnostics.js";
import { attributeNode, type PromiseEntry } from "./contradictions.js";
import { controlEveryNode } from "./every.js";
import type { CheckedControl } from "./policy.js";

/** Places named under the warning; the count says how many there are in all. */
const SHOWN = 3;

/**
 * One W206 per policy, not one per promise: the fact is the same for every promise that asks
 * for it, and a policy watching a hundred paths should not bury its other warnings under a
 * hundred copies. It points at the first use and names the next few.
 */
export function warnRealtimeWatch(entries: PromiseEntry[], diagnostics: Diagnostic[]): void {
  const uses = entries.flatMap((e) => {
    const node = e.values["watch"] === "realtime" ? attributeNode(e, "watch") : undefined;
    return node ? [node] : [];
  });
  warnOnce(
    uses,
    (n) => `\`watch = realtime\` is watched only while \`covenant watch\` runs (a preview); \`covenant run\` checks it each time it runs${n > 1 ? ` (${n} promises ask for it)` : ""}`,
    "run `covenant watch` beside the cron job (docs/cli.md says what it does not do yet), or run covenant more often (the cron example runs it every 5 minutes)",
    "also asked for here",
    diagnostics,
  );
}

/** One W206 for all the `every`s of a policy (controls first, then promises): only the watcher will read them. */
export function warnEvery(controls: CheckedControl[], entries: PromiseEntry[], diagnostics: Diagnostic[]): void {
  const uses: Span[] = [];
  for (const c of controls) {
    const node = c.every !== undefined ? controlEveryNode(c) : undefined;
    if (node) uses.push(node);
  }
  for (const e of entries) {
    // set on the promise itself and valid (out of bounds is E125 already, and `every` is then unset)
    const node = e.promise.every !== undefined ? attributeNode(e, "every") : undefined;
    if (node) uses.push(node);
  }
  warnOnce(
    uses,
    (n) => `\`every\` is read only by \`covenant watch\` (a preview): \`covenant run\` evaluates every promise each time${n > 1 ? ` (${n} places set it)` : ""}`,
    "run `covenant watch` to schedule by it, or run covenant as often as the shortest `every` asks (the cron example runs it every 5 minutes)",
    "also set here",
    diagnostics,
  );
}

function warnOnce(uses: Span[], message: (count: number) => string, suggestion: string, also: string, diagnostics: Diagnostic[]): void {
  const first = uses[0];
  if (!first) return;
  diagnostics.push(
    diagnostic("W206", message(uses.length), first, {
      related: uses.slice(1, 1 + SHOWN).map((span) => ({ span, message: also })),
      suggestion,
    }),
  );
}
