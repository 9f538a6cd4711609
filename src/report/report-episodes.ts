// Deficiencies' lives rebuilt from the history, as src/store/deficiencies.ts `apply` moved them
// when the change records were written: one opens on a deficient outcome when none is open, is
// updated while the promise stays deficient, and is resolved by kept, skipped, waived or repaired;
// `repaired` with none open is a notice (found and repaired at once). The ids are the host's own
// (keyed with the host key, which the store computes and never gives out).
import { isDeficiency, worst, type Outcome } from "../evaluator/outcomes.js";
import type { Episode } from "./report-model.js";

export interface ChangeSeen {
  seq: number;
  run: number;
  time: string;
  ms: number;
  key: string;
  type: string;
  promiser: string;
  to: Outcome;
  reason: string;
}

/** Where a finished (or still open) episode that touches the period goes: its control's list. */
export type EpisodeSink = (key: string, e: Episode) => void;

export class EpisodeTracker {
  private readonly open = new Map<string, Episode>();
  /** episodes that touch the period, by id: deliveries and acknowledgements name them so */
  private readonly byId = new Map<string, Episode>();

  constructor(
    private readonly period: { startMs: number; endMs: number },
    private readonly idOf: (key: string, run: number, record: number) => string,
    private readonly sink: EpisodeSink,
  ) {}

  /** A change record, in seq order; records at or past the period's end leave what is open as open at the end. */
  change(c: ChangeSeen): void {
    if (c.ms >= this.period.endMs) return;
    const open = this.open.get(c.key);
    if (isDeficiency(c.to)) {
      if (!open) this.opened(c, false);
      else open.outcome = worst([open.outcome, c.to]);
      return;
    }
    if (open) {
      this.open.delete(c.key);
      open.resolved = c.time;
      open.resolvedRecord = c.seq;
      open.resolvedBy = c.to;
      open.durationMs = Math.max(0, c.ms - Date.parse(open.opened));
      if (c.to === "repaired") open.repaired = true;
      if (c.ms >= this.period.startMs) this.sink(c.key, open);
      else this.byId.delete(open.id);
      return;
    }
    if (c.to === "repaired") this.opened(c, true);
  }

  private opened(c: ChangeSeen, notice: boolean): void {
    const e: Episode = { id: this.idOf(c.key, c.run, c.seq), promise: c.key, type: c.type, promiser: c.promiser, outcome: c.to, notice, opened: c.time, openedRecord: c.seq, repaired: c.to === "repaired", reason: c.reason, told: [] };
    if (notice) {
      Object.assign(e, { resolved: c.time, resolvedRecord: c.seq, resolvedBy: "repaired" as Outcome, durationMs: 0 });
      if (c.ms >= this.period.startMs) {
        this.byId.set(e.id, e);
        this.sink(c.key, e);
      }
      return;
    }
    this.open.set(c.key, e);
    this.byId.set(e.id, e);
  }

  told(ids: readonly string[], t: Episode["told"][number]): void {
    for (const id of ids) this.byId.get(id)?.told.push(t);
  }

  /** An episode that will not be listed: deliveries and acknowledgements naming it are passed over. */
  forget(e: Episode): void {
    if (e.resolved !== undefined) this.byId.delete(e.id);
  }

  acknowledged(id: string, ack: NonNullable<Episode["ack"]>): void {
    const e = this.byId.get(id);
    if (e && !e.ack) e.ack = ack;
  }

  /** The episodes still open at the period's end (opened before it), given to the sink. */
  finish(): number {
    let n = 0;
    for (const [key, e] of this.open) {
      this.sink(key, e);
      n++;
    }
    this.open.clear();
    return n;
  }
}
