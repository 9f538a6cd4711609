// The watcher's heartbeat (schema 6): one row that `covenant watch` rewrites every interval,
// saying which process it is, since when it watches, which policy, and how often it beats. A
// `covenant run` (and `covenant watch --status`) judges from it whether the watcher is alive: a
// watcher killed, hung or stopped by the OOM killer stops beating, and realtime watching has
// silently ended; that is a deficiency of Covenant's own (src/cli/watcher-health.ts).
//
// The row is sealed with the host key like every row that decides what a report says (seals.ts):
// one changed outside Covenant is passed over (said, as if there were none) and `verify` reports
// it. It is not a record of the chain: a beat every few seconds would swamp the history, and a
// beat only says the watcher was alive, which the next beat supersedes.
//
// A beat does not take the run lock, and need not: it writes this one row, in a transaction of
// its own, and nothing a run or `verify` reads from the chain, the anchors or the other tables;
// SQLite serialises it with a run's transactions (each waits for the other up to the busy
// timeout, database.ts), so a beat waits at most for one record of a run, never for the run.
import type Database from "better-sqlite3";
import { readStat } from "../probes/processes.js";
import type { Tampering } from "./ledger.js";
import type { RecordView, RowCheck } from "./row-check.js";
import { runKindOf } from "./records.js";
import { sealMatches, sealWatcher, type WatcherRow } from "./seals.js";

export interface Heartbeat {
  pid: number;
  /** the process's start time in clock ticks after boot (/proc/PID/stat): a reused pid is another process */
  startTicks: number;
  /** when the watcher started (ISO 8601) */
  started: string;
  /** when it last beat (ISO 8601), or stopped */
  lastBeat: string;
  /** sha256 of the policy it watches, as a run's summary gives it */
  policy: string;
  /** how often it beats, in ms */
  intervalMs: number;
  /** "stopped": it ended cleanly (a signal, `systemctl stop`), and said so */
  state: "running" | "stopped";
}

/** What a beat says; the store adds the state. */
export type Beat = Omit<Heartbeat, "state">;

/**
 * The watcher as the store knows it at `now`. `none`: no watcher ever beat here (or its row
 * cannot be trusted: `untrusted` says why, and the row is passed over). `stale`: it says it is
 * running, but its last beat is too old or its process is gone (`reason` says which).
 */
export type WatcherStatus =
  | { state: "none"; untrusted?: string }
  | { state: "running" | "stopped" | "stale"; heartbeat: Heartbeat; ageMs: number; staleAfterMs: number; reason?: string };

/** 30 s: the slack a short interval gets, for a watcher busy evaluating or a host under load. */
const SLACK_MS = 30_000;

/**
 * How old a running watcher's last beat may be before it is stale: three intervals (two beats
 * missed), and never less than an interval and 30 s, so that a watcher beating every second is
 * not called dead for a pause of a few seconds (a long evaluation, swapping, a VM migrated).
 */
export function staleAfterMs(intervalMs: number): number {
  return Math.max(3 * intervalMs, intervalMs + SLACK_MS);
}

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

/**
 * Judges a heartbeat at `now` (ms since the epoch). The process is looked up in `procRoot`
 * (this process's own /proc, as the run lock's holder is): the same pid with another start time
 * is another process, and the watcher is gone.
 */
export function judgeHeartbeat(h: Heartbeat, now: number, procRoot: string): WatcherStatus {
  const beat = Date.parse(h.lastBeat);
  // a beat "in the future" (the clock stepped back since) is as fresh as one just written
  const ageMs = Number.isNaN(beat) ? Number.POSITIVE_INFINITY : Math.max(0, now - beat);
  const staleAfter = staleAfterMs(h.intervalMs);
  const base = { heartbeat: h, ageMs, staleAfterMs: staleAfter };
  if (h.state === "stopped") return { state: "stopped", ...base };
  if (readStat({ proc: procRoot }, h.pid)?.startTicks !== h.startTicks) {
    return { state: "stale", ...base, reason: `its process (pid ${h.pid}) is gone; its last beat was at ${h.lastBeat}` };
  }
  if (ageMs > staleAfter) {
    return { state: "stale", ...base, reason: `its last beat was at ${h.lastBeat}, ${seconds(ageMs)} ago (it beats every ${seconds(h.intervalMs)}; stale after ${seconds(staleAfter)}); its process (pid ${h.pid}) is still there, hung or stopped` };
  }
  return { state: "running", ...base };
}

const UNTRUSTED = "the watcher's heartbeat was changed outside Covenant (its seal does not match): it is passed over; `covenant verify` reports it";

function checkBeat(b: Beat): void {
  const whole = (n: number) => Number.isSafeInteger(n) && n > 0;
  // a bug of the caller, never the host's doing
  if (!whole(b.pid) || !Number.isSafeInteger(b.startTicks) || b.startTicks < 0 || !whole(b.intervalMs) || Number.isNaN(Date.parse(b.lastBeat)) || Number.isNaN(Date.parse(b.started))) {
    throw new Error(`not a heartbeat: ${JSON.stringify(b)}`);
  }
}

export class Watcher {
  private readonly get: Database.Statement;
  private put?: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly key: Buffer,
    /** where a row changed outside Covenant is said */
    private readonly untrusted: (why: string) => void,
  ) {
    this.get = db.prepare("SELECT * FROM watcher WHERE id = 1");
  }

  /** Whether the store has schema 6's table (a store opened read-only may be older). */
  static present(db: Database.Database): boolean {
    return db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'watcher'").pluck().get() === 1;
  }

  /** The heartbeat as the watcher last wrote it; a row without its seal is said and passed over. One indexed read. */
  read(): { heartbeat?: Heartbeat; untrusted?: string } {
    const row = this.get.get() as WatcherRow | undefined;
    if (!row) return {};
    if (!sealMatches(row.seal, sealWatcher(this.key, row)) || (row.state !== "running" && row.state !== "stopped")) {
      this.untrusted(UNTRUSTED);
      return { untrusted: UNTRUSTED };
    }
    return { heartbeat: { pid: row.pid, startTicks: row.start_ticks, started: row.started, lastBeat: row.beat, policy: row.policy, intervalMs: row.interval_ms, state: row.state } };
  }

  private write(h: Heartbeat): void {
    this.put ??= this.db.prepare("INSERT OR REPLACE INTO watcher VALUES (@id, @pid, @start_ticks, @started, @beat, @policy, @interval_ms, @state, @seal)");
    const row = { id: 1, pid: h.pid, start_ticks: h.startTicks, started: h.started, beat: h.lastBeat, policy: h.policy, interval_ms: h.intervalMs, state: h.state };
    this.put.run({ ...row, seal: sealWatcher(this.key, row) });
  }

  /** One statement, its own transaction: the row says this watcher is running, as of `b.lastBeat`. */
  beat(b: Beat): void {
    checkBeat(b);
    this.write({ ...b, state: "running" });
  }

  /**
   * Says that the watcher `who` stopped cleanly at `at`; a row of another watcher (one started
   * since) is left alone. Returns whether the row was this watcher's.
   */
  stop(who: { pid: number; startTicks: number }, at: string): boolean {
    return this.db
      .transaction(() => {
        const { heartbeat } = this.read();
        if (!heartbeat || heartbeat.pid !== who.pid || heartbeat.startTicks !== who.startTicks) return false;
        this.write({ ...heartbeat, lastBeat: at, state: "stopped" });
        return true;
      })
      .immediate();
  }
}

/**
 * `verify`: the heartbeat carries its seal, and a store whose history holds a run of the watcher
 * has a heartbeat (a watcher beats before its first run, which beginRun holds it to): one deleted
 * would make a dead watcher look as if none had ever watched.
 */
export class WatcherCheck implements RowCheck {
  /** the first summary of a watch run */
  private watchRun: { seq: number; run: number } | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly key: Buffer,
  ) {}

  visit(v: RecordView): void {
    const r = v.row;
    if (this.watchRun || r.kind !== "run" || !String(r.body).includes('"watch"')) return;
    const body = v.object(); // not JSON: the chain walk has already judged this record
    if (body && runKindOf(body) === "watch") this.watchRun = { seq: r.seq, run: r.run };
  }

  result(): Tampering | undefined {
    const stored = this.db.prepare("SELECT * FROM watcher").all() as WatcherRow[];
    for (const row of stored) {
      if (!sealMatches(row.seal, sealWatcher(this.key, row))) return { kind: "altered", seq: 0, message: "the watcher's heartbeat was changed outside Covenant: its seal does not match" };
    }
    if (stored.length > 0 || !this.watchRun) return undefined;
    const w = this.watchRun;
    return { kind: "deleted", seq: w.seq, message: `the history holds a run of the watcher (run ${w.run}, record ${w.seq}), but the store holds no heartbeat of it: it was deleted` };
  }
}
