// Stores for the report's tests: real SQLite stores filled through the real StateStore, each run
// recorded as src/run/record.ts records it (its results, then the summary with its digest, policy
// text and roster), at times the test chooses.
import type { PromiseResult } from "../../src/evaluator/engine.ts";
import type { Outcome } from "../../src/evaluator/outcomes.ts";
import { hashPolicy, outcomesDigest, StateStore, type RunBody } from "../../src/store/store.ts";

export const POLICY_PATH = "/etc/covenant/policies/ledger.promise";

export function policyText(opts: { zone?: string; every?: string; title?: string } = {}): string {
  return `stakeholder ops { description = "Operations" }
calendar {
  timezone = "${opts.zone ?? "Europe/Paris"}"
}

control "C-1" {
  title    = "${opts.title ?? "Ledger files are private"}"
  owner    = ops
  severity = high
  key      = true
  refs     = ["SOX 404", "COBIT DSS05.04"]
${opts.every ? `  every    = ${opts.every}\n` : ""}
  file "/srv/a" -> [ops] {
    mode = 0640
  }
  file "/srv/b" -> [ops] {
    mode = 0640
  }
}

control "C-2" {
  title    = "Other files"
  severity = low

  file "/srv/c" -> [ops] {
    mode = 0640
  }
}

waiver "C-2" {
  reason      = "Migration, change CHG-1"
  approved_by = "j.doe"
  from        = 2026-01-01
  until       = 2026-03-10
}
`;
}

export const A = "C-1/file:/srv/a";
export const B = "C-1/file:/srv/b";
export const C = "C-2/file:/srv/c";

export function result(key: string, outcome: Outcome, reason = outcome === "kept" ? "as promised" : "mode is 0644, promised 0640"): PromiseResult {
  return {
    key,
    control: key.split("/")[0]!,
    type: "file",
    promiser: key.split(":").slice(1).join(":"),
    outcome,
    reason,
    differences: outcome === "kept" ? [] : [{ subject: key, attribute: "mode", expected: "0640", observed: "0644", reason }],
    changes: outcome === "repaired" ? [{ change: { op: "chmod", path: key, mode: 0o640 }, status: "applied", description: "chmod 0640" }] : [],
    notes: [],
    stakeholders: ["ops"],
    file: POLICY_PATH,
    line: 1,
    durationMs: 1,
  };
}

export interface RunAt {
  at: string;
  results: PromiseResult[];
  kind?: "run" | "watch";
  dryRun?: boolean;
  sandbox?: boolean;
  policy?: string;
}

/** Records one run at `at` (ISO): its results, then its summary with the policy's text and its roster. */
export function recordRun(store: StateStore, r: RunAt): number {
  if (r.kind === "watch") store.beat({ pid: 4242, startTicks: 777, started: r.at, lastBeat: r.at, policy: "p", intervalMs: 10_000 });
  const run = store.beginRun(r.kind ?? "run");
  // a dry run records no state; a sandbox's run records it in the sandbox's own store, not here
  if (!r.dryRun && !r.sandbox) for (const x of r.results) store.recordResult(run, r.at, x);
  const files = [{ path: POLICY_PATH, text: r.policy ?? policyText() }];
  const finished = new Date(Date.parse(r.at) + 1000).toISOString();
  const body: Omit<RunBody, "changed" | "policyRecord" | "roster" | "retired"> = {
    run,
    kind: r.kind ?? "run",
    host: "ledger-1",
    started: r.at,
    finished,
    policy: hashPolicy(files),
    dryRun: r.dryRun === true,
    ...(r.sandbox ? { sandbox: true } : {}),
    promises: r.results.length,
    counts: {},
    outcomes: outcomesDigest(r.results),
  };
  store.finishRun(body, files, r.results.map((x) => x.key));
  return run;
}

/** ISO time `minutes` after 2026-03-01T00:00Z. */
export function at(minutes: number, base = "2026-03-01T00:00:00.000Z"): string {
  return new Date(Date.parse(base) + minutes * 60_000).toISOString();
}

export const kept = () => [result(A, "kept"), result(B, "kept"), result(C, "kept")];
