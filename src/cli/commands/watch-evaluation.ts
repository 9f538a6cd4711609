// One evaluation of `covenant watch` (watch.ts): the promises an event touched (or all, on a
// schedule or a rescan) evaluated under the run lock, recorded as a run of kind `watch` with who
// was at the changed files, its deficiencies told as a run's are, and one line said of it.

import { join } from "node:path";
import { findingSummary, viewOfFinding } from "../../text/finding-text.js";
import { whoLines } from "../../text/finding-who-text.js";
import type { PromiseResult } from "../../evaluator/engine.js";
import type { EvaluationMemory } from "../../evaluator/evaluation-memory.js";
import type { FileFinding } from "../../evaluator/file-finding.js";
import { isDeficiency } from "../../evaluator/outcomes.js";
import type { Policy } from "../../checker/policy.js";
import { acquireRunLock, runWaiting } from "../../store/run-lock.js";
import type { StateStore } from "../../store/store.js";
import type { Batch, Blindness } from "../../watch/events.js";
import type { Trigger } from "../../watch/loop.js";
import type { WatchSet } from "../../watch/watch-set.js";
import type { BatchWho } from "../../watch/who.js";
import { escapeText } from "../escape.js";
import type { Io } from "../io.js";
import type { ConfigOutcome } from "../notify-config.js";
import { evaluatedKeys, evaluateRecorded, runSummary } from "../../run/record.js";
import { recordBlindness } from "../watcher-health.js";
import type { WatchOptions } from "./watch.js";

/** The policy an evaluation runs, and where it records and tells. */
export interface WatchScene {
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

/** One evaluation of `keys` as a run of kind `watch`, under the run lock; "busy" when a run holds it. */
interface EvaluationAids {
  who: BatchWho;
  set: WatchSet;
  auditNotes: string[];
  memory: EvaluationMemory;
  focus: ReadonlyMap<string, readonly string[]>;
}

export async function evaluateOnce(s: WatchScene, keys: string[], why: Trigger, batch: Batch | undefined, w: EvaluationAids): Promise<"done" | "busy"> {
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
