// In-memory baselines and learnt bands: for a dry look without a state directory, and for tests.
import { createHmac, randomBytes } from "node:crypto";
import type { Baseline, BaselineStore, SampleStore } from "../evaluator/contract.js";

export class MemoryBaselines implements BaselineStore {
  readonly map = new Map<string, Baseline>();
  private readonly key = randomBytes(32);
  keyDigest(digest: string): string {
    return "hmac-sha256:" + createHmac("sha256", this.key).update(`nodiff digest\n${digest}`).digest("hex");
  }
  get(path: string): Baseline | undefined {
    return this.map.get(path);
  }
  set(path: string, baseline: Baseline): void {
    this.map.set(path, baseline);
  }
}

export interface Band {
  count: number;
  mean: number;
  /** sum of squared differences from the mean (Welford) */
  m2: number;
}

/** Welford's update: a new sample folded into a band without keeping the samples. */
export function addSample(b: Band, value: number): Band {
  const count = b.count + 1;
  const delta = value - b.mean;
  const mean = b.mean + delta / count;
  return { count, mean, m2: b.m2 + delta * (value - mean) };
}

export function stddevOf(b: Band): number {
  return b.count > 1 ? Math.sqrt(b.m2 / (b.count - 1)) : 0;
}

export class MemorySamples implements SampleStore {
  readonly bands = new Map<string, Band>();
  band(metric: string, hourOfWeek: number): { count: number; mean: number; stddev: number } {
    const b = this.bands.get(`${metric}@${hourOfWeek}`) ?? { count: 0, mean: 0, m2: 0 };
    return { count: b.count, mean: b.mean, stddev: stddevOf(b) };
  }
  observe(metric: string, hourOfWeek: number, value: number): { count: number; mean: number; stddev: number } {
    const key = `${metric}@${hourOfWeek}`;
    const before = this.bands.get(key) ?? { count: 0, mean: 0, m2: 0 };
    this.bands.set(key, addSample(before, value));
    return { count: before.count, mean: before.mean, stddev: stddevOf(before) };
  }
}
