// A run once it holds the lock (run.ts): the store opened, the policy evaluated with each result
// recorded as it is decided (src/run/record.ts), the watcher's heartbeat judged, the run's summary
// recorded, what changed told, and the report printed (the JSON report left for once the run is
// over). The store's failures are exit 2 with what failed.
import { join } from "node:path";
import type { Evaluation } from "../../evaluator/engine.js";
import { isDeficiency } from "../../evaluator/outcomes.js";
import type { Policy } from "../../checker/policy.js";
import type { readFacts } from "../../facts/host.js";
import { damageMessage, isDamage, StateStore, StoreError } from "../../store/store.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import type { CheckedPolicy } from "../checked-policy.js";
import { writeReport } from "../report-file.js";
import { promisesOf, renderJsonParts, renderJunit, renderText, type RunInfo } from "../run-report.js";
import type { Sandbox } from "../../sandbox/sandbox.js";
import type { ProbeRoots } from "../../probes/result.js";
import type { findingsFor } from "../../run/findings.js";
import { evaluatedKeys, evaluateRecorded, hashPolicy, runSummary, type Recorded } from "../../run/record.js";
import type { ConfigOutcome } from "../notify-config.js";
import type { NotificationsView } from "../run-notify.js";
import { checkWatcher } from "../watcher-health.js";
import type { Later, RunOptions } from "./run.js";

/** Delivery ends this long before the hard stop, so the run still writes its report and ends on its own. */
const DELIVERY_MARGIN_MS = 5_000;

/** Opens the store, runs and records; the store's failures are exit 2 with what failed. */
export async function recordedRun(scene: RunScene, io: Io): Promise<number> {
  let store: StateStore | undefined;
  try {
    store = StateStore.open(scene.stateDir);
    return await evaluateAndRecord(store, scene, io);
  } catch (err) {
    // damage SQLite meets past the pages read when opening, or the host failing under the store
    // (a full disk, a file system turned read-only): what was committed before stays
    if (!isDamage(err) && !(err instanceof StoreError)) throw err;
    const opened = store !== undefined;
    io.err(`covenant run: ${escapeText(err instanceof StoreError ? err.message : damageMessage(scene.stateDir, err))}${opened ? "; this run's records may be incomplete" : ""}`);
    return EXIT.policyError;
  } finally {
    store?.close();
  }
}

/** What a run works with once it holds the lock (made by runGuarded, run.ts). */
export interface RunScene {
  policy: Policy;
  checked: Pick<CheckedPolicy, "files" | "cache">;
  opts: RunOptions;
  roots: ProbeRoots;
  /** where facts read os-release: the sandbox's etc/ when it has one of its own */
  factsEtcRoot: string;
  filesRoot: string | undefined;
  sandboxDir: string | undefined;
  /** the sandbox's facts (its manifest's `facts`) */
  sandboxFacts: Sandbox["facts"];
  stateDir: string;
  started: Date;
  notes: string[];
  notifyConfig: ConfigOutcome;
  /** when the hard stop ends the process (real time, ms): delivery ends before it */
  hardStopAt: number;
  /** how long the run waited for the lock: its timeout counts from when it held it */
  lockWaitedMs: number;
  /** output to write once the run is over */
  later: Later;
}

/** Evaluates the policy, recording each result as it is decided (src/run/record.ts), then reports. */
async function evaluateAndRecord(store: StateStore, scene: RunScene, io: Io): Promise<number> {
  const { policy, checked, opts, roots, filesRoot, started, notes } = scene;
  const recorded = await evaluateRecorded(
    store,
    { policy, files: checked.files, roots, ...(filesRoot !== undefined ? { filesRoot } : {}), dryRun: opts.dryRun, etcRoot: scene.factsEtcRoot, ...(scene.sandboxFacts !== undefined ? { facts: scene.sandboxFacts } : {}), started, deadline: started.getTime() + scene.lockWaitedMs + opts.timeoutMs, kind: "run" },
    notes,
  );
  return finishAndReport(store, scene, io, recorded);
}

/** Records the run's summary, tells, and prints the report; the exit code. */
async function finishAndReport(
  store: StateStore,
  scene: RunScene,
  io: Io,
  done: Recorded,
): Promise<number> {
  const { checked, opts, policy, sandboxDir, stateDir, started, notes } = scene;
  const { run, host, evaluation, facts, finding } = done;
  let failure = done.failure;
  const finished = new Date();
  const policyHash = hashPolicy(checked.files);
  const watcher = judgeWatcher(store, scene, host, failure === undefined);
  if (watcher.failure) failure ??= watcher.failure;
  noteUntrusted(store, notes);
  // a sandbox's run is a test of the policy, as a dry run is a preview: both marked, neither counted as operation
  const summary = runSummary(done, { started, finished, files: checked.files, dryRun: opts.dryRun, sandbox: sandboxDir !== undefined, notes });
  try {
    store.finishRun(summary, checked.files, evaluatedKeys(done));
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    failure ??= err;
    notes.push(`the run's summary could not be recorded (${err.message}): \`covenant verify\` notes the run as stopped before its summary`);
  }
  const info: RunInfo = { run, host, started: started.toISOString(), finished: finished.toISOString(), policy: policyHash, dryRun: opts.dryRun, stateDir, notes, policyCache: checked.cache, ...(scene.notifyConfig.status === "ok" ? { configCache: scene.notifyConfig.cache } : {}) };
  if (sandboxDir) info.sandbox = sandboxDir;
  if (watcher.stale) info.covenantDeficiencies = ["covenant.watch"];
  const notifications = await tell(store, scene, evaluation, facts, finding, failure !== undefined);
  if (notifications) info.notifications = notifications;
  // routing reads the deficiencies and the outbox: a row of theirs passed over is said too (in the report; the summary is written)
  noteUntrusted(store, notes);
  if (opts.junit) {
    try {
      writeReport(opts.junit, renderJunit(evaluation, info, promisesOf(policy)));
    } catch (err) {
      // the run is done and recorded: say so, and still report it
      io.err(`covenant run: cannot write the JUnit report ${escapeText(opts.junit)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  // a watcher gone is a deficiency this run found, as a promise in drift is
  const deficient = evaluation.results.some((r) => isDeficiency(r.outcome)) || watcher.stale;
  const allKept = evaluation.results.every((r) => r.outcome === "kept" || r.outcome === "skipped");
  // piece by piece once the run is over, each written before the next is made: each piece ends a line, so io.out adds nothing
  if (opts.json) scene.later.push(async () => {
    for (const part of renderJsonParts(evaluation, info)) await (io.outFlushed ? io.outFlushed(part) : io.out(part));
  });
  else if (!(opts.quiet && allKept && notes.length === 0)) io.out(renderText(evaluation, info, io.style, promisesOf(policy)));
  if (failure) {
    io.err(`covenant run: ${escapeText(failure.message)}; this run's records are incomplete (its report says what it changed that the store does not hold)`);
    return EXIT.policyError;
  }
  return deficient ? EXIT.deficiencies : EXIT.ok;
}

/**
 * The rows the store passed over because their seals do not match (a deficiency, an outbox event
 * or message edited in state.db): each said once among the run's notes. Passed over silently, a
 * forged deficiency left its promise's drift routed to "nobody", with nothing saying why but a
 * later `covenant verify`.
 */
function noteUntrusted(store: StateStore, notes: string[]): void {
  for (const why of store.untrusted) if (!notes.some((n) => n.includes(why))) notes.push(why);
}

/**
 * The watcher's heartbeat, judged now: a watcher gone (or a heartbeat changed outside Covenant)
 * is recorded in this run as a deficiency of Covenant's own, one beating again or stopped cleanly
 * resolves it; a dry run, or a run whose store failed, only says so. Its note goes in the summary.
 */
function judgeWatcher(store: StateStore, scene: RunScene, host: string, storeWorks: boolean): { stale: boolean; failure?: StoreError } {
  try {
    const record = storeWorks && !scene.opts.dryRun;
    const check = checkWatcher(store, { policy: scene.policy, host, storePath: join(scene.stateDir, "state.db"), record, now: Date.now(), time: new Date().toISOString() });
    if (check.note) scene.notes.push(check.note);
    return { stale: check.stale };
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    scene.notes.push(`the watcher's heartbeat could not be judged: ${err.message}`);
    return { stale: false, failure: err };
  }
}

/**
 * Routes and delivers after the run is recorded. A store that failed during the run holds an
 * incomplete record: nothing is routed from it (the next run does), and the report says so.
 */
async function tell(store: StateStore, scene: RunScene, evaluation: Evaluation, facts: ReturnType<typeof readFacts>, finding: ReturnType<typeof findingsFor>, storeFailed: boolean): Promise<NotificationsView | undefined> {
  const { opts, notes } = scene;
  const send = opts.notify === true || (!opts.dryRun && !opts.sandbox);
  if (storeFailed && send && !opts.dryRun) {
    notes.push("nothing was told: the store failed, so the next run or `covenant notify flush` tells what this one recorded");
    return undefined;
  }
  // nothing to tell and nobody to tell it to: the routing and channel code is never loaded
  if (scene.notifyConfig.status !== "ok" && !evaluation.results.some((r) => isDeficiency(r.outcome) || r.outcome === "repaired")) return undefined;
  try {
    const { notifyAfterRun } = await import("../run-notify.js");
    return await notifyAfterRun({ config: scene.notifyConfig, results: evaluation.results, finding, facts, ...(opts.dryRun ? {} : { store }), send, now: () => Date.now(), endBy: scene.hardStopAt - DELIVERY_MARGIN_MS });
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    notes.push(`notifications stopped: ${err.message}; what is not yet delivered stays in the outbox for the next run or \`covenant notify flush\``);
    return undefined;
  }
}
