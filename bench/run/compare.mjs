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
import { timeInterleaved } from "../lib.mjs";

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
const drift = (i) => files.forEach((f, n) => n % 10 === i % 10 && chmodSync(f, 0o666));

// each build's first run writes its policy cache (timeInterleaved's first round is the warm-up)
states.forEach((state) => {
  rmSync(state, { recursive: true, force: true });
  cpSync(join(fixture, "state"), state, { recursive: true });
});
const argvs = packages.map((_, k) => argvOf(k));
argvs.forEach((argv) => timeInterleaved([argv], 0));
const results = timeInterleaved(argvs, runs, { before: (i) => scenario === "drifted" && drift(i) });
for (const [k, dir] of packages.entries()) {
  const r = results[k];
  console.log(`${promises} ${scenario} ${dir}: median ${r.ms.toFixed(1)} ms (${Math.min(...r.walls).toFixed(1)}–${Math.max(...r.walls).toFixed(1)}), peak RSS ${(r.rssKB / 1024).toFixed(1)} MB${r.failed ? `, ${r.failed} runs failed` : ""}`);
}
states.forEach((state) => rmSync(state, { recursive: true, force: true }));
