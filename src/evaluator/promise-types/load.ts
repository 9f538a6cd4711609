import { availableParallelism } from "node:os";
import { join } from "node:path";
import * as loadavg from "../../probes/loadavg.js";
import * as meminfo from "../../probes/meminfo.js";
import { readText, type ProbeRoots } from "../../probes/result.js";
import { anomalyDifference, learnAndRead, type BandReading } from "../anomaly.js";
import { attr, unionAttr, type Difference, type PromiseBehaviour } from "../contract.js";
import { formatBytes, formatNumber, skipNotes } from "../observation-notes.js";

interface LoadObservation {
  /** absent when the promise names no load limit and no anomaly */
  load?: { load1: number; load5: number; load15: number };
  /** the CPUs the load is divided by (`per_cpu = true`) */
  cpus?: number;
  /** absent when the promise names no memory floor */
  memory?: { availableBytes: number; totalBytes: number };
  band?: BandReading;
}

/**
 * CPUs counted from <proc>/cpuinfo, so that a fixture or container proc root speaks for its
 * own host; the running host's count only when that root has no cpuinfo.
 */
function cpuCount(roots: ProbeRoots): { cpus: number; note?: string } {
  const path = join(roots.proc, "cpuinfo");
  const read = readText(path);
  const processors = read.ok ? read.text.split("\n").filter((line) => /^processor\s*:/.test(line)).length : 0;
  if (processors > 0) return { cpus: processors };
  let why = `${path} lists no processor`;
  if (!read.ok && !read.result.ok) why = read.result.error.message;
  return { cpus: availableParallelism(), note: `CPU count taken from the running host (${availableParallelism()}): ${why}` };
}

const loadLimits = [
  { attribute: "max_1m", key: "load1", label: "1-minute" },
  { attribute: "max_5m", key: "load5", label: "5-minute" },
  { attribute: "max_15m", key: "load15", label: "15-minute" },
] as const;

/** Behaviour: reported only; load and memory pressure are for the operators to relieve. */
export const loadBehaviour: PromiseBehaviour<LoadObservation> = {
  observe(p, ctx) {
    const value: LoadObservation = {};
    const notes: string[] = [];
    const sigma = attr<number>(p, "anomaly");
    // read only what the promise names: a load limit must not fail on an unreadable meminfo
    if (sigma !== undefined || loadLimits.some((l) => attr<number>(p, l.attribute) !== undefined)) {
      const r = loadavg.read(ctx.roots);
      if (!r.ok) return { ok: false, error: `cannot read the load averages: ${r.error.message}` };
      notes.push(...skipNotes(r.skipped));
      value.load = { load1: r.value.load1, load5: r.value.load5, load15: r.value.load15 };
      if (attr<boolean>(p, "per_cpu") === true) {
        const { cpus, note } = cpuCount(ctx.roots);
        value.cpus = cpus;
        if (note) notes.push(note);
      }
      if (sigma !== undefined) {
        const learnt = learnAndRead(ctx.samples, "load.5m", ctx.now, r.value.load5);
        value.band = learnt.reading;
        notes.push(...learnt.notes);
      }
    }
    if (unionAttr(p, "min_available_memory") !== undefined) {
      const m = meminfo.read(ctx.roots);
      if (!m.ok) return { ok: false, error: `cannot read the available memory: ${m.error.message}` };
      if (m.value.totalBytes === 0) return { ok: false, error: `cannot judge the available memory: ${join(ctx.roots.proc, "meminfo")} gives a MemTotal of 0` };
      notes.push(...skipNotes(m.skipped));
      value.memory = { availableBytes: m.value.availableBytes, totalBytes: m.value.totalBytes };
    }
    return notes.length > 0 ? { ok: true, value, notes } : { ok: true, value };
  },

  judge(p, observed) {
    const out: Difference[] = [];
    const { load, cpus, memory } = observed;
    if (load) {
      for (const { attribute, key, label } of loadLimits) {
        const max = attr<number>(p, attribute);
        if (max === undefined) continue;
        const raw = load[key];
        const compared = cpus === undefined ? raw : raw / cpus;
        if (compared <= max) continue;
        const what = cpus === undefined ? `the ${label} load average is ${formatNumber(raw)}` : `the ${label} load average per CPU is ${formatNumber(compared)} (${formatNumber(raw)} over ${cpus} CPUs)`;
        out.push({ attribute, expected: `at most ${max}${cpus === undefined ? "" : " per CPU"}`, observed: formatNumber(compared), reason: `${what}, at most ${max} promised` });
      }
    }
    const floor = unionAttr(p, "min_available_memory") as { kind: "size" | "percent"; value: number } | undefined;
    if (floor && memory) {
      const { availableBytes, totalBytes } = memory;
      if (floor.kind === "size" && availableBytes < floor.value) {
        out.push({
          attribute: "min_available_memory",
          expected: `at least ${formatBytes(floor.value)}`,
          observed: formatBytes(availableBytes),
          reason: `available memory is ${formatBytes(availableBytes)}, at least ${formatBytes(floor.value)} promised`,
        });
      }
      const pct = (availableBytes / totalBytes) * 100;
      if (floor.kind === "percent" && pct < floor.value) {
        out.push({
          attribute: "min_available_memory",
          expected: `at least ${floor.value}%`,
          observed: `${formatNumber(pct)}%`,
          reason: `available memory is ${formatNumber(pct)}% of ${formatBytes(totalBytes)} (${formatBytes(availableBytes)}), at least ${floor.value}% promised`,
        });
      }
    }
    const sigma = attr<number>(p, "anomaly");
    if (sigma !== undefined && observed.band) {
      const d = anomalyDifference(observed.band, sigma, "the 5-minute load average");
      if (d) out.push(d);
    }
    return out;
  },
};
