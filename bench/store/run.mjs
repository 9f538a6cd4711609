// bench/store: what a day of `covenant run` every 5 minutes costs the state store, against a log
// that keeps every outcome of every run. The real StateStore (from the built library entry) is
// fed 288 runs a day of a 200-promise policy in which 2 promises (1%) change state per run; the
// baseline is a plain SQLite table with one row per promise per run. Two days are simulated:
// the store's first day (which also holds the 200 first observations and the policy's text,
// each written once per store) and a typical day after it. The policy text stored is that of
// policies/sox-itgc (209 promises, the size of a real 200-promise policy); it is not edited
// during the simulation, so it is stored once, on the first day. Then the history and the chain are checked to still show every
// one of the 288 runs of each day.
//
// Bytes are measured the same way for both: (page_count - freelist_count) * page_size after a
// WAL checkpoint (StateStore.bytesUsed), on databases written the way
// each would be on a host (WAL mode; the baseline's 200 rows per run in one transaction).
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { table } from "../lib.mjs";

const RUNS = Number(process.env.BENCH_RUNS_PER_DAY ?? 288);
const DAYS = Number(process.env.BENCH_DAYS ?? 2);
const PROMISES = 200;
const INTERVAL_MS = 5 * 60_000;
const DAY = Date.parse("2026-11-23T00:00:00.000Z");
const work = resolve("bench/.work/store");
const stateDir = join(work, "state");
const baselinePath = join(work, "every-outcome.db");
rmSync(work, { recursive: true, force: true });
mkdirSync(stateDir, { recursive: true, mode: 0o700 });
const { hashPolicy, StateStore } = await import(resolve("dist/index.js"));

// ---- a realistic 200-promise policy: 20 controls of 10 promises of mixed types --------------
const families = ["ITGC-AC", "ITGC-CM", "ITGC-OP", "FIN-GL", "FIN-AP"];
const kinds = [
  { type: "file", promiser: (c, i) => `/srv/ledger/${c.toLowerCase()}/gl-2026-${String((i % 12) + 1).padStart(2, "0")}.dat` },
  { type: "file", promiser: (c, i) => `/etc/ledger/${c.toLowerCase()}-${i}.conf` },
  { type: "process", promiser: (c, i) => `ledger-sync-${i}` },
  { type: "service", promiser: (c, i) => `ledger-export-${i}.service` },
  { type: "listener", promiser: (c, i) => String(5400 + i) },
  { type: "group", promiser: (c, i) => `finance-${i}` },
  { type: "sysctl", promiser: () => "net.ipv4.ip_forward" },
  { type: "mount", promiser: (c) => `/srv/ledger/${c.toLowerCase()}` },
  { type: "connections", promiser: (c, i) => `postgres ${5432 + i}` },
  { type: "command", promiser: (c, i) => `/usr/local/bin/ledger-check --batch ${i}` },
];
const promises = [];
for (let c = 0; c < PROMISES / 10; c++) {
  const control = `${families[c % families.length]}-${String(c + 1).padStart(2, "0")}`;
  for (let i = 0; i < 10; i++) {
    const { type, promiser } = kinds[i];
    const p = promiser(control, c * 10 + i);
    promises.push({ key: `${control}/${type}:${p}`, control, type, promiser: p, line: 4 + i * 7 });
  }
}

// ---- what happens to them: each run one promise starts an incident and the previous one ends --
// The incident fits the promise's type: some are repaired at once (`repaired`, with what the
// change gate applied), the others are drift with no repair declared; the next run finds the
// promise kept again. So from the second run on, exactly 2 promises (1%) change state per run.
function incident(p, n) {
  const drift = (subject, attribute, expected, observed, reason) => ({ outcome: "drift", reason, differences: [{ subject, attribute, expected, observed, reason }], changes: [] });
  const repaired = (subject, attribute, expected, observed, reason, change, description) => ({
    outcome: "repaired",
    reason: `repaired: ${description}`,
    differences: [{ subject, attribute, expected, observed, reason }],
    changes: [{ change, description, status: "applied" }],
  });
  const pr = p.promiser;
  switch (p.type) {
    case "file":
      if (pr.endsWith(".dat")) return repaired(pr, "mode", "0640", "0666", `${pr}: mode is 0666, promised 0640`, { op: "chmod", path: pr, mode: 0o640 }, `chmod 0640 ${pr}`);
      return drift(pr, "integrity", "9f2c6a0e41d7…", "03be77c1a9f2…", `${pr}: content differs from the baseline of 2026-11-02T09:14:07.000Z (9f2c6a0e41d7… → 03be77c1a9f2…)`);
    case "process":
      return drift(undefined, "count", "1 to 1", "0", `${pr} is not running (0 instances, promised 1 to 1)`);
    case "service":
      return repaired(pr, "active", "active", "inactive (dead)", `${pr} is inactive (dead), promised active`, { op: "systemctl", verb: "restart", unit: pr }, `systemctl restart ${pr}`);
    case "listener":
      return drift(`port ${pr}`, "present", "listened on", "nothing listens", `nothing listens on port ${pr}`);
    case "group":
      return drift("mallory", "allowed", "alice, bob, carol", "mallory", `group ${pr}: mallory is a member, not among the allowed ("alice", "bob", "carol")`);
    case "sysctl":
      return repaired(pr, "value", "0", "1", `${pr} is 1, promised 0`, { op: "sysctl", key: pr, path: `/proc/sys/${pr.replaceAll(".", "/")}`, value: "0" }, `sysctl ${pr}=0`);
    case "mount":
      return drift(pr, "options", "ro,nosuid,nodev", "rw,nosuid,nodev", `${pr} is mounted rw,nosuid,nodev, promised ro,nosuid,nodev`);
    case "connections":
      return drift(`10.0.3.${n % 250}`, "sources", "10.0.1.0/24", `10.0.3.${n % 250}`, `10.0.3.${n % 250} holds 3 connections to port ${pr.split(" ")[1]}, outside the allowed sources (10.0.1.0/24)`);
    default:
      return drift(undefined, "exit_code", "0", "1", `${pr} exited with status 1, promised 0: batch ${n} has 2 unbalanced journal entries`);
  }
}

function resultOf(p, run, incidentAt) {
  const base = { key: p.key, control: p.control, type: p.type, promiser: p.promiser, notes: [], stakeholders: ["compliance"], file: "/etc/covenant/policies/sox.promise", line: p.line, durationMs: 0.4 };
  const n = incidentAt.get(p.key);
  if (n === run) return { ...base, ...incident(p, n) };
  return { ...base, outcome: "kept", reason: "as promised", differences: [], changes: [] };
}

// ---- the baseline: every outcome of every run ----------------------------------------------
const base = new Database(baselinePath);
base.pragma("journal_mode = WAL");
base.pragma("synchronous = NORMAL");
base.exec("CREATE TABLE outcomes (run INTEGER NOT NULL, time TEXT NOT NULL, key TEXT NOT NULL, control TEXT NOT NULL, type TEXT NOT NULL, promiser TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT NOT NULL)");
const insert = base.prepare("INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
const insertRun = base.transaction((run, time, results) => {
  for (const r of results) insert.run(run, time, r.key, r.control, r.type, r.promiser, r.outcome, r.reason);
});
function baselineBytes() {
  base.pragma("wal_checkpoint(TRUNCATE)");
  return (base.pragma("page_count", { simple: true }) - base.pragma("freelist_count", { simple: true })) * base.pragma("page_size", { simple: true });
}

// ---- the days ------------------------------------------------------------------------------
const policyDir = resolve("policies/sox-itgc");
const policyFiles = readdirSync(policyDir)
  .filter((f) => f.endsWith(".promise"))
  .sort()
  .map((f) => ({ path: `/etc/covenant/policies/${f}`, text: readFileSync(join(policyDir, f), "utf8") }));
const policyBytes = policyFiles.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
const policyHash = hashPolicy(policyFiles);
const store = StateStore.open(stateDir);
const incidentAt = new Map();
const changedPerRun = new Map();
const days = [];
let before = { covenant: store.bytesUsed(), baseline: baselineBytes() };
const empty = before;
const t0 = performance.now();
for (let day = 0; day < DAYS; day++) {
  let written = 0;
  for (let k = day * RUNS; k < (day + 1) * RUNS; k++) {
    const started = new Date(DAY + k * INTERVAL_MS);
    const run = store.beginRun();
    if (k > 0) incidentAt.set(promises[(k * 37) % PROMISES].key, run); // 37 is prime to 200: a different promise each run
    const results = [];
    let changed = 0;
    for (let i = 0; i < PROMISES; i++) {
      const r = resultOf(promises[i], run, incidentAt);
      results.push(r);
      if (store.recordResult(run, new Date(started.getTime() + 20 + i * 3).toISOString(), r)) changed++;
    }
    const finished = new Date(started.getTime() + 20 + PROMISES * 3 + 15).toISOString();
    const counts = {};
    for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
    const outcomes = createHash("sha256").update(results.map((r) => `${r.key}=${r.outcome}`).sort().join("\n")).digest("hex");
    store.finishRun({ run, host: "ledger-db-01.example.com", started: started.toISOString(), finished, policy: policyHash, dryRun: false, promises: PROMISES, counts, outcomes, changed }, policyFiles, results.map((r) => r.key));
    // routing after the run, as on a host with notifications configured: every event seen (here
    // no route sends a message); the next summary retires what was resolved and told
    store.savePlan({ messages: [], groups: [], dropped: [], routedEvents: store.notificationWorkingSet().events });
    insertRun(run, finished, results);
    written += changed;
    changedPerRun.set(run, changed);
  }
  const after = { covenant: store.bytesUsed(), baseline: baselineBytes() };
  days.push({ date: new Date(DAY + day * RUNS * INTERVAL_MS).toISOString().slice(0, 10), covenantBytes: after.covenant - before.covenant, baselineBytes: after.baseline - before.baseline, changeRecords: written });
  before = after;
}
const simulatedMs = performance.now() - t0;
const report = store.verify();
// every run explainable: a sample of runs, each promise's outcome rebuilt from the history and
// proven against its summary's digest
const sampled = Array.from({ length: 25 }, (_, i) => 1 + ((i * 7919) % (RUNS * DAYS)));
const explained = store.explainRuns(sampled);
const tables = (() => {
  const db = new Database(join(stateDir, "state.db"), { readonly: true });
  try {
    return db.prepare("SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC").all();
  } catch {
    return [];
  } finally {
    db.close();
  }
})();
store.close();
base.close();

// ---- proof that every run took place --------------------------------------------------------
const problems = [];
const cli = (args) => spawnSync("node", ["bin/covenant.js", ...args, "--state", stateDir, "--json"], { encoding: "utf8", maxBuffer: 1 << 28 });
const h = cli(["history"]);
if (h.status !== 0) problems.push(`covenant history exited ${h.status}: ${h.stderr}`);
const entries = h.status === 0 ? JSON.parse(h.stdout) : [];
const summaries = entries.filter((e) => e.kind === "run");
const changes = entries.filter((e) => e.kind === "change");
const policyRecords = entries.filter((e) => e.kind === "policy");
if (policyRecords.length !== 1 || policyRecords[0].body.hash !== policyHash) problems.push(`history shows ${policyRecords.length} policy records, expected one, of the policy every run used`);
if (summaries.some((e) => e.body.policyRecord !== policyRecords[0]?.seq)) problems.push("a run summary does not name the policy record");
const total = RUNS * DAYS;
const runNumbers = summaries.map((e) => e.body.run).join(",");
if (runNumbers !== Array.from({ length: total }, (_, i) => i + 1).join(",")) problems.push(`history shows ${summaries.length} run summaries, expected runs 1..${total} in order`);
for (const d of days) {
  d.summaries = summaries.filter((e) => e.body.started.startsWith(d.date)).length;
  if (d.summaries !== RUNS) problems.push(`${d.date}: ${d.summaries} run summaries, expected ${RUNS}`);
}
if (summaries.some((e) => e.body.promises !== PROMISES)) problems.push(`a run summary does not say ${PROMISES} promises were tested`);
const changesByRun = new Map();
for (const e of changes) changesByRun.set(e.run, (changesByRun.get(e.run) ?? 0) + 1);
for (const e of summaries) {
  const held = changesByRun.get(e.body.run) ?? 0;
  if (held !== e.body.changed || held !== changedPerRun.get(e.body.run)) problems.push(`run ${e.body.run}: its summary says ${e.body.changed} changes, the history holds ${held}`);
}
if ([...changedPerRun].some(([run, n]) => run >= 3 && n !== 2)) problems.push("from run 3 on, not every run changed exactly 2 promises");
for (const run of sampled) {
  const e = explained.get(run);
  if (!e) problems.push(`run ${run} cannot be explained: no summary found`);
  else if (!e.proof.proven) problems.push(`run ${run} cannot be proven from the history: ${e.proof.why}`);
  else if (e.promises.length !== PROMISES) problems.push(`run ${run} explains ${e.promises.length} promises, not ${PROMISES}`);
}
const v = cli(["verify"]);
const cliVerify = v.stdout ? JSON.parse(v.stdout) : undefined;
for (const [who, r] of [
  ["store.verify()", report],
  ["covenant verify", cliVerify],
]) {
  if (!r) {
    problems.push(`${who}: no report (exit ${v.status}: ${v.stderr})`);
    continue;
  }
  if (r.tampering) problems.push(`${who}: tampering reported: ${r.tampering.message}`);
  if (r.runs.length !== total) problems.push(`${who}: ${r.runs.length} runs, expected ${total}`);
  if (r.interrupted.length) problems.push(`${who}: interrupted runs ${r.interrupted.join(", ")}`);
  if (r.silent.length) problems.push(`${who}: silent runs ${r.silent.join(", ")}`);
  if (r.headMissing) problems.push(`${who}: the head anchor is missing`);
}
if (v.status !== 0) problems.push(`covenant verify exited ${v.status}`);

// The check has teeth: in a copy of the store, delete one run's summary; verify must say so.
const copy = join(work, "state-one-summary-deleted");
cpSync(stateDir, copy, { recursive: true });
const victim = summaries[Math.floor(summaries.length / 2)];
const db = new Database(join(copy, "state.db"));
db.prepare("DELETE FROM ledger WHERE seq = ?").run(victim?.seq ?? 0);
db.close();
const t = spawnSync("node", ["bin/covenant.js", "verify", "--state", copy, "--json"], { encoding: "utf8" });
const tampered = t.stdout ? JSON.parse(t.stdout).tampering : undefined;
if (t.status !== 1 || !tampered) problems.push(`covenant verify did not notice the deleted summary of run ${victim?.body.run} (exit ${t.status})`);

// ---- report ------------------------------------------------------------------------------
const kb = (b) => `${(b / 1024).toFixed(0)} KiB`;
const pct = (d) => 100 * (1 - d.covenantBytes / d.baselineBytes);
console.log(`\nbench/store: ${RUNS} runs a day (every 5 minutes) of ${PROMISES} promises, 2 (1%) changing state per run; bytes added per day\n`);
const rows = [["day", "covenant StateStore", "per run", "every outcome (baseline)", "per run", "saved", "covenant records", "baseline rows"]];
days.forEach((d, i) =>
  rows.push([
    `${d.date}${i === 0 ? " (new store)" : ""}`,
    kb(d.covenantBytes),
    `${(d.covenantBytes / RUNS).toFixed(0)} B`,
    kb(d.baselineBytes),
    `${(d.baselineBytes / RUNS).toFixed(0)} B`,
    `${pct(d).toFixed(1)}%`,
    `${d.changeRecords} changes + ${RUNS} summaries${i === 0 ? " + 1 policy version" : ""}`,
    RUNS * PROMISES,
  ]),
);
console.log(table(rows));
console.log(`(the new store's first run writes a first observation of each of the ${PROMISES} promises and the policy's text, ${policyFiles.length} files of ${policyBytes.toLocaleString("en-US")} bytes, once per store (each edit of the policy stores one more version); the empty databases, ${kb(empty.covenant)} and ${kb(empty.baseline)}, are not counted)`);
const typical = days.at(-1);
console.log(`\ngoal: at least 94% less than storing every outcome, on a typical day (${typical.date}): got ${pct(typical).toFixed(1)}%: ${pct(typical) >= 94 ? "MET" : "NOT MET"}`);
if (days.length > 1) console.log(`      and on the store's first day (${days[0].date}): got ${pct(days[0]).toFixed(1)}%: ${pct(days[0]) >= 94 ? "MET" : "NOT MET"}`);
if (days.length > 1) {
  // a year: the first day once, then typical days (the policy unchanged; each edit adds one version)
  const year = { covenantBytes: days[0].covenantBytes + 364 * typical.covenantBytes, baselineBytes: days[0].baselineBytes + 364 * typical.baselineBytes };
  console.log(`      over a year (the first day, then 364 typical days): ${(year.covenantBytes / 1024 / 1024).toFixed(1)} MiB against ${(year.baselineBytes / 1024 / 1024).toFixed(0)} MiB, ${pct(year).toFixed(1)}% less`);
}
if (tables.length > 0) console.log(`\nwhere the store's bytes are after ${DAYS} days (dbstat, pages): ${tables.filter((t) => t.bytes > 4096).map((t) => `${t.name} ${kb(t.bytes)}`).join(", ")}`);
const proven = sampled.filter((r) => explained.get(r)?.proof.proven).length;
console.log(`explained: ${proven} of ${sampled.length} sampled runs rebuilt promise by promise from the history and proven against their summaries' digests`);
console.log(`simulated in ${(simulatedMs / 1000).toFixed(1)} s (${(simulatedMs / (RUNS * DAYS)).toFixed(1)} ms per run, store and baseline together)`);
console.log(
  `\nevery run accounted for: covenant history shows ${summaries.length} run summaries, ${days.map((d) => `${d.summaries} on ${d.date}`).join(" and ")}, each of ${PROMISES} promises, and ${changes.length} change records matching the summaries' counts; ` +
    `verify: ${report.tampering ? "TAMPERED" : "intact"}, ${report.records} records, ${report.runs.length} runs, ${report.interrupted.length} interrupted, ${report.silent.length} silent, head anchor ${report.headMissing ? "missing" : "present"}: ${problems.length === 0 ? "OK" : "NOT OK"}`,
);
if (tampered) console.log(`negative control: with run ${victim.body.run}'s summary deleted from a copy, covenant verify reports: ${tampered.message} (${tampered.kind})`);
for (const p of problems) console.log(`  problem: ${p}`);
writeFileSync(join(work, "results.json"), JSON.stringify({ date: new Date().toISOString(), runsPerDay: RUNS, promises: PROMISES, policy: { files: policyFiles.length, bytes: policyBytes, records: policyRecords.length }, emptyBytes: empty, days, tables, explained: { sampled: sampled.length, proven }, verify: { ...report, runs: report.runs.length }, problems }, null, 2));
process.exitCode = problems.length ? 1 : 0;
