// Evaluating a policy (or the part of it the watcher was asked for) and recording it in the
// state store as it goes: each result committed as it is decided, and, once all are, the run's
// summary. Shared by `covenant run` (a whole policy, kind "run"), `covenant watch` (the promises
// an event touched or whose schedule came, kind "watch"), `covenant approve`, and `covenant test`
// (each test's run in its sandbox, src/testing/): so it lives below the command line.
import type { EvaluationMemory } from "../evaluator/evaluation-memory.js";
import { hostname } from "node:os";
import type { Policy } from "../checker/policy.js";
import { evaluate, promiseKeys, type Evaluation, type PromiseResult } from "../evaluator/engine.js";
import { isGlob } from "../evaluator/glob-paths.js";
import { countOutcomes } from "../evaluator/outcomes.js";
import { isAbsolute, join } from "node:path";
import type { ProbeRoots } from "../probes/result.js";
import { readFacts, type FactValue } from "../facts/host.js";
import type { SandboxFacts } from "../sandbox/extras.js";
import { LineIndex } from "../parser/diagnostics.js";
import type { RunKind } from "../store/records.js";
import { hashPolicy, outcomesDigest, type StateStore, StoreError } from "../store/store.js";
import type { RunWants } from "../store/run-reads.js";
import { findingsFor } from "./findings.js";

export interface RecordInput {
  policy: Policy;
  /** the policy's files as checked (for lines and the policy's hash) */
  files: { path: string; text: string }[];
  roots: ProbeRoots;
  /** a sandbox's files directory: changes stay below it */
  filesRoot?: string;
  dryRun: boolean;
  /** the host's own /etc, for facts (even in a sandbox) */
  etcRoot: string;
  started: Date;
  /** a sandbox's facts (its manifest's `facts`): they replace the machine's; `now` moves the calendar facts and waivers */
  facts?: SandboxFacts;
  /** no promise starts after this instant (ms since the epoch) */
  deadline: number;
  kind: RunKind;
  /** only these promises (the watcher's) */
  only?: ReadonlySet<string>;
  /** the watcher's: the paths events named, per promise asked for by events alone (engine.ts) */
  focus?: ReadonlyMap<string, readonly string[]>;
  /** the watcher's: what each promise kept of its last evaluation (evaluation-memory.ts) */
  memory?: EvaluationMemory;
  /**
   * called with each result before it is recorded (`covenant approve` says what closed a
   * deficiency; `covenant watch` who was at the file, whose scan may still be under way: awaited)
   */
  annotate?: (r: PromiseResult) => void | Promise<void>;
}

export interface Recorded {
  run: number;
  host: string;
  evaluation: Evaluation;
  facts: ReturnType<typeof readFacts>;
  finding: ReturnType<typeof findingsFor>;
  /** the store failed while recording: what follows in `notes` says what is not recorded */
  failure: StoreError | undefined;
}

/**
 * The policy with the waivers given on the fleet hub (their `waiver` records) beside its own: the
 * evaluator holds both to their dates, in the calendar's zone, alike.
 */
export function withHubWaivers(policy: Policy, store: StateStore): Policy {
  const given = store.hubWaivers();
  if (given.length === 0) return policy;
  const waivers = given.map((w) => ({ control: w.control, reason: w.reason, approvedBy: w.approvedBy, ...(w.from !== undefined ? { from: w.from } : {}), until: w.until, ticket: `hub decision ${w.decision}`, span: { file: "(fleet hub)", start: 0, end: 0 } }));
  return { ...policy, waivers: [...policy.waivers, ...waivers] };
}

/**
 * Evaluates and records each result as it is decided. When the store fails (a full disk, a file
 * system turned read-only), no further change is made, since it could not be recorded: each is
 * held, saying why; `notes` gets what was not recorded.
 */
export async function evaluateRecorded(store: StateStore, input: RecordInput, notes: string[]): Promise<Recorded> {
  const { policy, files, roots, filesRoot, dryRun, started } = input;
  const run = store.beginRun(input.kind);
  const host = hostname();
  const finding = findingsFor(policy, files, host);
  const time = () => new Date().toISOString();
  const calendarNow = input.facts?.now !== undefined ? new Date(input.facts.now) : undefined;
  const facts = withFacts(readFacts({ now: calendarNow ?? started, calendar: policy.calendar, etcRoot: input.etcRoot }), input.facts);
  const map = new Map(files.map((f) => [f.path, new LineIndex(f.text)]));
  let failure: StoreError | undefined;
  let unrecordedResults = 0;
  const unrecordedChanges: string[] = [];
  // the rows the evaluation reads, read ahead a chunk a statement under the run lock, and only for it
  store.prefetch(runWants(policy, input.only, filesRoot));
  let evaluation: Evaluation;
  try {
    evaluation = await evaluate(withHubWaivers(policy, store), {
      roots,
      // changes stay below the sandbox's files: its accounts and its state are not the policy's to change
      ...(filesRoot !== undefined ? { filesRoot, confineTo: filesRoot } : {}),
      ...(input.only !== undefined ? { only: input.only } : {}),
      ...(input.focus !== undefined ? { focus: input.focus } : {}),
      ...(input.memory !== undefined ? { memory: input.memory } : {}),
      dryRun,
      facts,
      now: started,
      ...(calendarNow !== undefined ? { calendarNow } : {}),
      baselines: store,
      integrity: store,
      samples: store,
      deadline: input.deadline,
      lineOf: (span) => map.get(span.file)?.position(span.start).line ?? 0,
      // a dry run is a preview: only its summary is recorded (marked as a dry run); the state
      // of every promise and the history of its changes stay as the last real run left them
      onResult: async (r) => {
        if (dryRun) return;
        if (failure) {
          unrecordedResults++;
          return;
        }
        await input.annotate?.(r);
        try {
          store.recordResult(run, time(), r, () => finding(r));
        } catch (err) {
          if (!(err instanceof StoreError)) throw err;
          failure = err;
          unrecordedResults++;
          unrecordedChanges.push(...r.changes.filter((c) => c.status === "applied").map((c) => c.description));
        }
      },
      holdChanges: () => (failure ? "not made: the store failed, so this run could not record it (see the run's notes)" : undefined),
    });
  } finally {
    store.dropPrefetched();
  }
  if (failure) {
    const changed = unrecordedChanges.length > 0 ? `; changed but not recorded: ${unrecordedChanges.join("; ")}` : "; it changed nothing that is not recorded";
    notes.push(`the store failed while this run recorded it (${failure.message}): its record is incomplete, ${unrecordedResults} promise result${unrecordedResults === 1 ? "" : "s"} not recorded, and it made no change after the failure${changed}`);
  }
  return { run, host, evaluation, facts, finding, failure };
}

/**
 * What an evaluation reads of the store (StateStore.prefetch): the current state of each promise
 * it evaluates, and the baseline and approved state of each plain path a promise names (as the
 * engine maps it below a sandbox's files). A glob's files, and paths below a directory, are not
 * known before it runs: each of those is read as it is used.
 */
export function runWants(policy: Policy, only: ReadonlySet<string> | undefined, filesRoot: string | undefined): RunWants {
  const keys: string[] = [];
  const paths: string[] = [];
  for (const { promise, key } of promiseKeys(policy)) {
    if (only !== undefined && !only.has(key)) continue;
    keys.push(key);
    const p = promise.promiser;
    if (typeof p === "string" && isAbsolute(p) && !isGlob(p)) paths.push(filesRoot === undefined ? p : join(filesRoot, p));
  }
  return { keys, paths };
}

/** The machine's facts with a sandbox's over them (`now` is not a fact: it moved the calendar facts already). */
export function withFacts(facts: Map<string, FactValue>, over: SandboxFacts | undefined): Map<string, FactValue> {
  for (const [k, v] of Object.entries(over ?? {})) if (k !== "now" && v !== undefined) facts.set(k, v as FactValue);
  return facts;
}

/** sha256 over each policy file's path and content: the store keeps each policy version under it. */
export { hashPolicy };

/** The run's summary record: what was evaluated, its outcomes and their digest (proof of what was tested). */
export function runSummary(r: Pick<Recorded, "run" | "host" | "evaluation">, s: { started: Date; finished: Date; files: { path: string; text: string }[]; dryRun: boolean; sandbox?: boolean; notes: string[] }) {
  const counts = countOutcomes(r.evaluation.results);
  const outcomes = outcomesDigest(r.evaluation.results);
  return {
    run: r.run,
    host: r.host,
    started: s.started.toISOString(),
    finished: s.finished.toISOString(),
    policy: hashPolicy(s.files),
    dryRun: s.dryRun,
    ...(s.sandbox === true ? { sandbox: true } : {}),
    promises: r.evaluation.results.length,
    counts: Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0)),
    outcomes,
    ...(s.notes.length > 0 ? { notes: [...s.notes] } : {}),
  };
}

/** The keys of the promises a run evaluated: its roster, which the summary names (the store's explain.ts reads it). */
export function evaluatedKeys(r: Pick<Recorded, "evaluation">): string[] {
  return r.evaluation.results.map((x) => x.key);
}
