// `covenant watch`: a long-running process for a policy (issue 15, first part). It watches every
// `file` and `directory` promise with `watch = realtime` through inotify (src/watch/), evaluates
// exactly the promises an event touched, and every promise again on its schedule (`every`, else
// --every); each evaluation takes the run lock only for its own duration and is recorded as a
// run of kind `watch` (src/run/record.ts), its deficiencies told as a run's are. A heartbeat in the
// store says it is alive; SIGTERM and SIGINT stop it cleanly, and it says it stopped. A policy or
// configuration that changes, or SIGHUP, is loaded again (one with errors leaves the running one).
//
// inotify is read by Covenant's own reader (src/watch/dir-watcher.ts): an overflow of the
// kernel's queue makes every realtime promise evaluated again, and so does the rescan timer;
// directories refused a watch (fs.inotify.max_user_watches) are a deficiency of Covenant's own
// (covenant.watch) until every watch is in place. What changed is the evaluator's finding
// (src/evaluator/integrity-check.ts); who was at the file and who made the change are added here
// (src/watch/who.ts) before the run is recorded and told.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promiseKeys } from "../../evaluator/engine.js";
import { EvaluationMemory } from "../../evaluator/evaluation-memory.js";
import type { Policy } from "../../checker/policy.js";
import { readStat } from "../../probes/processes.js";
import { defaultStateDir, ensureStateDir } from "../../store/state-dir.js";
import { StateStore, StoreError, type WatcherStatus } from "../../store/store.js";
import type { Blindness, WatchProblem } from "../../watch/events.js";
import chokidar from "chokidar";
import { startWatchLoop, type WatchLoop } from "../../watch/loop.js";
import { watchSet, watchTargets } from "../../watch/watch-set.js";
import { AuditWho, auditPaths } from "../../watch/made-by.js";
import { BatchWho, policySecretPatterns } from "../../watch/who.js";
import { read as readAccounts } from "../../probes/accounts.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { loadRunPolicy, saveCache } from "../run-policy.js";
import { bundleIdentity } from "../policy-cache.js";
import { resolveNotifyConfig, saveConfigCache, type ConfigOutcome } from "../notify-config.js";
import { hashPolicy } from "../../run/record.js";
import { WATCHER_BLIND_KEY } from "../watcher-health.js";
import { WATCH_DECISIONS_WAIT_MS, watchPusher, type WatcherTurn } from "../hub-push.js";
import { evaluateOnce, type WatchScene } from "./watch-evaluation.js";
import type { CacheOptions, CheckedPolicy } from "../checked-policy.js";

export interface WatchOptions {
  state?: string;
  config?: string;
  /** the schedule of promises that set no `every` (ms) */
  everyMs: number;
  heartbeatMs: number;
  coalesceMs: number;
  /** how often every realtime promise is evaluated again, whatever inotify said (ms) */
  rescanMs: number;
  /** at most this many inotify watches (tests: COVENANT_WATCH_MAX_DIRS simulates fs.inotify.max_user_watches) */
  maxWatches?: number;
  /** how long one evaluation may take (ms): its promises are `error` past it */
  timeoutMs: number;
  procRoot: string;
  etcRoot: string;
  include: string[];
  /** false: check the policy and load the configuration in full, without their caches (--no-policy-cache) */
  policyCache?: boolean;
}

/** `covenant watch --status`: cheap (one read), exit 0 when a watcher is running and beating, 1 otherwise. */
export function runWatchStatus(opts: { state?: string; json: boolean }, io: Io): number {
  const dir = opts.state ?? defaultStateDir();
  let status: WatcherStatus;
  let blind: string | undefined;
  try {
    // no store at all: nothing, a watcher included, has run here
    status = existsSync(join(dir, "state.db")) ? StateStore.watcherStatusOf(dir) : { state: "none" };
    if (status.state === "running") blind = blindness(dir);
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    io.err(`covenant watch: ${escapeText(err.message)}`);
    return EXIT.policyError;
  }
  if (opts.json) io.out(JSON.stringify(blind !== undefined ? { ...status, blind } : status, null, 2));
  else io.out(`${statusWords(status)}${blind !== undefined ? `; partly blind: ${escapeText(blind)}` : ""}`);
  return status.state === "running" ? EXIT.ok : EXIT.deficiencies;
}

/** Why the running watcher is partly blind (its open deficiency covenant.watch/watcher:inotify), if it is. */
function blindness(dir: string): string | undefined {
  const store = StateStore.openReadOnly(dir);
  try {
    const open = store.listDeficiencies({ status: "open" }).find((d) => d.key === WATCHER_BLIND_KEY);
    return open ? open.reason : undefined;
  } finally {
    store.close();
  }
}

function statusWords(s: WatcherStatus): string {
  if (s.state === "none") return s.untrusted ? `no watcher that Covenant recorded: ${escapeText(s.untrusted)}` : "no watcher has run here";
  const h = s.heartbeat;
  const ago = `${Math.round(s.ageMs / 1000)}s ago`;
  if (s.state === "running") return `running: pid ${h.pid}, started ${h.started}, last beat ${ago}`;
  if (s.state === "stopped") return `stopped at ${h.lastBeat} (pid ${h.pid}, started ${h.started})`;
  return `stale: ${escapeText(s.reason ?? "")} (pid ${h.pid}, last beat ${ago}, stale after ${Math.round(s.staleAfterMs / 1000)}s)`;
}

export async function runWatch(paths: string[], opts: WatchOptions, io: Io): Promise<number> {
  const opened = await openWatch(paths, opts, io);
  if (typeof opened === "number") return opened;
  const { loaded, notifyConfig, stateDir, store, cacheIn } = opened;
  const { policy, files } = loaded;
  const me = { pid: process.pid, startTicks: readStat({ proc: "/proc" }, process.pid)?.startTicks ?? 0 };
  const started = new Date().toISOString();
  const live: LiveWatch = { policyHash: hashPolicy(files) };
  const beat = () => store.beat({ ...me, started, lastBeat: new Date().toISOString(), policy: live.policyHash, intervalMs: opts.heartbeatMs });
  try {
    beat();
  } catch (err) {
    store.close();
    if (!(err instanceof StoreError)) throw err;
    io.err(`covenant watch: ${escapeText(err.message)}`);
    return EXIT.policyError;
  }
  // listened for before anything starts: a stop asked for during a long start-up is a clean stop too
  const stopped = stopSignal();
  const pusher = watchPusher(store, io, pushTurns(live));
  const say = sayOnce(io);
  // who: the processes at a changed file, seen as the batch arrives, and who made the change (audit)
  // what audit was made to do (rules added or removed) goes into the next run's notes, in the history
  const auditNotes: string[] = [];
  const audit = await startAudit(policy, opts, io, auditNotes);
  const who = new BatchWho({ proc: opts.procRoot, etc: opts.etcRoot }, audit);
  who.secretPatterns = policySecretPatterns(policy);
  const w: Watcher = { paths, opts, io, stateDir, store, cacheIn, live, beat, pusher, say, audit, auditNotes, who, blind: {} };
  // a policy or configuration that changes (or SIGHUP) is loaded again; one with errors is said,
  // and the one running goes on
  let reloading = Promise.resolve();
  const reloads = watchReloads(paths, opts.include, notifyConfig, () => {
    reloading = reloading.then(() => reloadPolicy(w));
  });
  // the policy's files are watched before the first evaluation: a change made once the start-up
  // rescan is said is a reload (chokidar's first scan is asynchronous; inotify's is not)
  await Promise.race([reloads.ready, stopped]);
  live.loop ??= startLoop(w, { policy, files, opts, stateDir, store, notifyConfig, io, blind: w.blind, cached: loaded.cache.state === "hit" }, "start");
  await Promise.race([live.loop.ready, stopped]);
  await stopped;
  await reloads.close();
  await reloading;
  await live.loop.stop();
  for (const n of await audit.stop()) io.out(`covenant watch: ${escapeText(n)}`);
  await pusher.stop();
  try {
    store.stopWatcher(me, new Date().toISOString());
  } finally {
    store.close();
  }
  io.out("covenant watch: stopped");
  return EXIT.ok;
}

/** The policy, the configuration and the store a watcher starts with; an exit code (said) when one cannot be used. */
async function openWatch(paths: string[], opts: WatchOptions, io: Io): Promise<{ loaded: CheckedPolicy; notifyConfig: ConfigOutcome; stateDir: string; store: StateStore; cacheIn: Watcher["cacheIn"] } | number> {
  const identity = opts.policyCache === false ? undefined : bundleIdentity();
  const cacheIn = (stateDir: string) => (identity ? { cache: { stateDir, identity } } : {});
  const loaded = await loadRunPolicy(paths, { include: opts.include, today: new Date().toISOString().slice(0, 10), ...cacheIn(opts.state ?? defaultStateDir()) }, io);
  if (typeof loaded === "number") return loaded;
  const notifyConfig = await resolveNotifyConfig(opts.config, io, "watch", cacheIn(opts.state ?? defaultStateDir()).cache);
  if (notifyConfig.status === "bad") return EXIT.policyError;
  try {
    const stateDir = ensureStateDir(opts.state ?? defaultStateDir());
    const store = StateStore.open(stateDir);
    for (const unsaved of [saveCache(loaded, stateDir), saveConfigCache(notifyConfig, stateDir)]) if (unsaved) io.err(`covenant watch: ${escapeText(unsaved)}`);
    return { loaded, notifyConfig, stateDir, store, cacheIn };
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    io.err(`covenant watch: ${escapeText(err.message)}`);
    return EXIT.policyError;
  }
}

/** What changes while the watcher runs: its loop and what it kept of each promise's evaluation (both made again at each reload), the policy's hash in its heartbeat. */
interface LiveWatch {
  loop?: WatchLoop;
  memory?: EvaluationMemory;
  policyHash: string;
}

/** What the watcher's loop, its reloads and its evaluations share. */
interface Watcher {
  paths: string[];
  opts: WatchOptions;
  io: Io;
  stateDir: string;
  store: StateStore;
  /** the policy and configuration caches in a state directory, unless --no-policy-cache (or unbundled) */
  cacheIn: (stateDir: string) => { cache?: CacheOptions };
  live: LiveWatch;
  beat: () => void;
  pusher: { poke(): void };
  say: (p: WatchProblem) => void;
  audit: AuditWho;
  auditNotes: string[];
  who: BatchWho;
  /** what inotify does not watch now, recorded by the next evaluation (a deficiency while any) */
  blind: { now?: Blindness };
}

/**
 * An enrolled host pushes what its evaluations recorded, at most every 30 s, never holding one
 * up; the hub's decisions are applied between two evaluations, and a promise an integrity
 * approval re-baselined is evaluated whole at once: what was found of it before is forgotten.
 */
function pushTurns(live: LiveWatch): WatcherTurn {
  return {
    between: async (work) => {
      const turn = live.loop ? await live.loop.exclusive(work, WATCH_DECISIONS_WAIT_MS) : { not: "stopped" as const };
      if ("done" in turn) return turn;
      return { not: turn.not === "busy" ? `the watcher's evaluation under way did not end within ${WATCH_DECISIONS_WAIT_MS / 1000} s` : "the watcher is stopping or reloading its policy" };
    },
    approved: (keys) => {
      for (const k of keys) {
        live.memory?.of(k).forget();
        live.loop?.ask(k, "approval");
      }
    },
  };
}

/** The loop of evaluations for the policy of `scene`, started (at start-up, or on a reload). */
function startLoop(w: Watcher, scene: WatchScene, initial: "start" | "reload"): WatchLoop {
  const { opts, io, who, blind } = w;
  blind.now = undefined;
  const keys = promiseKeys(scene.policy);
  const set = watchSet(watchTargets(scene.policy));
  // what each promise's last evaluation found, for evaluations of what events named (tree-focus.ts): one per policy loaded
  const kept = new EvaluationMemory();
  w.live.memory = kept;
  io.out(`covenant watch: ${initial === "reload" ? "policy reloaded: " : ""}${keys.length} promise${keys.length === 1 ? "" : "s"}, ${set.targets.length} in real time (${set.roots.length} path${set.roots.length === 1 ? "" : "s"} watched), the rest every ${Math.round(opts.everyMs / 1000)}s unless they say otherwise; state in ${escapeText(w.stateDir)}${scene.cached ? "; policy from its cache (unchanged files)" : ""}`);
  return startWatchLoop({
    keys: keys.map((k) => k.key),
    every: new Map(keys.map((k) => [k.key, k.promise.every ?? opts.everyMs])),
    set,
    coalesceMs: opts.coalesceMs,
    heartbeatMs: opts.heartbeatMs,
    // past its own deadline and a minute's grace (messages being sent), an evaluation is stalled
    stallAfterMs: opts.timeoutMs + 60_000,
    rescanMs: opts.rescanMs,
    ...(opts.maxWatches !== undefined ? { maxWatches: opts.maxWatches } : {}),
    onBlind: (b) => (blind.now = b.unwatched.length > 0 ? b : undefined),
    initial,
    evaluate: async (ks, why, batch, focus) => {
      await who.settled(); // the audit look-ups, bounded, before the run lock is taken
      // a directory not watched sends no events: while one is, every promise is evaluated whole
      const done = await evaluateOnce(scene, ks, why, batch, { who, set, auditNotes: w.auditNotes, memory: kept, focus: blind.now ? new Map() : focus });
      if (done === "done") w.pusher.poke();
      return done;
    },
    onBatch: (b) => who.seen(b.paths, b.firstAt),
    beat: w.beat,
    onProblem: w.say,
    onFailure: (err) => io.err(`covenant watch: ${escapeText(err instanceof Error ? err.message : String(err))}`),
  });
}

/** The policy and the configuration loaded again, and the loop started again with them; with errors, said, and the running one left. */
async function reloadPolicy(w: Watcher): Promise<void> {
  const { paths, opts, io, stateDir } = w;
  const next = await loadRunPolicy(paths, { include: opts.include, today: new Date().toISOString().slice(0, 10), ...w.cacheIn(stateDir) }, io);
  const unsaved = typeof next === "number" ? undefined : saveCache(next, stateDir);
  if (unsaved) io.err(`covenant watch: ${escapeText(unsaved)}`);
  const config = typeof next === "number" ? undefined : await resolveNotifyConfig(opts.config, io, "watch", w.cacheIn(stateDir).cache);
  const unsavedConfig = config === undefined ? undefined : saveConfigCache(config, stateDir);
  if (unsavedConfig) io.err(`covenant watch: ${escapeText(unsavedConfig)}`);
  if (typeof next === "number" || config === undefined || config.status === "bad") {
    io.err("covenant watch: the policy or the configuration has errors (above): the previous policy keeps running");
    return;
  }
  await w.live.loop?.stop();
  for (const n of await w.audit.reload(auditPaths(watchTargets(next.policy)))) {
    io.out(`covenant watch: ${escapeText(n)}`);
    w.auditNotes.push(n);
  }
  w.live.policyHash = hashPolicy(next.files);
  w.who.secretPatterns = policySecretPatterns(next.policy);
  w.beat();
  w.live.loop = startLoop(w, { policy: next.policy, files: next.files, opts, stateDir, store: w.store, notifyConfig: config, io, blind: w.blind, cached: next.cache.state === "hit" }, "reload");
}

/**
 * SIGHUP, or a change to the named policy paths, the `--include` directories (a shared library the
 * policy imports) or the configuration file, calls `reload` (a burst once, after 200 ms).
 */
function watchReloads(paths: string[], include: readonly string[], config: ConfigOutcome, reload: () => void): { ready: Promise<void>; close(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  const soon = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      reload();
    }, 200);
  };
  process.on("SIGHUP", soon);
  const named = [...(paths.length > 0 ? paths : ["."]), ...include, ...(config.status === "ok" ? [config.config.path] : [])];
  const w = chokidar.watch(named, { ignoreInitial: true, depth: 0, followSymlinks: false, atomic: false });
  w.on("all", (_event, path) => {
    if (/\.promise$/.test(path) || named.includes(path)) soon();
  });
  w.on("raw", (_event, name) => {
    if (typeof name === "string" && /\.promise$/.test(name)) soon();
  });
  return {
    ready: new Promise<void>((resolve) => w.once("ready", () => resolve())),
    async close() {
      process.off("SIGHUP", soon);
      if (timer) clearTimeout(timer);
      await w.close();
    },
  };
}

/**
 * Says a watcher problem, each kind at most once a minute with how often it came meanwhile: a
 * user creating directories past inotify's watch limit must not flood the journal.
 */
export function sayOnce(io: Pick<Io, "err">, now: () => number = Date.now): (p: WatchProblem) => void {
  const said = new Map<string, { at: number; more: number }>();
  return (p) => {
    const at = now();
    const last = said.get(p.kind);
    if (last && at - last.at < 60_000) {
      last.more++;
      return;
    }
    const more = last && last.more > 0 ? ` (and ${last.more} more time${last.more === 1 ? "" : "s"} in the minute before)` : "";
    said.set(p.kind, { at, more: 0 });
    io.err(`covenant watch: ${escapeText(p.message)}${more}`);
  };
}

/** Resolves on SIGTERM or SIGINT (once: a second one ends the process as the default would). */
function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      resolve();
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}

/** Audit set up for the policy's realtime paths; its notes said. */
async function startAudit(policy: Policy, opts: WatchOptions, io: Io, notes: string[]): Promise<AuditWho> {
  const accounts = readAccounts({ etc: opts.etcRoot });
  const users = accounts.ok ? accounts.value.userByUid : undefined;
  const audit = new AuditWho({ userName: (uid) => users?.get(uid)?.name });
  try {
    for (const n of await audit.start(auditPaths(watchTargets(policy)))) {
      io.out(`covenant watch: ${escapeText(n)}`);
      notes.push(n);
    }
  } catch (err) {
    io.err(`covenant watch: audit cannot be set up: ${escapeText(err instanceof Error ? err.message : String(err))}`);
  }
  return audit;
}
