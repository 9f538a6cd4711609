import * as fileNr from "../../probes/file-nr.js";
import { anomalyDifference, learnAndRead, type BandReading } from "../anomaly.js";
import { attr, type Difference, type PromiseBehaviour } from "../contract.js";
import { formatNumber, skipNotes } from "../observation-notes.js";

interface FileHandleUse {
  used: number;
  max: number;
  usedPct: number;
  /** present when the promise has `anomaly` */
  band?: BandReading;
}

/** Behaviour: reported only; file handles are the kernel's to hand out. */
export const filehandlesBehaviour: PromiseBehaviour<FileHandleUse> = {
  observe(p, ctx) {
    const r = fileNr.read(ctx.roots);
    if (!r.ok) return { ok: false, error: `cannot read the file handle counts: ${r.error.message}` };
    // handles in use: allocated minus free (free is always 0 since Linux 2.6, but not before)
    const used = r.value.allocated - r.value.free;
    const value: FileHandleUse = { used, max: r.value.max, usedPct: r.value.usedPct };
    const notes = skipNotes(r.skipped);
    if (attr<number>(p, "anomaly") !== undefined) {
      const learnt = learnAndRead(ctx.samples, "filehandles.used", ctx.now, used);
      value.band = learnt.reading;
      notes.push(...learnt.notes);
    }
    return notes.length > 0 ? { ok: true, value, notes } : { ok: true, value };
  },

  judge(p, observed) {
    const out: Difference[] = [];
    const maxUsedPct = attr<number>(p, "max_used_pct");
    if (maxUsedPct !== undefined && observed.usedPct > maxUsedPct) {
      out.push({
        attribute: "max_used_pct",
        expected: `at most ${maxUsedPct}%`,
        observed: `${formatNumber(observed.usedPct)}%`,
        reason: `${formatNumber(observed.usedPct)}% of the kernel's file handles are in use (${observed.used} of ${observed.max}), at most ${maxUsedPct}% promised`,
      });
    }
    const maxUsed = attr<number>(p, "max_used");
    if (maxUsed !== undefined && observed.used > maxUsed) {
      out.push({ attribute: "max_used", expected: `at most ${maxUsed}`, observed: String(observed.used), reason: `${observed.used} file handles are in use, at most ${maxUsed} promised` });
    }
    const sigma = attr<number>(p, "anomaly");
    if (sigma !== undefined && observed.band) {
      const d = anomalyDifference(observed.band, sigma, "the number of file handles in use");
      if (d) out.push(d);
    }
    return out;
  },
};
