// bench/parse: `covenant check` against `cf-promises -f` on equivalent policies of 200, 2,000
// and 20,000 file promises (mode/owner/group + sha256 integrity), in the same run.
import { readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { ensureDebianTool, median, table, timeCommand, timeInterleaved } from "../lib.mjs";
import { writePolicies } from "./generate.mjs";
import { measureWarmUp, printWarmUp } from "./warmup.mjs";

const sizes = (process.env.BENCH_SIZES ?? "200,2000,20000").split(",").map(Number);
const work = resolve("bench/.work/parse");
mkdirSync(work, { recursive: true });
const hasCf = ensureDebianTool("cf-promises", "cfengine3");
const lib = await import(resolve("dist/index.js"));

const rows = [["promises", "policy MB", "covenant check", "cf-promises", "ratio (cov/cf)", "in-process parse+check", "in-process MB/s", "whole-command MB/s", "covenant RSS"]];
const results = [];
for (const n of sizes) {
  const { cov, cf } = writePolicies(work, n);
  const bytes = statSync(cov).size;
  // as installed: the launcher, which starts check from the startup snapshot; both tools
  // interleaved, run by run, so that both see the same machine
  const covenantArgv = ["bin/covenant", "check", cov];
  const [c, p] = hasCf ? timeInterleaved([covenantArgv, ["cf-promises", "-f", resolve(cf)]]) : [timeCommand(covenantArgv), undefined];
  if (c.status !== 0) throw new Error(`covenant check failed on ${cov}:\n${c.output}`);
  if (p && p.status !== 0) throw new Error(`cf-promises failed on ${cf}:\n${p.output}`);
  // In-process: the same work without Node's start-up, median of 10 runs after a warm-up.
  const text = readFileSync(cov, "utf8");
  const times = [];
  for (let i = 0; i < 11; i++) {
    const t = performance.now();
    const r = lib.checkFiles([lib.parseSource(cov, text)]);
    const ms = performance.now() - t;
    if (r.diagnostics.some((d) => d.severity === "error")) throw new Error("unexpected errors in generated policy");
    if (i > 0) times.push(ms);
  }
  const inproc = median(times);
  const mb = bytes / 1e6;
  results.push({ promises: n, bytes, covenantMs: c.ms, cfPromisesMs: p?.ms ?? null, ratio: p ? c.ms / p.ms : null, inProcessMs: inproc, inProcessMBps: mb / (inproc / 1000), covenantRssKB: c.rssKB });
  rows.push([
    n,
    mb.toFixed(2),
    `${c.ms.toFixed(0)} ms`,
    p ? `${p.ms.toFixed(0)} ms` : "not installed",
    p ? `${(c.ms / p.ms).toFixed(2)}x` : "-",
    `${inproc.toFixed(0)} ms`,
    (mb / (inproc / 1000)).toFixed(1),
    (mb / (c.ms / 1000)).toFixed(1),
    `${(c.rssKB / 1024).toFixed(0)} MB`,
  ]);
}
console.log("\nbench/parse: covenant check vs cf-promises -f (median of 7 interleaved runs after a warm-up round)\n");
console.log(table(rows));
const last = results.at(-1);
console.log(`\ngoals at ${last.promises} promises: wall-time ratio <= 1.5x (got ${last.ratio?.toFixed(2) ?? "n/a"}x), in-process >= 10 MB/s (got ${last.inProcessMBps.toFixed(1)} MB/s)`);

// Why the ratio is what it is at the largest size: how much of the command is V8 warming up
const warmUp = measureWarmUp(resolve(work, `files-${last.promises}.promise`));
printWarmUp(warmUp, last.promises);
if (last.ratio !== null) {
  const withoutWarmUp = last.covenantMs - (warmUp.coldParse + warmUp.coldCheck - warmUp.warmParse - warmUp.warmCheck);
  console.log(`  the command without that warm-up: about ${withoutWarmUp.toFixed(0)} ms, ${(withoutWarmUp / last.cfPromisesMs).toFixed(2)}x cf-promises`);
}
writeFileSync(resolve(work, "results.json"), JSON.stringify({ date: new Date().toISOString(), results, warmUp }, null, 2));
