// bench/hub: how many hosts one hub sustains on this machine. Simulated hosts (hosts-worker.mjs),
// each enrolled with a real one-time token and its own Ed25519 key, push their next run's records
// (records.mjs: cut from a real store of a 209-promise policy run every 5 minutes), signed, over
// real HTTPS to the built `covenant hub serve` against the machine's PostgreSQL, in a database of
// the benchmark's own. The offered rate is raised step by step until the hub falls behind (p99
// from the time a push was due over its target, fewer pushes answered than offered, or any
// error); the highest step held is the sustained rate, and rate × 300 the hosts it serves at a
// 5-minute cadence. The clock is compressed: N hosts at rate R push every N / R seconds instead of
// every 300 (the factor is printed). The load generator runs on the same 2 cores as the hub and
// PostgreSQL: its own CPU share is measured and printed with each step.
//
// Knobs (environment): BENCH_HUB_SECONDS per step (20), BENCH_HUB_RATES (a comma list of
// pushes/s; default 10,25,50,67,85,100,125,150,200,250,300,400,500), BENCH_HUB_MAX_RATE (stop
// the ramp above it), BENCH_HUB_HOSTS (simulated hosts, 2000), BENCH_HUB_WORKERS (generator
// threads, 2), BENCH_HUB_POOL (the hub's database pool, 10), BENCH_HUB_P99_MS (200),
// BENCH_HUB_TEMPLATE_RUNS (runs in the template store, 300), BENCH_HUB_RETRIES (times a step
// that fell behind without errors is run again before the ramp stops, 1), BENCH_HUB_KEEP_DB=1
// (keep the database, for a look afterwards).
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Worker } from "node:worker_threads";
import pg from "pg";
import { median, table } from "../lib.mjs";
import { recordTemplates, TEMPLATE_HOST } from "./records.mjs";
import { benchDatabase, bundleHubLib, startHubProcess } from "./hub-process.mjs";
import { CpuSampler } from "./sampler.mjs";
import { describeOverview, overviewPageTime } from "./overview.mjs";

const env = process.env;
const SECONDS = Number(env.BENCH_HUB_SECONDS ?? 20);
const MAX_RATE = Number(env.BENCH_HUB_MAX_RATE ?? Infinity);
const RATES = (env.BENCH_HUB_RATES ?? "10,25,50,67,85,100,125,150,200,250,300,400,500").split(",").map(Number).filter((r) => r > 0 && r <= MAX_RATE);
const HOSTS = Number(env.BENCH_HUB_HOSTS ?? 2000);
const WORKERS = Number(env.BENCH_HUB_WORKERS ?? 2);
const POOL = Number(env.BENCH_HUB_POOL ?? 10);
const P99_TARGET_MS = Number(env.BENCH_HUB_P99_MS ?? 200);
const TEMPLATE_RUNS = Number(env.BENCH_HUB_TEMPLATE_RUNS ?? 300);
const RETRIES = Number(env.BENCH_HUB_RETRIES ?? 1);
const CADENCE_S = 300;
const GOAL = { hosts: 20_000, rate: 20_000 / CADENCE_S, p99Ms: 200, overviewMs: 1000 };
const work = resolve("bench/.work/hub");
mkdirSync(work, { recursive: true, mode: 0o700 });

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const ms = (x) => (Number.isFinite(x) ? x.toFixed(1) : "-");
const pct = (x) => `${(x * 100).toFixed(0)}%`;

function startWorkers(n, data) {
  return Promise.all(
    Array.from({ length: n }, () => {
      const w = new Worker(new URL("./hosts-worker.mjs", import.meta.url), { workerData: data });
      const waiting = [];
      w.on("message", (m) => waiting.shift()?.(m));
      w.on("error", (err) => {
        console.error(`a load generator failed: ${err.stack ?? err.message}`);
        process.exit(1);
      });
      const ask = (m) => new Promise((r) => (waiting.push(r), w.postMessage(m)));
      return new Promise((r) => waiting.push(() => r({ w, ask })));
    }),
  );
}

/** The bytes the hub's tables take (leaf tables: a partitioned parent holds none), with their indexes and TOAST. */
async function hubBytes(pool) {
  const r = await pool.query("SELECT c.relname, pg_total_relation_size(c.oid) AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname LIKE 'hub%'");
  const by = Object.fromEntries(r.rows.map((x) => [x.relname, Number(x.bytes)]));
  return { total: Object.values(by).reduce((a, b) => a + b, 0), by };
}

async function enrolAll(pool, lib, gens) {
  const names = Array.from({ length: HOSTS }, (_, i) => `gl-app-${String(i + 1).padStart(5, "0")}.example.com`);
  const t0 = performance.now();
  const tokens = [];
  for (let i = 0; i < HOSTS; i += 16) {
    const batch = names.slice(i, i + 16).map(() => lib.makeEnrollToken(pool, { validForMs: 3600_000, actor: "bench/hub", note: "bench" }));
    tokens.push(...(await Promise.all(batch)).map((t) => t.token));
  }
  const tokenSecs = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const parts = await Promise.all(gens.map((g, k) => g.ask({ kind: "enroll", names: names.filter((_, i) => i % gens.length === k), tokens: tokens.filter((_, i) => i % gens.length === k), concurrency: 4 })));
  const secs = (performance.now() - t1) / 1000;
  const firstMs = parts.flatMap((p) => p.firstPushMs).sort((a, b) => a - b);
  const errors = parts.flatMap((p) => p.errors);
  const enrolled = parts.reduce((n, p) => n + p.firstPushes, 0);
  return { hosts: enrolled, tokenSecs, secs, errors, firstPushP50: percentile(firstMs, 50), firstPushP99: percentile(firstMs, 99), firstPushBytes: parts.reduce((n, p) => n + p.firstPushBytes, 0) / Math.max(1, enrolled), firstPushRecords: parts.reduce((n, p) => n + p.firstPushRecords, 0) / Math.max(1, enrolled) };
}

async function runStep(rate, gens, sampler, hosts) {
  const startAt = Date.now() + 300;
  await sampler.start();
  const parts = await Promise.all(gens.map((g) => g.ask({ kind: "step", rate: rate / gens.length, seconds: SECONDS, startAt, drainMs: 30_000 })));
  const cpu = await sampler.stop();
  const fromDue = Float64Array.from(parts.flatMap((p) => [...p.fromDue])).sort();
  const service = Float64Array.from(parts.flatMap((p) => [...p.service])).sort();
  const scheduled = parts.reduce((n, p) => n + p.scheduled, 0);
  const ok = parts.reduce((n, p) => n + p.ok, 0);
  const errors = {};
  for (const p of parts) for (const [k, v] of Object.entries(p.errors)) errors[k] = (errors[k] ?? 0) + v;
  const errorCount = Object.values(errors).reduce((a, b) => a + b, 0) + parts.reduce((n, p) => n + p.unfinished, 0);
  // achieved: pushes answered 200 per second of the time from the step's start to its last answer
  const span = Math.max(SECONDS, ...parts.map((p) => p.lastDoneAt / 1000));
  const achieved = ok / span;
  const s = {
    offered: rate,
    achieved,
    scheduled,
    ok,
    errors,
    errorCount,
    firstErrors: parts.flatMap((p) => p.firstErrors),
    p50: percentile(fromDue, 50),
    p99: percentile(fromDue, 99),
    max: fromDue[fromDue.length - 1],
    serviceP50: percentile(service, 50),
    serviceP99: percentile(service, 99),
    records: parts.reduce((n, p) => n + p.records, 0),
    bytes: parts.reduce((n, p) => n + p.bytes, 0),
    maxInFlight: parts.reduce((n, p) => n + p.maxInFlight, 0),
    hostsQueued: parts.reduce((n, p) => n + p.hostsQueued, 0),
    compression: (rate * CADENCE_S) / hosts,
    cpu,
  };
  // CPU milliseconds each part spent per push taken: steadier than the shares when other jobs load the machine
  const perPush = (share) => (s.ok ? (share * cpu.seconds * 1000) / s.ok : NaN);
  s.cpuMsPerPush = { hub: perPush(cpu.hub), postgres: perPush(cpu.postgres), generator: perPush(cpu.generator) };
  const why = [];
  if (s.p99 > P99_TARGET_MS) why.push(`p99 ${ms(s.p99)} ms > ${P99_TARGET_MS} ms`);
  if (achieved < 0.97 * rate) why.push(`achieved ${achieved.toFixed(1)}/s < offered`);
  if (errorCount > 0) why.push(`${errorCount} errors (${JSON.stringify(errors)}${s.firstErrors.length ? `: ${s.firstErrors[0]}` : ""})`);
  s.held = why.length === 0;
  s.why = why.join("; ");
  return s;
}

function printSteps(steps) {
  const rows = [["offered/s", "achieved/s", "held", "p50 ms", "p99 ms", "max ms", "service p50/p99 ms", "errors", "clock x", "hub", "postgres", "generator", "others", "machine busy", "CPU ms/push hub/pg/gen"]];
  for (const s of steps) {
    const c = s.cpuMsPerPush;
    rows.push([`${s.offered}${s.attempt > 1 ? " (again)" : ""}`, s.achieved.toFixed(1), s.held ? "yes" : `no: ${s.why}`, ms(s.p50), ms(s.p99), ms(s.max), `${ms(s.serviceP50)}/${ms(s.serviceP99)}`, s.errorCount, s.compression.toFixed(1), pct(s.cpu.hub), pct(s.cpu.postgres), pct(s.cpu.generator), pct(s.cpu.others), `${s.cpu.machineBusy.toFixed(2)} of ${s.cpu.cores.toFixed(1)}`, `${ms(c.hub)}/${ms(c.postgres)}/${ms(c.generator)}`]);
  }
  console.log(table(rows));
  console.log("(p50/p99/max: from the time a push was due to its answer; service: from sending it; clock x: time compression; CPU: share of one core over the step; others: the machine's busy time less the hub, its PostgreSQL backends and the generator)");
}

const db = await benchDatabase();
let hub;
let pool;
let gens = [];
try {
  console.log(`bench/hub: ${HOSTS} simulated hosts, ${WORKERS} generator threads, steps of ${SECONDS} s at ${RATES.join(", ")} pushes/s; p99 target ${P99_TARGET_MS} ms; database ${db.name}`);
  const libUrl = await bundleHubLib(work);
  const lib = await import(libUrl);
  const t0 = performance.now();
  const templates = await recordTemplates({ runs: TEMPLATE_RUNS });
  console.log(`record templates: a real store of ${templates.promises} promises, ${templates.stats.runs} runs at 5-minute intervals (${((performance.now() - t0) / 1000).toFixed(1)} s): ${JSON.stringify(templates.stats.kinds)}`);
  const steadyPushes = templates.pushes.slice(1);
  const steadyRecords = steadyPushes.reduce((n, p) => n + p.records.length, 0) / steadyPushes.length;
  hub = await startHubProcess(work, db, { poolSize: POOL, port: 20_000 + Math.floor(Math.random() * 20_000) });
  pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: "covenant-bench" });
  gens = await startWorkers(WORKERS, { libPath: libUrl, url: hub.url, ca: hub.ca, templates: templates.pushes.map((p) => ({ finished: p.finished, records: p.records })), templateHost: TEMPLATE_HOST, maxSockets: 64 });
  const enrolment = await enrolAll(pool, lib, gens);
  console.log(`enrolled ${enrolment.hosts} hosts (tokens ${enrolment.tokenSecs.toFixed(1)} s; enrolment and first push ${enrolment.secs.toFixed(1)} s): first push ${Math.round(enrolment.firstPushRecords)} records, ${(enrolment.firstPushBytes / 1024).toFixed(0)} KiB, p50 ${ms(enrolment.firstPushP50)} ms, p99 ${ms(enrolment.firstPushP99)} ms`);
  if (enrolment.errors.length) console.log(`  enrolment errors: ${enrolment.errors.length}, first: ${enrolment.errors[0]}`);
  await pool.query("CHECKPOINT").catch(() => undefined);
  const bytesBefore = await hubBytes(pool);
  const sampler = new CpuSampler(hub.pid, pool, db.name);
  const steps = [];
  for (const rate of RATES) {
    // a step that falls behind is run once more before the ramp stops: other jobs on the machine
    // come and go within seconds, and one burst of theirs should not end the ramp
    let s;
    for (let attempt = 1; attempt <= 1 + RETRIES; attempt++) {
      s = await runStep(rate, gens, sampler, enrolment.hosts);
      s.attempt = attempt;
      steps.push(s);
      console.log(`  ${rate}/s${attempt > 1 ? ` (again)` : ""}: achieved ${s.achieved.toFixed(1)}/s, p50 ${ms(s.p50)} ms, p99 ${ms(s.p99)} ms, errors ${s.errorCount}, CPU hub ${pct(s.cpu.hub)} postgres ${pct(s.cpu.postgres)} generator ${pct(s.cpu.generator)} others ${pct(s.cpu.others)}${s.held ? "" : `: fell behind (${s.why})`}`);
      await new Promise((r) => setTimeout(r, 2000));
      if (s.held || s.errorCount > 0) break;
    }
    if (!s.held) break;
  }
  const bytesAfter = await hubBytes(pool);
  const pushes = steps.reduce((n, s) => n + s.ok, 0);
  const hostDays = pushes / (86_400 / CADENCE_S);
  const perHostDay = (bytesAfter.total - bytesBefore.total) / hostDays;
  const held = steps.filter((s) => s.held);
  const sustained = held.length ? Math.max(...held.map((s) => s.offered)) : 0;
  const overview = await overviewPageTime(hub, pool, lib);
  const peakRssKB = hub.peakRssKB();
  console.log();
  printSteps(steps);
  console.log();
  console.log(`sustained: ${sustained} pushes/s = ${(sustained * CADENCE_S).toLocaleString("en")} hosts at a 5-minute cadence (the highest step held; a push is one run's records, ${steadyRecords.toFixed(2)} records on average)`);
  console.log(`PostgreSQL: ${(perHostDay / 1024).toFixed(0)} KiB per host-day (${((bytesAfter.total - bytesBefore.total) / 1048576).toFixed(1)} MiB over ${hostDays.toFixed(1)} simulated host-days, ${pushes} pushes; hub tables after: ${(bytesAfter.total / 1048576).toFixed(0)} MiB, of which each host's first push ${(bytesBefore.total / enrolment.hosts / 1024).toFixed(0)} KiB)`);
  console.log(`hub process peak RSS: ${(peakRssKB / 1024).toFixed(0)} MiB`);
  console.log(`overview page, with this fleet loaded:\n${describeOverview(overview)}`);
  // what CPU per push says the two cores could carry with nothing else on them: a projection, not a measurement
  const steady = steps.filter((s) => s.held && s.offered >= 25);
  const cpuPerPush = steady.length ? median(steady.map((s) => s.cpuMsPerPush.hub + s.cpuMsPerPush.postgres)) : NaN;
  if (Number.isFinite(cpuPerPush)) console.log(`CPU per push (hub + its PostgreSQL backends, median over held steps from 25/s): ${cpuPerPush.toFixed(2)} ms: two cores free of other work would carry at most ~${Math.floor(2000 / cpuPerPush)} pushes/s (a projection from CPU time, not measured)`);
  const atGoal = steps.find((s) => s.offered >= GOAL.rate);
  console.log();
  console.log(`goal (issue 18): at least ${GOAL.hosts.toLocaleString("en")} hosts sustained (${GOAL.rate.toFixed(1)} pushes/s): ${sustained >= GOAL.rate ? "met" : "NOT met"} (${(sustained * CADENCE_S).toLocaleString("en")})`);
  console.log(`goal: p99 push under ${GOAL.p99Ms} ms: ${atGoal ? `${atGoal.p99 < GOAL.p99Ms ? "met" : "NOT met"} at ${atGoal.offered}/s (p99 ${ms(atGoal.p99)} ms)` : "not measured (no step at the goal's rate)"}`);
  console.log(`goal: overview under ${GOAL.overviewMs} ms: ${overview.skipped ? "not measured" : overview.ms < GOAL.overviewMs ? "met" : "NOT met"} at ${enrolment.hosts.toLocaleString("en")} hosts (for 20,000: node bench/hub/overview.mjs)`);
  console.log("peer (published, not measured side by side: cf-hub is CFEngine Enterprise only): about 5,000 hosts per hub on 12+ cores, collecting every 5 minutes (about 17 pulls/s).");
  const results = { date: new Date().toISOString(), hosts: enrolment.hosts, workers: WORKERS, secondsPerStep: SECONDS, poolSize: POOL, p99TargetMs: P99_TARGET_MS, templates: { ...templates.stats, steadyRecordsPerPush: steadyRecords, policyBytes: templates.policyBytes }, enrolment, steps, sustained, sustainedHosts: sustained * CADENCE_S, cpuMsPerPush: cpuPerPush, bytes: { before: bytesBefore, after: bytesAfter, perHostDay, hostDays }, peakRssKB, overview };
  writeFileSync(join(work, "results.json"), JSON.stringify(results, null, 2));
} finally {
  for (const g of gens) g.w.postMessage({ kind: "stop" });
  await Promise.all(gens.map((g) => g.w.terminate()));
  await pool?.end().catch(() => undefined);
  if (hub) {
    const code = await hub.stop();
    if (code !== 0) console.log(`covenant hub serve exited ${code}: ${hub.log.join("").slice(-2000)}`);
  }
  if (!env.BENCH_HUB_KEEP_DB) await db.drop();
  else console.log(`database kept: ${db.url}`);
}
