// bench/report: what a year's evidence costs. A store of one year of policies/sox-itgc (209
// promises) run every 5 minutes (105,120 runs; year-store.mjs says what else the year holds) is
// made once and kept in bench/.work/report/year (made.json says with what); then, as installed
// (the launcher), each timed as a whole command with its peak RSS (/usr/bin/time):
//   - the year's HTML report (`covenant report --format html`),
//   - an auditor's sample of 25 evaluations of a control, with their evidence (`--sample 25`),
//   - the evidence pack for the year (`covenant evidence`),
//   - verifying the pack with the public key alone (`covenant evidence verify`).
// Goal (issue 17): each under 10 s and within 200 MB. BENCH_REPORT_RUNS makes a smaller store
// (for a quick look; the figures for bench/README.md are the year's).
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { median, table, timeCommand } from "../lib.mjs";
import { spawnSync } from "node:child_process";
import { yearStore } from "./year-store.mjs";

const RUNS = Number(process.env.BENCH_REPORT_RUNS ?? 105_120);
const REPEAT = Number(process.env.BENCH_RUNS ?? 3);
const work = resolve("bench/.work/report");
const state = join(work, RUNS === 105_120 ? "year" : `runs-${RUNS}`);
const out = join(work, "out");
mkdirSync(work, { recursive: true });
console.log(`\nbench/report: making (or reusing) a store of ${RUNS.toLocaleString("en-US")} runs of policies/sox-itgc every 5 minutes in ${state}`);
const made = await yearStore(state, { runs: RUNS, log: (l) => console.log(l) });
console.log(`  ${made.runs} runs + ${made.watchRuns} watcher runs + ${made.dryRuns} dry runs, ${made.acks} acknowledgements, ${made.promises} promises, from ${made.from} to ${made.to}${made.seconds ? ` (made in ${made.seconds.toFixed(0)} s)` : ""}`);
const dbBytes = statSync(join(state, "state.db")).size;
console.log(`  state.db: ${(dbBytes / 1024 / 1024).toFixed(1)} MiB`);

const from = made.from.slice(0, 10);
const to = made.to.slice(0, 10);
const bin = resolve("bin/covenant.js");
const control = "SOX-AC-01";
const pack = join(out, "pack");
const publicKey = join(out, "host-public.pem");

const fresh = () => {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
};
fresh();
const key = timeCommand(["node", bin, "key", "export", "--state", state, "--out", publicKey], 0);
if (key.status !== 0) throw new Error(`covenant key export failed (${key.status}): ${key.output.slice(0, 500)}`);

const cases = [
  { name: "the year's HTML report", argv: ["node", bin, "report", "--from", from, "--to", to, "--format", "html", "--out", join(out, "html"), "--state", state], before: () => rmSync(join(out, "html"), { recursive: true, force: true }), okStatus: [0], check: () => readdirSync(join(out, "html")).some((f) => f.endsWith(".html")) },
  { name: `an auditor's sample of 25 (${control})`, argv: ["node", bin, "report", "--from", from, "--to", to, "--control", control, "--sample", "25", "--seed", "audit-2026", "--format", "json", "--state", state], okStatus: [0], check: (r) => JSON.parse(r.stdout).sample?.controls?.[0]?.picks?.length === 25 },
  { name: "the year's evidence pack", argv: ["node", bin, "evidence", "--from", from, "--to", to, "--out", pack, "--state", state], before: () => {
      rmSync(pack, { recursive: true, force: true });
      rmSync(`${pack}.tar.gz`, { force: true });
      // the previous run's ~215 MB still being written back to disk slowed the next by up to 4 s:
      // each run starts as a single pack does, with nothing of another pending (untimed)
      spawnSync("sync");
    }, okStatus: [0], check: () => existsSync(join(pack, "manifest.json")) && existsSync(`${pack}.tar.gz`) },
  { name: "verifying the pack (public key alone)", argv: ["node", bin, "evidence", "verify", `${pack}.tar.gz`, "--public-key", publicKey], okStatus: [0], check: (r) => /intact|verified/i.test(r.stdout) },
];

const rows = [["what", "median wall", "runs", "peak RSS", "goal (10 s, 200 MB)"]];
const results = [];
let failed = false;
for (const c of cases) {
  const r = timeCommand(c.argv, REPEAT, {
    before: () => c.before?.(),
    after: (res) => {
      if (!c.okStatus.includes(res.status)) throw new Error(`${c.name}: exit ${res.status}: ${res.output.slice(0, 800)}`);
      if (!c.check(res)) throw new Error(`${c.name}: the output is not what it should be: ${res.output.slice(0, 800)}`);
    },
  });
  const met = r.ms < 10_000 && r.rssKB < 200 * 1024;
  failed ||= !met;
  results.push({ name: c.name, ms: r.ms, walls: r.walls, rssKB: r.rssKB, met });
  rows.push([c.name, `${(r.ms / 1000).toFixed(2)} s`, String(r.walls.length), `${(r.rssKB / 1024).toFixed(0)} MB`, met ? "met" : "NOT MET"]);
}
console.log("");
console.log(table(rows));
const packBytes = existsSync(`${pack}.tar.gz`) ? statSync(`${pack}.tar.gz`).size : 0;
console.log(`\nthe pack: ${(packBytes / 1024 / 1024).toFixed(1)} MiB gzipped, for a store of ${(dbBytes / 1024 / 1024).toFixed(1)} MiB; median of all walls ${(median(results.map((x) => x.ms)) / 1000).toFixed(2)} s`);
console.log(`goal: each under 10 s and within 200 MB: ${failed ? "NOT MET" : "MET"}`);
writeFileSync(join(work, "results.json"), JSON.stringify({ date: new Date().toISOString(), made, dbBytes, packBytes, results }, null, 2));
