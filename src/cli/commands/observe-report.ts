// What every `covenant observe` subcommand shares: its options, and how an observation (or
// the reason there is none) is printed. Text output escapes what came from the host (tables
// through renderTable, reasons here); JSON needs nothing more than JSON.stringify.
import type { ProbeResult, ProbeRoots, Skip } from "../../probes/result.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";

export interface ObserveOptions {
  json: boolean;
  procRoot: string;
  etcRoot: string;
}

export function roots(o: ObserveOptions): ProbeRoots {
  return { proc: o.procRoot, etc: o.etcRoot };
}

export function report<T>(result: ProbeResult<T>, io: Io, opts: ObserveOptions, toJson: (v: T) => unknown, toText: (v: T) => string): number {
  if (!result.ok) {
    // Could not observe: say exactly why; never print an empty table as if nothing were there.
    if (opts.json) io.out(JSON.stringify({ error: result.error }, null, 2));
    else io.err(`covenant: cannot observe: ${escapeText(result.error.message)} (${result.error.code})`);
    return EXIT.policyError;
  }
  if (opts.json) io.out(JSON.stringify({ data: toJson(result.value), skipped: result.skipped }, null, 2));
  else {
    io.out(toText(result.value));
    if (result.skipped.length > 0) io.out(skippedNote(result.skipped));
  }
  return EXIT.ok;
}

function skippedNote(skipped: Skip[]): string {
  const byReason = new Map<string, number>();
  for (const s of skipped) byReason.set(s.reason, (byReason.get(s.reason) ?? 0) + 1);
  return `skipped: ${[...byReason].map(([r, n]) => `${n} × ${escapeText(r)}`).join("; ")}`;
}

export function bracket(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/** A bad filter or argument: printed as a usage error, exit 2. */
export class UsageError extends Error {}
