// The schema of `load`: what a `load` promise may say. Its behaviour is src/evaluator/promise-types/load.ts.
import type { PromiseTypeSpec } from "./schema.js";

export const load: PromiseTypeSpec = {
  name: "load",
  summary: "Load averages and memory headroom, from /proc/loadavg and /proc/meminfo.",
  description:
    "Promises that the load averages stay under their limits (per CPU when `per_cpu = true`), that available memory stays above a floor, and, with `anomaly`, that the 5-minute load stays inside its learnt band.",
  promiser: null,
  attributes: [
    { name: "max_1m", type: { kind: "number", min: 0 }, description: "Highest 1-minute load average." },
    { name: "max_5m", type: { kind: "number", min: 0 }, description: "Highest 5-minute load average." },
    { name: "max_15m", type: { kind: "number", min: 0 }, description: "Highest 15-minute load average." },
    { name: "per_cpu", type: { kind: "boolean" }, description: "Divide the load by the number of CPUs before comparing.", default: "false" },
    { name: "min_available_memory", type: { kind: "union", of: [{ kind: "size" }, { kind: "percent" }] }, description: "Least `MemAvailable`, as a size or a share of `MemTotal`." },
    { name: "anomaly", type: { kind: "sigma" }, description: "Deviation from the learnt baseline that counts as a deficiency." },
  ],
  constraints: [{ kind: "atLeastOne", attributes: ["max_1m", "max_5m", "max_15m", "min_available_memory", "anomaly"] }],
  repairs: "None.",
  example: `load {
  max_5m  = 8
  per_cpu = false
}`,
};
