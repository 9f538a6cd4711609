// The schema of `filehandles`: what a `filehandles` promise may say. Its behaviour is src/evaluator/promise-types/filehandles.ts.
import type { PromiseTypeSpec } from "./schema.js";

export const filehandles: PromiseTypeSpec = {
  name: "filehandles",
  summary: "System-wide file handle use, from /proc/sys/fs/file-nr.",
  description:
    "Promises that allocated file handles stay under a share of the kernel's maximum, under an absolute count, and inside their normal band: with `anomaly`, a reading further than that many standard deviations from the baseline for the same hour of the week is a deficiency.",
  promiser: null,
  attributes: [
    { name: "max_used_pct", type: { kind: "percent" }, description: "Highest share of `fs.file-max` in use." },
    { name: "max_used", type: { kind: "integer", min: 0 }, description: "Most handles in use." },
    { name: "anomaly", type: { kind: "sigma" }, description: "Deviation from the learnt baseline that counts as a deficiency." },
  ],
  constraints: [{ kind: "atLeastOne", attributes: ["max_used_pct", "max_used", "anomaly"] }],
  repairs: "None.",
  example: `filehandles {
  max_used_pct = 80%
  anomaly      = 3 sigma
}`,
};
