// Accepted attributes that do not yet do all they say. No attribute may silently do nothing:
// `watch = realtime` is accepted (policies written for real-time watching keep working, and will
// watch once it exists) but is checked on each run only, and `check` says so.
import { diagnostic, type Diagnostic } from "../parser/diagnostics.js";
import { attributeNode, type PromiseEntry } from "./contradictions.js";

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
  const first = uses[0];
  if (!first) return;
  const others = uses.length - 1;
  diagnostics.push(
    diagnostic(
      "W206",
      `\`watch = realtime\` is checked on each run only: real-time watching is not implemented yet${others > 0 ? ` (${uses.length} promises ask for it)` : ""}`,
      first,
      {
        related: uses.slice(1, 1 + SHOWN).map((span) => ({ span, message: "also asked for here" })),
        suggestion: "keep it to be watched once real-time watching exists, or run covenant more often (the cron example runs it every 5 minutes)",
      },
    ),
  );
}
