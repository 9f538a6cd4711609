// The cadence a host is held to: hub.yaml's for its group, else hub.yaml's default, else learned
// from its own runs (the median interval between its latest run summaries' finish times), else,
// for a host with too few runs to learn from, an hour. Pure: the monitor passes what it read.
import type { MonitorSettings } from "./settings.js";

export interface Cadence {
  ms: number;
  /** where it came from, said in the deficiency */
  source: "group" | "default" | "learned" | "fallback";
}

/** Fewer intervals than this teach nothing: a host's first runs are often made by hand. */
export const MIN_INTERVALS = 3;
/** A learned cadence below this is taken as this: the monitor judges once a minute by default. */
export const MIN_LEARNED_MS = 60_000;
/** The cadence of a host the hub knows nothing about yet. */
export const FALLBACK_MS = 3_600_000;

/** The median of the positive intervals between successive times (ISO text; unreadable ones left out), or undefined. */
export function learnedInterval(finishes: readonly string[]): number | undefined {
  const times = finishes.map((t) => Date.parse(t)).filter((t) => Number.isFinite(t));
  const gaps: number[] = [];
  for (let i = 1; i < times.length; i++) {
    const gap = times[i]! - times[i - 1]!;
    if (gap > 0) gaps.push(gap);
  }
  if (gaps.length < MIN_INTERVALS) return undefined;
  gaps.sort((a, b) => a - b);
  const mid = gaps.length >> 1;
  return gaps.length % 2 ? gaps[mid]! : Math.round((gaps[mid - 1]! + gaps[mid]!) / 2);
}

/** The cadence of a host of `group` whose runs taught `learned` (learnedInterval: hub_hosts.learned_every_ms, kept as runs arrive). */
export function cadenceOf(group: string | null, learned: number | null | undefined, settings: Pick<MonitorSettings, "cadence">): Cadence {
  const configured = group !== null && Object.hasOwn(settings.cadence.groups, group) ? settings.cadence.groups[group] : undefined;
  if (configured !== undefined) return { ms: configured, source: "group" };
  if (settings.cadence.defaultMs !== undefined) return { ms: settings.cadence.defaultMs, source: "default" };
  if (learned !== null && learned !== undefined) return { ms: Math.max(MIN_LEARNED_MS, learned), source: "learned" };
  return { ms: FALLBACK_MS, source: "fallback" };
}

/** "5m", "1h30m", "2d": a duration as hub.yaml writes them, to the second. */
export function showDuration(ms: number): string {
  let s = Math.round(ms / 1000);
  if (s === 0) return "0s";
  const parts: string[] = [];
  for (const [unit, size] of [["d", 86_400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  return parts.join("");
}
