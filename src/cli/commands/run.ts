// `covenant run [paths...]`: evaluate every promise in scope on this host, repair what the
// policy allows, record every change of state in the store, and report. Here, the run's course:
// the policy and configuration loaded, where it runs (this host or a sandbox) and its state
// directory, the lock taken (run-lock-wait.ts), the run recorded and reported
// (run-evaluation.ts), then what is written once the lock is released, and the push to the hub.
import { join } from "node:path";
import { defaultStateDir, ensureStateDir } from "../../store/state-dir.js";
import { StoreError } from "../../store/store.js";
import { escapeText } from "../escape.js";
import { fromBundle, handOverFromSnapshot, inRunSnapshot } from "../hand-over.js";
import { EXIT } from "../exit-codes.js";
import { armHardStop, type HardStop } from "../hard-stop.js";
import type { Io } from "../io.js";
import type { CacheOptions } from "../checked-policy.js";
import { loadRunPolicy, saveCache } from "../run-policy.js";
import { bundleIdentity } from "../policy-cache.js";
import { resolveNotifyConfig, saveConfigCache } from "../notify-config.js";
import { isEnrolled } from "../../hub/client/enrolment.js";
import { takeRunLock, WATCHER_LOCK_WAIT_MS } from "./run-lock-wait.js";
import { recordedRun, type RunScene } from "./run-evaluation.js";

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
export type Later = (() => Promise<void>)[];
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

/** The policy and configuration caches a run reads: in the state directory it is to use (made sure of only later), unless --no-policy-cache or unbundled. */
async function policyCacheOf(opts: RunOptions): Promise<{ cache?: CacheOptions }> {
  const identity = opts.policyCache === false ? undefined : bundleIdentity();
  if (!identity) return {};
  const stateDir = opts.state ?? (opts.sandbox ? join(opts.sandboxDir ?? (await import("../../sandbox/sandbox.js")).defaultSandboxDir(), "state") : defaultStateDir());
  return { cache: { stateDir, identity } };
}
