// `anomaly`: a reading is a deficiency when it lies further from the band learnt for the same
// hour of the week than the promised number of standard deviations. Load and file handles
// follow the working week (batch runs at night, month-end closes), so each hour has its own band.
import type { Difference, SampleStore } from "./contract.js";
import { formatNumber } from "./observation-notes.js";

/** Samples a band needs at an hour before a reading is judged against it. */
export const LEARNING_SAMPLES = 12;

/** Monday 00:00-00:59 is 0, Sunday 23:00-23:59 is 167, in the host's local time. */
export function hourOfWeek(d: Date): number {
  const mondayFirst = (d.getDay() + 6) % 7;
  return mondayFirst * 24 + d.getHours();
}

export interface BandReading {
  metric: string;
  value: number;
  /** the band learnt before this reading */
  count: number;
  mean: number;
  stddev: number;
}

/** Records `value` and returns the band it is judged against, with notes while the band is not usable yet. */
export function learnAndRead(samples: SampleStore, metric: string, now: Date, value: number): { reading: BandReading; notes: string[] } {
  const band = samples.observe(metric, hourOfWeek(now), value);
  const notes: string[] = [];
  if (band.count < LEARNING_SAMPLES) notes.push(`learning the normal band: ${band.count} of ${LEARNING_SAMPLES} samples at this hour`);
  else if (!(band.stddev > 0)) notes.push(`the normal band at this hour has no spread yet (every sample was ${formatNumber(band.mean)}): anomaly not judged`);
  return { reading: { metric, value, ...band }, notes };
}

/** The difference when the reading lies outside `sigma` standard deviations of a usable band. */
export function anomalyDifference(reading: BandReading, sigma: number, what: string): Difference | undefined {
  const { value, count, mean, stddev } = reading;
  if (count < LEARNING_SAMPLES || !(stddev > 0)) return undefined;
  const deviations = Math.abs(value - mean) / stddev;
  if (deviations <= sigma) return undefined;
  const low = mean - sigma * stddev;
  const high = mean + sigma * stddev;
  return {
    attribute: "anomaly",
    expected: `${formatNumber(low)} to ${formatNumber(high)} (within ${sigma} sigma of ${formatNumber(mean)})`,
    observed: formatNumber(value),
    reason: `${what} is ${formatNumber(value)}, ${formatNumber(deviations)} sigma ${value > mean ? "above" : "below"} its normal band for this hour (mean ${formatNumber(mean)}, within ${sigma} sigma: ${formatNumber(low)} to ${formatNumber(high)})`,
  };
}
