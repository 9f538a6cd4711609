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
import { findingSummary, viewOfFinding } from "../../text/finding-text.js";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promiseKeys, type PromiseResult } from "../../evaluator/engine.js";
import { EvaluationMemory } from "../../evaluator/evaluation-memory.js";
import type { FileFinding } from "../../evaluator/file-finding.js";
import { isDeficiency } from "../../evaluator/outcomes.js";
import type { Policy } from "../../checker/policy.js";
import { readStat } from "../../probes/processes.js";
import { acquireRunLock, runWaiting } from "../../store/run-lock.js";
import { defaultStateDir, ensureStateDir } from "../../store/state-dir.js";
import { StateStore, StoreError, type WatcherStatus } from "../../store/store.js";
import type { Batch, Blindness, WatchProblem } from "../../watch/events.js";
import chokidar from "chokidar";
import { startWatchLoop, type Trigger, type WatchLoop } from "../../watch/loop.js";
import { watchSet, watchTargets, type WatchSet } from "../../watch/watch-set.js";
import { AuditWho, auditPaths } from "../../watch/made-by.js";
import { BatchWho, policySecretPatterns } from "../../watch/who.js";
import { read as readAccounts } from "../../probes/accounts.js";
import { whoLines } from "../../text/finding-who-text.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { loadRunPolicy, saveCache } from "../run-policy.js";
import { bundleIdentity } from "../policy-cache.js";
import { resolveNotifyConfig, type ConfigOutcome } from "../notify-config.js";
import { evaluatedKeys, evaluateRecorded, hashPolicy, runSummary } from "../../run/record.js";
import { recordBlindness, WATCHER_BLIND_KEY } from "../watcher-health.js";
import { WATCH_DECISIONS_WAIT_MS, watchPusher } from "../hub-push.js";

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
  /** false: check the policy in full, without the policy cache (--no-policy-cache) */
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
  const identity = opts.policyCache === false ? undefined : bundleIdentity();
  const cacheIn = (stateDir: string) => (identity ? { cache: { stateDir, identity } } : {});
  const loaded = await loadRunPolicy(paths, { include: opts.include, today: new Date().toISOString().slice(0, 10), ...cacheIn(opts.state ?? defaultStateDir()) }, io);
  if (typeof loaded === "number") return loaded;
  const { policy, files } = loaded;
  const notifyConfig = await resolveNotifyConfig(opts.config, io, "watch");
  if (notifyConfig.status === "bad") return EXIT.policyError;
  let stateDir: string;
  let store: StateStore;
  try {
    stateDir = ensureStateDir(opts.state ?? defaultStateDir());
    store = StateStore.open(stateDir);
    const unsaved = saveCache(loaded, stateDir);
    if (unsaved) io.err(`covenant watch: ${escapeText(unsaved)}`);
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    io.err(`covenant watch: ${escapeText(err.message)}`);
    return EXIT.policyError;
  }
  const me = { pid: process.pid, startTicks: readStat({ proc: "/proc" }, process.pid)?.startTicks ?? 0 };
  const started = new Date().toISOString();
  let policyHash = hashPolicy(files);
  const beat = () => store.beat({ ...me, started, lastBeat: new Date().toISOString(), policy: policyHash, intervalMs: opts.heartbeatMs });
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
  let loop: WatchLoop | undefined;
  // what each promise's last evaluation found (tree-focus.ts): the running policy's
  let memory: EvaluationMemory | undefined;
  // an enrolled host pushes what its evaluations recorded, at most every 30 s, never holding one
  // up; the hub's decisions are applied between two evaluations, and a promise an integrity
  // approval re-baselined is evaluated whole at once: what was found of it before is forgotten
  const pusher = watchPusher(store, io, {
    between: async (work) => {
      const turn = loop ? await loop.exclusive(work, WATCH_DECISIONS_WAIT_MS) : { not: "stopped" as const };
      if ("done" in turn) return turn;
      return { not: turn.not === "busy" ? `the watcher's evaluation under way did not end within ${WATCH_DECISIONS_WAIT_MS / 1000} s` : "the watcher is stopping or reloading its policy" };
    },
    approved: (keys) => {
      for (const k of keys) {
        memory?.of(k).forget();
        loop?.ask(k, "approval");
      }
    },
  });
  const say = sayOnce(io);
  // who: the processes at a changed file, seen as the batch arrives, and who made the change (audit)
  // what audit was made to do (rules added or removed) goes into the next run's notes, in the history
  const auditNotes: string[] = [];
  const audit = await startAudit(policy, opts, io, auditNotes);
  const who = new BatchWho({ proc: opts.procRoot, etc: opts.etcRoot }, audit);
  who.secretPatterns = policySecretPatterns(policy);
  // what inotify does not watch now, recorded by the next evaluation (a deficiency while any)
  const blind: { now?: Blindness } = {};
  const start = (scene: WatchScene, initial: "start" | "reload"): WatchLoop => {
    blind.now = undefined;
    const keys = promiseKeys(scene.policy);
    const set = watchSet(watchTargets(scene.policy));
    // what each promise's last evaluation found, for evaluations of what events named (tree-focus.ts): one per policy loaded
    const kept = new EvaluationMemory();
    memory = kept;
    io.out(`covenant watch: ${initial === "reload" ? "policy reloaded: " : ""}${keys.length} promise${keys.length === 1 ? "" : "s"}, ${set.targets.length} in real time (${set.roots.length} path${set.roots.length === 1 ? "" : "s"} watched), the rest every ${Math.round(opts.everyMs / 1000)}s unless they say otherwise; state in ${escapeText(stateDir)}${scene.cached ? "; policy from its cache (unchanged files)" : ""}`);
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
        const done = await evaluateOnce(scene, ks, why, batch, { who, set, auditNotes, memory: kept, focus: blind.now ? new Map() : focus });
        if (done === "done") pusher.poke();
        return done;
      },
      onBatch: (b) => who.seen(b.paths, b.firstAt),
      beat,
      onProblem: say,
      onFailure: (err) => io.err(`covenant watch: ${escapeText(err instanceof Error ? err.message : String(err))}`),
    });
  };
  // a policy or configuration that changes (or SIGHUP) is loaded again; one with errors is said,
  // and the one running goes on
  let reloading = Promise.resolve();
  const reloads = watchReloads(paths, opts.include, notifyConfig, () => {
    reloading = reloading.then(async () => {
      const next = await loadRunPolicy(paths, { include: opts.include, today: new Date().toISOString().slice(0, 10), ...cacheIn(stateDir) }, io);
      const unsaved = typeof next === "number" ? undefined : saveCache(next, stateDir);
      if (unsaved) io.err(`covenant watch: ${escapeText(unsaved)}`);
      const config = typeof next === "number" ? undefined : await resolveNotifyConfig(opts.config, io, "watch");
      if (typeof next === "number" || config === undefined || config.status === "bad") {
        io.err("covenant watch: the policy or the configuration has errors (above): the previous policy keeps running");
        return;
      }
      await loop?.stop();
      for (const n of await audit.reload(auditPaths(watchTargets(next.policy)))) {
        io.out(`covenant watch: ${escapeText(n)}`);
        auditNotes.push(n);
      }
      policyHash = hashPolicy(next.files);
      who.secretPatterns = policySecretPatterns(next.policy);
      beat();
      loop = start({ policy: next.policy, files: next.files, opts, stateDir, store, notifyConfig: config, io, blind, cached: next.cache.state === "hit" }, "reload");
    });
  });
  // the policy's files are watched before the first evaluation: a change made once the start-up
  // rescan is said is a reload (chokidar's first scan is asynchronous; inotify's is not)
  await Promise.race([reloads.ready, stopped]);
  loop ??= start({ policy, files, opts, stateDir, store, notifyConfig, io, blind, cached: loaded.cache.state === "hit" }, "start");
  await Promise.race([loop.ready, stopped]);
  await stopped;
  await reloads.close();
  await reloading;
  await loop.stop();
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

interface WatchScene {
  policy: Policy;
  files: { path: string; text: string }[];
  opts: WatchOptions;
  stateDir: string;
  store: StateStore;
  notifyConfig: ConfigOutcome;
  io: Io;
  blind: { now?: Blindness };
  /** the policy came from the policy cache: its files are those last checked */
  cached?: boolean;
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

/** One evaluation of `keys` as a run of kind `watch`, under the run lock; "busy" when a run holds it. */
interface EvaluationAids {
  who: BatchWho;
  set: WatchSet;
  auditNotes: string[];
  memory: EvaluationMemory;
  focus: ReadonlyMap<string, readonly string[]>;
}

async function evaluateOnce(s: WatchScene, keys: string[], why: Trigger, batch: Batch | undefined, w: EvaluationAids): Promise<"done" | "busy"> {
  // a run from cron waiting for the lock goes first: the watcher would otherwise take it back
  // right after each evaluation while events keep coming
  if (runWaiting(s.stateDir)) return "busy";
  const lock = acquireRunLock(s.stateDir, "/proc", "watch");
  if (!lock.ok) return "busy";
  try {
    const started = new Date();
    const notes: string[] = w.auditNotes.splice(0);
    // who was seen for the changes this evaluation looks at, taken before it starts: a batch
    // arriving meanwhile is the next evaluation's (a path no promise names, a directory's event, is let go)
    const evaluated = new Set(keys);
    const who = w.who.take((p) => {
      const affected = w.set.affected(p);
      return affected.length === 0 || affected.some((k) => evaluated.has(k));
    });
    // who is attached to each result before it is recorded (annotate, once the holders scans of its
    // paths are done): the store's change record, the deficiency and every message and payload carry it
    const recorded = await evaluateRecorded(
      s.store,
      { policy: s.policy, files: s.files, roots: { proc: s.opts.procRoot, etc: s.opts.etcRoot }, dryRun: false, etcRoot: s.opts.etcRoot, started, deadline: started.getTime() + s.opts.timeoutMs, kind: "watch", only: new Set(keys), focus: w.focus, memory: w.memory, annotate: (r) => w.who.attach(r, who, (p) => w.set.affected(p)) },
      notes,
    );
    const blindNote = recordBlindness(s.store, { policy: s.policy, host: recorded.host, storePath: join(s.stateDir, "state.db"), ...(s.blind.now ? { blind: s.blind.now } : {}), time: new Date().toISOString() });
    if (blindNote) notes.push(blindNote);
    s.store.finishRun({ ...runSummary(recorded, { started, finished: new Date(), files: s.files, dryRun: false, notes }), kind: "watch" }, s.files, evaluatedKeys(recorded));
    const results = recorded.evaluation.results;
    const told = results.some((r) => isDeficiency(r.outcome) || r.outcome === "repaired") || s.notifyConfig.status === "ok" ? await tellWatch(s, recorded) : undefined;
    s.io.out(evaluationLine(recorded.run, why, batch, results, told));
    if (blindNote) s.io.out(`  ${escapeText(blindNote)}`);
    return "done";
  } finally {
    const failed = lock.release();
    if (failed) s.io.err(`covenant watch: ${escapeText(failed.message)}`);
  }
}

/** Routes and delivers what this evaluation recorded, as a run does; the number of messages sent. */
async function tellWatch(s: WatchScene, r: Awaited<ReturnType<typeof evaluateRecorded>>): Promise<number | undefined> {
  const { notifyAfterRun } = await import("../run-notify.js");
  const view = await notifyAfterRun({ config: s.notifyConfig, results: r.evaluation.results, finding: r.finding, facts: r.facts, store: s.store, send: true, now: () => Date.now() });
  return view?.deficiencies.reduce((n, d) => n + d.told.filter((t) => t.status === "sent").length, 0);
}

const CAUSES: Record<Exclude<Trigger, "event">, string> = {
  start: "start-up rescan",
  reload: "reloaded policy",
  schedule: "schedule",
  overflow: "inotify's event queue overflowed: every realtime promise again",
  rescan: "periodic rescan",
  "watch-limit": "the directories watched changed: every realtime promise again",
  approval: "an integrity approval from the hub was applied: the promise whole again",
};

function evaluationLine(run: number, why: Trigger, batch: Batch | undefined, results: PromiseResult[], told: number | undefined): string {
  const cause = why === "event" ? (batch ? `event on ${batch.paths.slice(0, 3).map(escapeText).join(", ")}${batch.paths.length > 3 ? ` and ${batch.paths.length - 3} more` : ""}${batch.firstAt ? `, ${Date.now() - batch.firstAt} ms after it` : ""}` : "event") : CAUSES[why];
  const bad = results.filter((r) => isDeficiency(r.outcome) || r.outcome === "repaired");
  const head = `watch run ${run} (${cause}): ${results.length} promise${results.length === 1 ? "" : "s"}, ${bad.length === 0 ? "all kept" : `${bad.length} not kept`}${told ? `, ${told} message${told === 1 ? "" : "s"} sent` : ""}`;
  const who = (f: FileFinding) => whoLines(f).map((l) => `      ${l}`);
  // what changed at each file since its approved state (finding-text.ts), kept promises' too, and who
  const changed = results.flatMap((r) => r.findings ?? []).slice(0, 10).flatMap((f) => [...(f.changes.length > 0 ? [`  changed  ${findingSummary(viewOfFinding(f))}`] : [`  at       ${escapeText(f.path)}`]), ...who(f)]);
  return [head, ...bad.slice(0, 20).map((r) => `  ${r.outcome.toUpperCase().padEnd(8)} ${escapeText(r.key)}: ${escapeText(r.reason)}`), ...changed].join("\n");
}
