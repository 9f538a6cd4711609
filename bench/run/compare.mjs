// Two or more builds of Covenant against each other on bench/run's fixture, interleaved (the
// development VM's speed drifts by tens of percent within minutes: timed one after the other, two
// builds would see different machines). Each build is a package directory with bin/ and a built
// dist/ (a worktree of another commit after `npm ci`, or a copy of bin/, dist/, package.json with
// node_modules and build/ linked), each run against its own copy of the fixture's state, so that
// no build reads a policy cache another wrote. bench/README.md quotes its figures.
//
//   node bench/run/compare.mjs <promises> <runs> <kept|drifted> <package dir>...
//
// `npm run bench -- run` first: it writes the fixture and its state (bench/.work/run/<promises>).
// "drifted" sets a different tenth of the files to 0666 before each run, as bench/run does.
import { chmodSync, cpSync, existsSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { median, runOnce } from "../lib.mjs";

const [promises, runsText, scenario, ...packages] = process.argv.slice(2);
const runs = Number(runsText);
if (!promises || !Number.isInteger(runs) || runs < 1 || !["kept", "drifted"].includes(scenario) || packages.length === 0) {
  console.error("usage: node bench/run/compare.mjs <promises> <runs> <kept|drifted> <package dir>...");
  process.exit(2);
}
const fixture = resolve("bench/.work/run", promises);
if (!existsSync(join(fixture, "state"))) {
  console.error(`no fixture in ${fixture}: run \`npm run bench -- run\` first`);
  process.exit(2);
}
const files = readdirSync(join(fixture, "files")).sort().map((f) => join(fixture, "files", f));
const states = packages.map((_, k) => join(fixture, `compare-state-${k}`));
const argvOf = (k) => [join(resolve(packages[k]), "bin/covenant"), "run", "--state", states[k], "--quiet", join(fixture, `files-${promises}.promise`)];
let round = 0;
const drift = () => files.forEach((f, i) => i % 10 === round % 10 && chmodSync(f, 0o666));

states.forEach((state, k) => {
  rmSync(state, { recursive: true, force: true });
  cpSync(join(fixture, "state"), state, { recursive: true });
  // the first run writes this build's policy cache; the second is a warm-up
  for (let w = 0; w < 2; w++) runOnce(argvOf(k));
});
const results = packages.map(() => ({ walls: [], rssKB: 0, failed: 0 }));
for (let i = 0; i < runs; i++, round++) {
  const order = packages.map((_, k) => (i % 2 === 0 ? k : packages.length - 1 - k));
  for (const k of order) {
    if (scenario === "drifted") drift();
    const r = runOnce(argvOf(k));
    if (r.status !== 0) results[k].failed++;
    results[k].walls.push(r.ms);
    results[k].rssKB = Math.max(results[k].rssKB, r.rssKB);
  }
}
for (const [k, dir] of packages.entries()) {
  const r = results[k];
  console.log(`${promises} ${scenario} ${dir}: median ${median(r.walls).toFixed(1)} ms (${Math.min(...r.walls).toFixed(1)}–${Math.max(...r.walls).toFixed(1)}), peak RSS ${(r.rssKB / 1024).toFixed(1)} MB${r.failed ? `, ${r.failed} runs failed` : ""}`);
}
states.forEach((state) => rmSync(state, { recursive: true, force: true }));
