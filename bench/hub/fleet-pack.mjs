// ---- FLEET EVIDENCE PACK ------------------------------------------------------------------------
// The fleet evidence pack's time and peak memory (`covenant hub evidence`, the same build the
// evidence.export route runs) over a fleet whose records are in PostgreSQL as pushes leave them.
//
// `node bench/hub/fleet-pack.mjs` loads BENCH_FLEET_HOSTS (200) hosts × BENCH_FLEET_DAYS (30) days
// into a database of its own: each host's records are bench/hub/records.mjs's real store (a
// 209-promise policy run every 5 minutes, an incident a run, deliveries and acknowledgements),
// renumbered, moved in time and renamed per host as push-builder.mjs does, with the hub's chain
// computed over each line as the hub computes it on receipt (so each host's chain verifies), and
// inserted with unnest() a batch at a time. Then it runs the built CLI (BENCH_FLEET_CLI, default
// bin/covenant) under /usr/bin/time for each period of BENCH_FLEET_PERIODS (days, default
// "5,30": 1,000 and 6,000 host-days at 200 hosts), reports the wall time and peak RSS of making
// the pack, and of `covenant evidence verify` on its .tar.gz. BENCH_FLEET_DB=URL reuses a database
// loaded before (kept with BENCH_FLEET_KEEP=1), so that two builds can be compared on one load.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import pg from "pg";
import { benchDatabase, bundleHubLib } from "./hub-process.mjs";
import { recordTemplates, TEMPLATE_HOST } from "./records.mjs";
import { commandEnv } from "../lib.mjs";

const HOSTS = Number(process.env.BENCH_FLEET_HOSTS ?? 200);
const DAYS = Number(process.env.BENCH_FLEET_DAYS ?? 30);
const PERIODS = (process.env.BENCH_FLEET_PERIODS ?? "5,30").split(",").map(Number);
const CLI = resolve(process.env.BENCH_FLEET_CLI ?? "bin/covenant");
const START = Date.parse("2026-11-01T00:00:00.000Z");
const RUNS_A_DAY = 288;
const BATCH = 4_000;
const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;

/** Inserts one host's DAYS of records (chained as the hub chains them) and its hub_hosts row. */
async function loadHost(pool, lib, templates, i) {
  const id = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
  const name = `host-${String(i).padStart(4, "0")}`;
  const steady = templates.length - 1;
  let chain = lib.hubChainStart(id);
  let seq = 0;
  let rows = [];
  const flush = async () => {
    if (rows.length === 0) return;
    const col = (k) => rows.map((r) => r[k]);
    await pool.query(
      "INSERT INTO hub_records (host_id, epoch, seq, kind, run, host_time, received_at, chain, line) SELECT $1::uuid, 0, * FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[], $7::bytea[], $8::text[])",
      [id, col(0), col(1), col(2), col(3), col(4), col(5), col(6)],
    );
    rows = [];
  };
  for (let k = 0; k < DAYS * RUNS_A_DAY; k++) {
    const cycle = k === 0 ? 0 : Math.floor((k - 1) / steady);
    const tpl = templates[k === 0 ? 0 : 1 + ((k - 1) % steady)];
    const shift = START + k * 300_000 + 250_000 - tpl.finished;
    const move = (iso) => new Date(Date.parse(iso) + shift).toISOString();
    const runOffset = cycle * steady;
    for (const r of tpl.records) {
      seq++;
      const run = r.run === 0 ? 0 : r.run + runOffset;
      let body = r.body.replace(ISO, move);
      if (body.includes(TEMPLATE_HOST)) body = body.replaceAll(TEMPLATE_HOST, name);
      if (runOffset && r.kind === "run") body = body.replace(/^\{"run":\d+/, `{"run":${run}`);
      const time = move(r.time);
      const line = lib.extractLine({ seq, kind: r.kind, run, time, body, mac: r.mac.toString("hex") });
      chain = lib.hubChainNext(chain, line);
      rows.push([seq, r.kind, run, time, new Date(Date.parse(time) + 2_000), chain, line]);
      if (rows.length >= BATCH) await flush();
    }
  }
  await flush();
  await pool.query(
    "INSERT INTO hub_hosts (id, name, public_key, fingerprint, host_group, enrolled_at, last_seq, last_chain, records, last_push_at) VALUES ($1, $2, decode(md5($2::text) || md5($1::uuid::text), 'hex'), 'sha256:' || md5($2::text), $3, $4, $5, $6, $5, $7)",
    [id, name, `group-${i % 10}`, new Date(START - 86_400_000), seq, chain, new Date(START + DAYS * 86_400_000)],
  );
  return seq;
}

async function load(pool, lib) {
  const templates = (await recordTemplates({ runs: RUNS_A_DAY + 1 })).pushes;
  const started = performance.now();
  let records = 0;
  for (let i = 1; i <= HOSTS; i++) {
    records += await loadHost(pool, lib, templates, i);
    if (i % 20 === 0) console.log(`  loaded ${i} hosts, ${records.toLocaleString("en")} records, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  await pool.query("ANALYZE");
  const size = (await pool.query("SELECT pg_total_relation_size('hub_records_default') AS b")).rows[0].b;
  console.log(`loaded ${HOSTS} hosts × ${DAYS} days: ${records.toLocaleString("en")} records, ${(Number(size) / 2 ** 30).toFixed(2)} GiB in hub_records, ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

function run(args) {
  const file = join(process.env.BENCH_FLEET_WORK ?? "bench/.work/hub-fleet-pack", `time-${process.pid}.txt`);
  try {
    execFileSync("/usr/bin/time", ["-f", "%e %M", "-o", file, CLI, ...args], { env: commandEnv, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024 });
  } catch (err) {
    throw new Error(`covenant ${args.slice(0, 2).join(" ")}: ${String(err.stderr ?? err.message).slice(0, 2000)}`);
  }
  const [secs, kb] = execFileSync("cat", [file], { encoding: "utf8" }).trim().split(/\s+/).map(Number);
  rmSync(file, { force: true });
  return { secs, rssMiB: kb / 1024 };
}

async function main() {
  const work = resolve(process.env.BENCH_FLEET_WORK ?? "bench/.work/hub-fleet-pack");
  mkdirSync(work, { recursive: true, mode: 0o700 });
  const lib = await import(await bundleHubLib(work));
  const db = process.env.BENCH_FLEET_DB ? { url: process.env.BENCH_FLEET_DB, drop: async () => undefined, name: "given" } : await benchDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 2, application_name: "covenant-bench-fleet-pack" });
  try {
    if (!process.env.BENCH_FLEET_DB) {
      const c = await pool.connect();
      try {
        await lib.migrate(c);
      } finally {
        c.release();
      }
      await load(pool, lib);
    }
    const hosts = (await pool.query("SELECT count(*)::int AS n FROM hub_hosts")).rows[0].n;
    const keyPath = join(work, "hub-signing.key");
    rmSync(keyPath, { force: true });
    const key = lib.hubSigningKey(keyPath, true);
    const config = join(work, "hub.yaml");
    writeFileSync(config, `listen:\n  host: 127.0.0.1\n  port: 8443\ntls:\n  cert: hub.pem\n  key: hub.key\ndatabase:\n  url: ${db.url}\n  poolSize: 2\nclockTolerance: 2m\nsigningKey: ${keyPath}\n`, { mode: 0o600 });
    const pub = join(work, "hub.pub.pem");
    writeFileSync(pub, key.publicKey.export({ type: "spki", format: "pem" }));
    console.log(`CLI: ${CLI}`);
    for (const days of PERIODS) {
      const to = new Date(START + (days - 1) * 86_400_000).toISOString().slice(0, 10);
      const out = join(work, `pack-${days}`);
      rmSync(out, { recursive: true, force: true });
      rmSync(`${out}.tar.gz`, { force: true });
      const made = run(["hub", "evidence", "--config", config, "--from", "2026-11-01", "--to", to, "--out", out]);
      const gz = statSync(`${out}.tar.gz`).size;
      console.log(`${hosts} hosts × ${days} days (${(hosts * days).toLocaleString("en")} host-days): pack made in ${made.secs.toFixed(1)} s, peak RSS ${made.rssMiB.toFixed(0)} MiB; .tar.gz ${(gz / 2 ** 20).toFixed(0)} MiB`);
      try {
        const verified = run(["evidence", "verify", `${out}.tar.gz`, "--public-key", pub]);
        console.log(`  verified in ${verified.secs.toFixed(1)} s, peak RSS ${verified.rssMiB.toFixed(0)} MiB`);
      } catch (err) {
        console.log(`  not verified: ${err.message.split("\n")[0]}`);
      }
      rmSync(out, { recursive: true, force: true });
      rmSync(`${out}.tar.gz`, { force: true });
    }
  } finally {
    await pool.end();
    if (process.env.BENCH_FLEET_KEEP || process.env.BENCH_FLEET_DB) console.log(`database kept: ${db.url}`);
    else await db.drop();
  }
}

await main();
