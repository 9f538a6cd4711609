// Pushing to the fleet hub from the command line: `covenant push`, the push after each run, and
// the watcher's pushes (at most one every 30 s, beside its evaluations; the decisions they bring
// applied between two evaluations). Each reads the enrolment
// in the state directory; a host that is not enrolled pushes nothing. What the hub says is escaped
// here, where it is printed.
import { EnrolmentError, isEnrolled, noteRotatedKey, readEnrolment } from "../hub/client/enrolment.js";
import { pushToHub, type PushOptions, type PushOutcome } from "../hub/client/push.js";
import { applyDecisions, type DecisionsApplied } from "../hub/client/decisions.js";
import { applyIntegrityDecisions } from "./hub-integrity.js";
import { StateStore, StoreError } from "../store/store.js";
import { acquireRunLock, runWaiting } from "../store/run-lock.js";
import { HubTlsError } from "../hub/tls.js";
import { escapeText } from "./escape.js";
import { EXIT } from "./exit-codes.js";
import type { Io } from "./io.js";

/** How long the push after a run may take in all: a run from cron must end. */
export const RUN_PUSH_LIMIT_MS = 15_000;
/** The watcher pushes at most this often. */
export const WATCH_PUSH_EVERY_MS = 30_000;

/** A push that could not start: not enrolled, an enrolment or store that cannot be read, no signing key. */
export interface PushNotStarted {
  status: "not-started";
  why: string;
}

/** A push's outcome, with what became of the decisions its replies carried. */
export type PushDone = PushOutcome & { decided?: DecisionsApplied };

/**
 * The watcher's side of a push (commands/watch.ts): the decisions are applied between two of its
 * evaluations, never beside one, and a promise an integrity approval re-baselined is evaluated
 * again, whole.
 */
export interface WatcherTurn {
  /** runs `work` between two evaluations (the loop's exclusive section); why not, when it could not */
  between<T>(work: () => Promise<T>): Promise<{ done: T } | { not: string }>;
  /** these promises were re-baselined by integrity approvals */
  approved(keys: string[]): void;
}

/** How long the watcher's push waits for the evaluation under way before it applies the hub's decisions. */
export const WATCH_DECISIONS_WAIT_MS = 60_000;

/** Pushes from an open store; what stopped it before it began is said, not thrown. */
export async function pushFrom(store: StateStore, opts: PushOptions & { watcher?: WatcherTurn } = {}): Promise<PushDone | PushNotStarted> {
  try {
    const found = readEnrolment(store.dir);
    if (!found) return { status: "not-started", why: `this host is not enrolled with a hub (no hub.json in ${store.dir}): \`covenant enroll URL --token T --ca FILE\`` };
    const key = store.signingKey(false);
    if (!key) return { status: "not-started", why: "this host has no signing key: enroll again (`covenant enroll --again`), which makes it" };
    let outcome: PushDone = await pushToHub(store, found.enrolment, found.ca, key, opts);
    if (outcome.decisions?.length) {
      // decisions given on the hub: each checked against the hub's key and applied once, its record
      // sent at once (the hub learns it was applied; an unanswered one is carried again next time)
      const signed = outcome.decisions;
      const decided = await applyTaken(store, opts.watcher, async () => {
        const out = applyDecisions(store, found.enrolment, signed, opts.now);
        // an integrity approval re-observes its promise and records a run of it: under the lock,
        // and in the watcher between its own evaluations (the loop's exclusive section)
        const approved = await applyIntegrityDecisions(store, found.enrolment, signed, out, opts.now);
        if (approved.length > 0) opts.watcher?.approved(approved);
        return out;
      });
      if (decided.applied.length + decided.refused.length > 0 && outcome.status === "caught-up") {
        // the watcher's second push has time of its own: the wait for its evaluation was not the hub's
        const again = await pushToHub(store, found.enrolment, found.ca, key, opts.watcher && opts.deadline !== undefined ? { ...opts, deadline: Math.max(opts.deadline, Date.now() + RUN_PUSH_LIMIT_MS) } : opts);
        outcome = { ...again, pushed: outcome.pushed + again.pushed, sent: outcome.sent + again.sent, batches: outcome.batches + again.batches };
      }
      // the signed texts are the host's to check, not to print: what became of them is `decided`
      delete outcome.decisions;
      outcome.decided = decided;
    }
    // the hub took a push signed with a key rotated since enrolment (the push carried the rotation record): it knows that key now
    if (outcome.batches > 0 && key.fingerprint !== found.enrolment.fingerprint) noteRotatedKey(store.dir, found.enrolment, key.fingerprint);
    // a key rotated since enrolment (`covenant key rotate`) is not the one the hub checks signatures with
    if (outcome.status === "refused" && outcome.httpStatus === 401 && key.fingerprint !== found.enrolment.fingerprint) {
      outcome.message += ` (the signing key was rotated since enrolment: the hub knows ${found.enrolment.fingerprint}, the key in force is ${key.fingerprint})`;
    }
    return outcome;
  } catch (err) {
    if (err instanceof EnrolmentError || err instanceof StoreError || err instanceof HubTlsError) return { status: "not-started", why: err.message };
    throw err;
  }
}

/** Nothing applied this time: the decisions come again with the hub's next reply. */
const deferred = (why: string): DecisionsApplied => ({ applied: [], refused: [], already: [], rejected: [], deferred: why });

/**
 * Applies decisions under the run lock, as `covenant ack` and `covenant approve` write: `covenant
 * push` and the push after a run take it; the watcher takes it between two of its evaluations (as
 * a watcher's evaluation does, so a run waits for it as for one). When a run holds it, or waits
 * for it, or the watcher cannot give them a turn, the decisions wait (the hub carries them again
 * with the next reply).
 */
async function applyTaken(store: StateStore, watcher: WatcherTurn | undefined, apply: () => Promise<DecisionsApplied>): Promise<DecisionsApplied> {
  const locked = async (): Promise<DecisionsApplied> => {
    if (watcher && runWaiting(store.dir)) return deferred("a run waits for the lock: the hub's decisions are applied after a later push");
    const lock = acquireRunLock(store.dir, "/proc", watcher ? "watch" : "run");
    if (!lock.ok) return deferred(`a ${lock.holder.kind === "watch" ? "watcher" : "run"} (pid ${lock.holder.pid}) holds the lock: the hub's decisions are applied after a later push`);
    try {
      return await apply();
    } finally {
      lock.release();
    }
  };
  if (!watcher) return locked();
  const turn = await watcher.between(locked);
  return "done" in turn ? turn.done : deferred(`${turn.not}: the hub's decisions are applied after a later push`);
}

/** The exit code of `covenant push` for an outcome. */
export function pushExit(o: PushOutcome | PushNotStarted): number {
  switch (o.status) {
    case "caught-up":
      return EXIT.ok;
    case "unreachable":
      return EXIT.hubUnreachable;
    case "refused":
      return EXIT.hubRefused;
    default:
      return EXIT.policyError;
  }
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function skew(ms: number | undefined): string {
  if (ms === undefined) return "";
  // rounded first: -0.04 s is "+0.0 s", not "-0.0 s"
  const digits = Math.abs(ms) < 9_950 ? 1 : 0;
  const s = Number((ms / 1000).toFixed(digits)) + 0;
  return `; clock skew ${s >= 0 ? "+" : ""}${s.toFixed(digits)} s (this host's clock minus the hub's)`;
}

function holdsText(o: PushOutcome): string {
  return o.holds ? `the hub holds records up to ${o.holds.seq} (chain ${o.holds.chain.slice(0, 12)}…)` : "the hub holds none of this host's records";
}

/** What became of the hub's decisions, as a clause of the push's line; empty when there were none. */
function decidedText(d: DecisionsApplied | undefined): string {
  if (!d) return "";
  const parts = [
    ...d.applied.map((a) => `decision ${a.id} (${a.kind}) applied: record ${a.record}`),
    ...d.refused.map((r) => `decision ${r.id} (${escapeText(r.kind)}) refused, record ${r.record}: ${escapeText(r.why)}`),
    ...(d.already.length ? [`${plural(d.already.length, "decision")} applied before`] : []),
    ...d.rejected.map((why) => `a decision not taken: ${escapeText(why)}`),
    ...(d.deferred !== undefined ? [escapeText(d.deferred)] : []),
  ];
  return parts.length ? `; ${parts.join("; ")}` : "";
}

/** What happened, in one line (the last part of `covenant push`'s output, and the run's line); everything from the hub escaped. */
export function pushLine(o: PushDone | PushNotStarted): string {
  if (o.status === "not-started") return `not pushed: ${escapeText(o.why)}`;
  return pushStatusLine(o) + decidedText(o.decided);
}

function pushStatusLine(o: PushOutcome): string {
  const resent = o.resent ? `; the hub held only records up to ${o.resent.from} (the host believed ${o.resent.was}), so they were sent again from there` : "";
  const sent = o.pushed === 0 ? "nothing new to send" : `sent ${plural(o.pushed, "record")} in ${plural(o.batches, "push", "pushes")}${o.sent !== o.pushed ? ` (${o.sent} new to the hub)` : ""}`;
  const waiting = "waiting" in o ? plural(o.waiting, "record") : "";
  switch (o.status) {
    case "caught-up":
      return `${sent}: ${holdsText(o)}, this host's last record is ${o.head}${skew(o.clockSkewMs)}${resent}`;
    case "unreachable":
      return `the hub is ${o.untrusted ? "not to be trusted" : "unreachable"} (${escapeText(o.why)}): ${waiting} wait; they will be sent later${o.pushed > 0 ? ` (${sent} first; ${holdsText(o)})` : ""}`;
    case "refused":
      return `the hub refused the push (${o.httpStatus !== undefined ? `HTTP ${o.httpStatus}, ` : ""}${escapeText(o.reason)}): ${escapeText(o.message)}; ${waiting} wait, and will not be sent until this is resolved${o.pushed > 0 ? ` (${sent} first)` : ""}`;
    case "blocked":
      return `push stopped: ${escapeText(o.why)}; ${waiting} wait${o.pushed > 0 ? ` (${sent} first; ${holdsText(o)})` : ""}`;
  }
}

/** The push after a run: bounded, never changing the run's exit code, one line (on stderr when it went wrong, or beside a JSON report). */
export async function pushAfterRun(stateDir: string, io: Io, how: { json: boolean; quiet: boolean }): Promise<void> {
  if (!isEnrolled(stateDir)) return;
  const deadline = Date.now() + RUN_PUSH_LIMIT_MS;
  let outcome: PushOutcome | PushNotStarted;
  let store: StateStore | undefined;
  try {
    store = StateStore.open(stateDir);
    outcome = await pushFrom(store, { deadline });
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    outcome = { status: "not-started", why: err.message };
  } finally {
    store?.close();
  }
  const line = `covenant run: push: ${pushLine(outcome)}`;
  if (outcome.status !== "caught-up") io.err(line);
  else if (how.json) io.err(line);
  else if (!how.quiet) io.out(line);
}

/**
 * The watcher's pushes: `poke` after each evaluation; a push starts at once when none ran in the
 * last 30 s, else when the 30 s are up; never two at a time, never awaited by the evaluation; one
 * waiting when the watcher stops goes then. It says a push that sent records or brought decisions,
 * and a change between reaching the hub and not. The decisions are applied in `watcher`'s turn.
 */
export function watchPusher(store: StateStore, io: Io, watcher: WatcherTurn, everyMs = WATCH_PUSH_EVERY_MS): { poke(): void; stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastStart = 0;
  let stopped = false;
  let lastStatus: string | undefined;
  const pushNow = (last = false) => {
    timer = undefined;
    if (stopped && !last) return;
    if (running) {
      // the push under way may have read before this evaluation's records: another once it ends
      timer = setTimeout(() => pushNow(), 1000);
      timer.unref();
      return;
    }
    lastStart = Date.now();
    // the decisions are applied between two of the watcher's evaluations, under the run lock
    running = pushFrom(store, { deadline: lastStart + RUN_PUSH_LIMIT_MS, watcher })
      .then((o) => {
        const changed = o.status !== lastStatus;
        lastStatus = o.status;
        // what became of the hub's decisions is said too (one put off tells why, until it is applied)
        const decided = o.status !== "not-started" && o.decided !== undefined;
        if (o.status === "caught-up" ? o.pushed > 0 || changed || decided : changed) (o.status === "caught-up" ? io.out : io.err)(`covenant watch: push: ${pushLine(o)}`);
      })
      .catch((err: unknown) => io.err(`covenant watch: push: ${escapeText(err instanceof Error ? err.message : String(err))}`))
      .finally(() => (running = undefined));
  };
  return {
    poke() {
      if (stopped || timer || !isEnrolled(store.dir)) return;
      const wait = Math.max(0, lastStart + everyMs - Date.now());
      // a push under way: the next one when the interval is up, so the records of this evaluation go too
      timer = setTimeout(() => pushNow(), wait);
      timer.unref();
    },
    async stop() {
      // a push that was waiting for its interval goes now (bounded as ever): the records of the last evaluations with it
      stopped = true;
      const waiting = timer !== undefined;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
      if (waiting) {
        pushNow(true);
        await running;
      }
    },
  };
}
