// `npm run bench [name...]`: runs each benchmark under bench/<name>/run.mjs in turn. Each reads
// its own knobs from the environment (bench/README.md), such as `npm run bench -- hub` with
// BENCH_HUB_SECONDS (per step), BENCH_HUB_MAX_RATE and BENCH_HUB_HOSTS for a quick run.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

const all = readdirSync("bench", { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(`bench/${d.name}/run.mjs`))
  .map((d) => d.name);
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : all;
spawnSync("node", ["scripts/build.mjs"], { stdio: "inherit" });
let failed = 0;
for (const name of chosen) {
  console.log(`\n##### bench/${name}`);
  const r = spawnSync("node", [`bench/${name}/run.mjs`], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
