// `npm run bench [name...]`: runs each benchmark under bench/<name>/run.mjs in turn.
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
