// Where a fresh `covenant check` process loses time against a warm one: V8's JIT warm-up.
// Each of several fresh processes (bench/parse/warmup-child.mjs, with the V8 flags `check`
// runs with) parses the 20,000-promise policy as 20 parts of 1,000 promises, one after another,
// and checks them; then repeats that warm. The medians over the processes show how long the
// first parts take before the parser's code is optimised, and what the same work costs warm.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { commandEnv, median } from "../lib.mjs";

/** The V8 flags `check` runs with: the start-up snapshot's record, second line (bin/covenant). */
function checkFlags() {
  const record = "dist/snapshot/node";
  if (!existsSync(record)) return [];
  return (readFileSync(record, "utf8").split("\n")[1] ?? "").split(" ").filter(Boolean);
}

export function measureWarmUp(policy, { processes = 7, parts = 20, warmRounds = 5 } = {}) {
  const runs = [];
  for (let i = 0; i < processes; i++) {
    const r = spawnSync(process.execPath, [...checkFlags(), "bench/parse/warmup-child.mjs", policy, String(parts), String(warmRounds)], { encoding: "utf8", env: commandEnv });
    if (r.status !== 0) throw new Error(`warm-up child failed:\n${r.stderr}`);
    runs.push(JSON.parse(r.stdout.trim().split("\n").at(-1)));
  }
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const partCount = runs[0].cold.parse.length;
  const coldParts = Array.from({ length: partCount }, (_, i) => median(runs.map((r) => r.cold.parse[i])));
  const warmParts = Array.from({ length: partCount }, (_, i) => median(runs.map((r) => r.warm.parse[i])));
  return {
    processes,
    parts: partCount,
    coldParts,
    warmParts,
    coldParse: median(runs.map((r) => sum(r.cold.parse))),
    warmParse: median(runs.map((r) => sum(r.warm.parse))),
    coldCheck: median(runs.map((r) => r.cold.check)),
    warmCheck: median(runs.map((r) => r.warm.check)),
  };
}

export function printWarmUp(w, promises) {
  const ms = (x) => `${x.toFixed(1)} ms`;
  const perPart = Math.round(promises / w.parts);
  console.log(`\nJIT warm-up at ${promises} promises: fresh processes (median of ${w.processes}), the policy parsed as ${w.parts} parts of ${perPart} promises, then checked`);
  console.log(`  parse, part by part, cold: ${w.coldParts.map((x) => x.toFixed(1)).join(" ")}`);
  console.log(`  parse, part by part, warm: ${w.warmParts.map((x) => x.toFixed(1)).join(" ")}`);
  console.log(`  parse ${ms(w.coldParse)} cold, ${ms(w.warmParse)} warm; check ${ms(w.coldCheck)} cold, ${ms(w.warmCheck)} warm`);
  console.log(`  a fresh process spends ${ms(w.coldParse + w.coldCheck - w.warmParse - w.warmCheck)} more than a warm one on the same work`);
}
