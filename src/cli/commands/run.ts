// `covenant run [paths...]`: evaluate every promise in scope on this host, repair what the
// policy allows, record every change of state in the store, and report.
import { join } from "node:path";
import type { Evaluation } from "../../evaluator/engine.js";
import { isDeficiency } from "../../evaluator/outcomes.js";
import type { Policy } from "../../checker/policy.js";
import type { readFacts } from "../../facts/host.js";
import { waitForRunLock, type LockHolder, type LockResult } from "../../store/run-lock.js";
import { defaultStateDir, ensureStateDir } from "../../store/state-dir.js";
import { damageMessage, isDamage, StateStore, StoreError } from "../../store/store.js";
import { escapeText } from "../escape.js";
import { fromBundle, handOverFromSnapshot, inRunSnapshot } from "../hand-over.js";
import { EXIT } from "../exit-codes.js";
import { armHardStop, type HardStop } from "../hard-stop.js";
import type { Io } from "../io.js";
import type { CacheOptions, CheckedPolicy } from "../checked-policy.js";
import { loadRunPolicy, saveCache } from "../run-policy.js";
import { bundleIdentity } from "../policy-cache.js";
import { writeReport } from "../report-file.js";
import { promisesOf, renderJsonParts, renderJunit, renderText, type RunInfo } from "../run-report.js";
import type { Sandbox } from "../../sandbox/sandbox.js";
import type { ProbeRoots } from "../../probes/result.js";
import type { findingsFor } from "../../run/findings.js";
import { evaluatedKeys, evaluateRecorded, hashPolicy, runSummary, type Recorded } from "../../run/record.js";
import { resolveNotifyConfig, saveConfigCache, type ConfigOutcome } from "../notify-config.js";
import type { NotificationsView } from "../run-notify.js";
import { checkWatcher } from "../watcher-health.js";
import { isEnrolled } from "../../hub/client/enrolment.js";

export interface RunOptions {
  state?: string;
  dryRun: boolean;
  json: boolean;
  junit?: string;
  quiet: boolean;
  /** the whole run's time limit, in ms */
  timeoutMs: number;
  procRoot: string;
  etcRoot: string;
  sandbox: boolean;
  sandboxDir?: string;
  /** the sandbox's manifest (--sandbox-manifest), instead of the sandbox.json beside the policy */
  sandboxManifest?: string;
  /** the notification configuration (--config); else /etc/covenant/covenant.yaml as root, else ./covenant.yaml */
  config?: string;
  /** the instant to evaluate at (tests): facts and waiver expiry */
  now?: Date;
  /** directories whose .promise files may be imported besides the policy's own (--include) */
  include?: string[];
  /** the largest policy file read, in bytes (--max-file-size) */
  maxFileSize?: number;
  /** send even from a dry run or a sandbox (a deliberate test) */
  notify?: boolean;
  /** how long to wait for a lock another process holds, in ms (--lock-wait); absent: WATCHER_LOCK_WAIT_MS for the watcher, 0 for anything else */
  lockWaitMs?: number;
  /** false (--no-push): no push to the fleet hub after the run, though the host is enrolled */
  push?: boolean;
  /** run the hub's policy version in force for this host (--from-hub) instead of files named */
  fromHub?: boolean;
  /** false: check the policy and load the configuration in full, without their caches (--no-policy-cache) */
  policyCache?: boolean;
}

/**
 * How long a run waits, unless told, for the lock the watcher holds: the watcher holds it only
 * while it evaluates the promises an event touched (seconds), so a run from cron that meets it
 * should wait rather than fail. Another run is not waited for: it holds the lock for up to its
 * whole timeout (10 minutes by default), and overlapping runs from cron have always failed at
 * once (exit 2), which is what schedulers and wrappers expect.
 */
export const WATCHER_LOCK_WAIT_MS = 60_000;

/** How long a run waits for the lock held by `holder`. */
function lockWaitFor(holder: LockHolder, given: number | undefined): number {
  return given ?? (holder.kind === "watch" ? WATCHER_LOCK_WAIT_MS : 0);
}

/** Delivery ends this long before the hard stop, so the run still writes its report and ends on its own. */
const DELIVERY_MARGIN_MS = 5_000;

export async function runRun(paths: string[], opts: RunOptions, io: Io): Promise<number> {
  // the run snapshot holds neither (hand-over.ts): the bundle runs them, before anything is read
  if (opts.sandbox || opts.fromHub) handOverFromSnapshot(opts.sandbox ? "a sandbox's run" : "a run of the hub's policy");
  // past the run timeout and a grace period, leave, whatever the run is doing (loading a policy
  // included); every record so far is committed
  let releaseLock = () => {};
  // the longest wait for the lock is added, and taken off again by the time the lock is taken
  const hardStop = armHardStop(opts.timeoutMs + 30_000 + (opts.lockWaitMs ?? WATCHER_LOCK_WAIT_MS), (message) => {
    io.err(message);
    releaseLock();
  });
  const later: Later = [];
  // the state directory once the run recorded in it: an enrolled host pushes from it afterwards
  const recordedIn: { dir?: string } = {};
  let code: number;
  try {
    code = await runGuarded(paths, opts, io, hardStop, (release) => (releaseLock = release), later, recordedIn);
  } finally {
    hardStop.disarm();
  }
  // the JSON report is written once the run is over (lock released, hard stop disarmed): it is
  // written a chunk at a time as the reader takes it, and a slow reader (`| less`) must neither
  // keep other runs out nor be cut off by a stop meant for a stuck run
  if (later.length > 0) io.exitIfCut?.(code);
  for (const write of later) await write();
  // after the report, the lock released: bounded by its own limit, and never the run's exit code
  // (the HTTPS client is loaded only for a host that is enrolled)
  if (opts.push !== false && recordedIn.dir !== undefined && isEnrolled(recordedIn.dir)) {
    const hubPush = inRunSnapshot() ? (await fromBundle()).hubPush : () => import("../hub-push.js");
    await (await hubPush()).pushAfterRun(recordedIn.dir, io, opts);
  }
  return code;
}

/** Output written after the run has ended (its lock released): see runRun. */
type Later = (() => Promise<void>)[];

async function runGuarded(paths: string[], opts: RunOptions, io: Io, hardStop: HardStop, onLock: (release: () => void) => void, later: Later, recordedIn: { dir?: string }): Promise<number> {
  const started = opts.now ?? new Date();
  const hubNotes: string[] = [];
  if (opts.fromHub) {
    const hub = await (await import("../hub-policy-run.js")).hubPolicyPaths(opts.state ?? defaultStateDir(), started.toISOString().slice(0, 10), io);
    if (typeof hub === "number") return hub;
    paths = hub.paths;
    hubNotes.push(...hub.notes);
  }
  const caches = await policyCacheOf(opts);
  const checked = await loadRunPolicy(paths, { include: opts.include ?? [], ...(opts.maxFileSize !== undefined ? { maxFileSize: opts.maxFileSize } : {}), today: started.toISOString().slice(0, 10), ...caches }, io);
  if (typeof checked === "number") return checked;
  const policy = checked.policy;
  // the whole configuration before anything starts: a bad one never half-starts a run
  const notifyConfig = await resolveNotifyConfig(opts.config, io, "run", caches.cache);
  if (notifyConfig.status === "bad") return EXIT.policyError;

  const notes: string[] = [...hubNotes];
  const place = await runPlace(paths, opts, io, notes);
  if (typeof place === "number") return place;
  const { roots, factsEtcRoot, filesRoot, sandboxDir, sandboxFacts } = place;
  let stateDir = place.stateDir;
  try {
    stateDir = ensureStateDir(stateDir);
  } catch (err) {
    // a state directory root may not trust names the file and the fix itself
    if (err instanceof StoreError) io.err(`covenant run: ${escapeText(err.message)}`);
    else io.err(`covenant run: cannot use the state directory ${escapeText(stateDir)}: ${escapeText((err as Error).message)} (choose one with --state)`);
    return EXIT.policyError;
  }
  for (const unsaved of [saveCache(checked, stateDir), saveConfigCache(notifyConfig, stateDir)]) if (unsaved) notes.push(unsaved);
  const held = await takeRunLock(stateDir, opts, io, hardStop, notes);
  if (typeof held === "number") return held;
  const { lock, waitedMs } = held;
  onLock(lock.release);
  hardStop.guardLock(stateDir);

  let code: number = EXIT.internal;
  recordedIn.dir = stateDir;
  try {
    code = await recordedRun({ policy, checked, opts, roots, factsEtcRoot, filesRoot, sandboxDir, sandboxFacts, stateDir, started, notes, notifyConfig, hardStopAt: hardStop.deadline, lockWaitedMs: waitedMs, later }, io);
  } finally {
    // a lock that cannot be removed (a file system turned read-only) is said, exit 2
    const failed = lock.release();
    if (failed) {
      io.err(`covenant run: ${escapeText(failed.message)}`);
      code = EXIT.policyError;
    }
  }
  return code;
}

/** Where a run reads and writes: this host's, or a sandbox's files, /proc, etc and state directory. */
type RunPlace = Pick<RunScene, "roots" | "factsEtcRoot" | "filesRoot" | "sandboxDir" | "sandboxFacts" | "stateDir">;

/** This host, or the sandbox made (or reused) for the run, its notes added; exit 2 when it cannot be. */
async function runPlace(paths: string[], opts: RunOptions, io: Io, notes: string[]): Promise<RunPlace | number> {
  const place: RunPlace = { roots: { proc: opts.procRoot, etc: opts.etcRoot }, factsEtcRoot: opts.etcRoot, stateDir: opts.state ?? defaultStateDir(), filesRoot: undefined, sandboxDir: undefined, sandboxFacts: undefined };
  if (!opts.sandbox) return place;
  // loaded only for a sandbox's run (with the probes its manifest's host state is checked with)
  const { prepareSandbox, SandboxError } = await import("../../sandbox/sandbox.js");
  try {
    const sb = prepareSandbox(paths, opts.sandboxDir, opts.sandboxManifest);
    // a sandbox with a /proc of its own reads it instead of the machine's, and its recorded answers instead of rpm and systemctl
    place.roots = { proc: sb.procRoot ?? opts.procRoot, etc: sb.etcRoot, ...(sb.answersDir !== undefined ? { answers: sb.answersDir } : {}) };
    if (sb.osRelease) place.factsEtcRoot = sb.etcRoot;
    place.filesRoot = sb.filesRoot;
    place.sandboxDir = sb.dir;
    place.sandboxFacts = sb.facts;
    place.stateDir = opts.state ?? sb.stateDir;
    if (sb.created) notes.push(`sandbox created in ${sb.dir}: files below ${sb.filesRoot}, accounts in ${sb.etcRoot}${sb.procRoot !== undefined ? `, its own /proc in ${sb.procRoot}` : ""}; nothing outside it is changed`);
    notes.push(...sb.notes);
  } catch (err) {
    if (!(err instanceof SandboxError)) throw err;
    // a manifest's problems are a list, one per line: each line escaped, the lines kept
    io.err(`covenant run: ${err.message.split("\n").map(escapeText).join("\n")}`);
    return EXIT.policyError;
  }
  return place;
}

/**
 * The run lock, waited for as long as --lock-wait (or the holder's kind) allows: exit 2 when it
 * is still held, or cannot be taken. The hard stop moves to the wait the run had; the wait, and
 * a lock taken over from a process gone, are noted.
 */
async function takeRunLock(stateDir: string, opts: RunOptions, io: Io, hardStop: HardStop, notes: string[]): Promise<{ lock: LockResult & { ok: true }; waitedMs: number } | number> {
  // liveness of the lock holder is judged in this process's own /proc, whatever --proc-root reads
  let lock: LockResult;
  let waitedFor: LockHolder | undefined;
  const waitStart = Date.now();
  try {
    lock = await waitForRunLock(stateDir, { waitMs: (h) => lockWaitFor(h, opts.lockWaitMs), onHeld: (h) => (waitedFor = h) });
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    io.err(`covenant run: ${escapeText(err.message)}`);
    return EXIT.policyError;
  }
  const waitedMs = Date.now() - waitStart;
  if (!lock.ok) {
    const waited = lockWaitFor(lock.holder, opts.lockWaitMs) > 0 ? ` (waited ${seconds(waitedMs)}, --lock-wait)` : "";
    io.err(`covenant run: ${lockHeld(lock.holder)} holds the lock on ${escapeText(stateDir)}${waited}; not running twice`);
    return EXIT.policyError;
  }
  // the run's timeout starts once it holds the lock: the stop armed for the longest wait moves to the wait it had
  hardStop.moveTo(hardStop.deadline - Math.max(0, (opts.lockWaitMs ?? WATCHER_LOCK_WAIT_MS) - waitedMs));
  if (waitedFor) notes.push(`waited ${seconds(waitedMs)} for the run lock, held by ${lockHeld(waitedFor)}`);
  if (lock.tookOverFrom) notes.push(`took over the run lock left by a ${lock.tookOverFrom.kind === "watch" ? "watcher" : "run"} that is gone (pid ${lock.tookOverFrom.pid}, started ${lock.tookOverFrom.startedAt})`);
  return { lock, waitedMs };
}

/** The policy and configuration caches a run reads: in the state directory it is to use (made sure of only later), unless --no-policy-cache or unbundled. */
async function policyCacheOf(opts: RunOptions): Promise<{ cache?: CacheOptions }> {
  const identity = opts.policyCache === false ? undefined : bundleIdentity();
  if (!identity) return {};
  const stateDir = opts.state ?? (opts.sandbox ? join(opts.sandboxDir ?? (await import("../../sandbox/sandbox.js")).defaultSandboxDir(), "state") : defaultStateDir());
  return { cache: { stateDir, identity } };
}

/** Who holds the lock, for messages: `another run (pid 12, started ...)`, `the watcher (pid 9, started ...)`. */
function lockHeld(h: LockHolder): string {
  return `${h.kind === "watch" ? "the watcher" : "another run"} (pid ${h.pid}, started ${escapeText(String(h.startedAt))})`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
}

/** Opens the store, runs and records; the store's failures are exit 2 with what failed. */
async function recordedRun(scene: RunScene, io: Io): Promise<number> {
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

interface RunScene {
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
