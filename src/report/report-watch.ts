// What the report's pass watches besides the controls: the host's clock (steps back, large jumps
// between consecutive records), the chain's MACs over the period's records, and which policy
// version was in force when (a stretch per change of the hash operational runs name).
import type { ScannedRecord } from "../store/store.js";
import type { ClockAnomaly } from "./report-model.js";

/** Anomalies listed at most this many of each kind; the count says how many there were. */
export const MAX_ANOMALIES = 500;
const HOUR = 3_600_000;

export class ClockWatch {
  readonly backward: ClockAnomaly[] = [];
  backwardCount = 0;
  /** gaps between consecutive records longer than an hour: the threshold is known only at the end */
  private readonly long: ClockAnomaly[] = [];
  /** the record before (its fields, not an object: this sees every record of the period) */
  private hasPrev = false;
  private prevSeq = 0;
  private prevTime = "";
  private prevMs = 0;

  record(seq: number, time: string, ms: number): void {
    const had = this.hasPrev;
    const prevSeq = this.prevSeq;
    const prevTime = this.prevTime;
    const prevMs = this.prevMs;
    this.hasPrev = true;
    this.prevSeq = seq;
    this.prevTime = time;
    this.prevMs = ms;
    if (!had || Number.isNaN(ms) || Number.isNaN(prevMs)) return;
    const delta = ms - prevMs;
    if (delta >= 0 && delta <= HOUR) return;
    const a: ClockAnomaly = { record: seq, previousRecord: prevSeq, at: time, previousAt: prevTime, deltaMs: delta };
    if (delta < 0) {
      this.backwardCount++;
      if (this.backward.length < MAX_ANOMALIES) this.backward.push(a);
    } else {
      this.long.push(a);
      if (this.long.length >= 4 * MAX_ANOMALIES) this.keepLongest();
    }
  }

  private keepLongest(): void {
    this.long.sort((a, b) => b.deltaMs - a.deltaMs);
    this.long.length = MAX_ANOMALIES;
  }

  /** A record outside the period and not next to it: the next one is not compared with the last seen. */
  forget(): void {
    this.hasPrev = false;
  }

  /** The jumps longer than the threshold (at least an hour), in record order. */
  jumps(thresholdMs: number): { list: ClockAnomaly[]; count: number } {
    const over = this.long.filter((a) => a.deltaMs > Math.max(HOUR, thresholdMs));
    const list = over.sort((a, b) => b.deltaMs - a.deltaMs).slice(0, MAX_ANOMALIES).sort((a, b) => a.record - b.record);
    return { list, count: over.length };
  }
}

/**
 * The chain over the period: its first and last records, and the first record from the one before
 * its first through the one after its last whose MAC does not chain. The record after the period
 * is judged too: records deleted at the period's end (or the whole period) leave a gap that only
 * it shows.
 */
export class IntegrityWatch {
  first: number | undefined;
  /** the period's last record (its MAC kept as read, in hex only when asked: this sees every record of the period) */
  private lastRecord: { seq: number; mac: Buffer | undefined } | undefined;
  /** the first record read after the period's last (or, with none in it, the first after it) */
  next: number | undefined;
  records = 0;
  /** records with a time outside the period among its records (a clock step back or forward) */
  outsideBetween = 0;
  unassignedApprovals = 0;
  /** the record just before the period's first: the first is chained to its MAC */
  private previous: ScannedRecord | undefined;
  private firstBad: { seq: number; problem: string } | undefined;
  private pendingOutside = 0;

  record(r: ScannedRecord, inPeriod: boolean, afterPeriod = false): void {
    if (this.first === undefined && !inPeriod) {
      if (!afterPeriod) this.previous = r;
      else this.noteNext(r);
      return;
    }
    if (this.first === undefined) {
      this.first = r.seq;
      if (this.previous && !this.previous.verified) this.bad(this.previous);
    }
    if (!r.verified) this.bad(r);
    if (!inPeriod) {
      this.noteNext(r);
      this.pendingOutside++;
      return;
    }
    this.next = undefined;
    this.outsideBetween += this.pendingOutside;
    this.pendingOutside = 0;
    this.records++;
    this.lastRecord = r;
  }

  /** The period's last record, and its MAC in hex. */
  get last(): { seq: number; mac: string } | undefined {
    const r = this.lastRecord;
    return r && { seq: r.seq, mac: r.mac ? r.mac.toString("hex") : "" };
  }

  private noteNext(r: ScannedRecord): void {
    if (this.next !== undefined) return;
    this.next = r.seq;
    if (!r.verified) this.bad(r);
  }

  private bad(r: ScannedRecord): void {
    this.firstBad ??= { seq: r.seq, problem: r.problem ?? "it fails its check" };
  }

  /** The first record in the range the report vouches for (the one before the period's first through the one after its last) that fails its check. */
  problem(): { kind: string; seq: number; message: string } | undefined {
    const b = this.firstBad;
    const end = Math.max(this.last?.seq ?? 0, this.next ?? 0);
    if (!b || b.seq > end) return undefined;
    const where = this.last === undefined || b.seq > this.last.seq ? " (the first record after the period: records of the period may have been deleted)" : "";
    return { kind: b.problem.startsWith("records before it are missing") ? "deleted" : "altered", seq: b.seq, message: `record ${b.seq}: ${b.problem}${where}` };
  }
}

/** Which policy version operational runs used, as stretches: a new one each time the hash changes. */
export class PolicyStretches {
  readonly stretches: { hash: string; record?: number; firstRun: number; from: string; until?: string }[] = [];

  run(b: Record<string, unknown>, run: number, started: string): void {
    const hash = typeof b["policy"] === "string" ? b["policy"] : undefined;
    if (hash === undefined) return;
    const last = this.stretches[this.stretches.length - 1];
    if (last?.hash === hash) return;
    if (last) last.until = started;
    this.stretches.push({ hash, firstRun: run, from: started, ...(typeof b["policyRecord"] === "number" ? { record: b["policyRecord"] } : {}) });
  }

  /** The stretches that touch [startMs, endMs): the one in force when it began, and every later one. */
  inForce(startMs: number): PolicyStretches["stretches"] {
    const first = this.stretches.findIndex((s) => s.until === undefined || Date.parse(s.until) > startMs);
    return first === -1 ? [] : this.stretches.slice(first);
  }
}
