// bench/hub-monitor: the time of one fleet monitor round against a loaded fleet, in a database of
// its own on the PostgreSQL at 127.0.0.1:5432 (COVENANT_TEST_PG to use another). The fleet is
// written straight into the tables (as pushes would derive it): N hosts each with eleven run
// finish times 5 minutes apart, 1% of them silent, 200 promise states each, and in the window one
// change per host (to drift on one host in 500) plus a wave (one control to drift on 5% of the hosts). Rounds have no
// covenant.yaml (judging and moving deficiencies only: delivery is bench/notify's).
//   npx tsx bench/hub-monitor/round.ts [hosts=20000] [rounds=5]
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { migrate } from "../../src/hub/db/migrations.js";
import { loadHubConfig } from "../../src/hub/config.js";
import { FleetMonitor } from "../../src/hub/monitor/monitor.js";
import { readMonitorSettings } from "../../src/hub/monitor/settings.js";

const hosts = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 5);
const admin = process.env["COVENANT_TEST_PG"] ?? "postgres://postgres@127.0.0.1:5432/postgres";
void loadHubConfig; // the settings are hub.yaml's defaults

async function main(): Promise<void> {
  const name = `covenant_bench_${randomBytes(4).toString("hex")}`;
  const a = new pg.Client({ connectionString: admin });
  await a.connect();
  await a.query(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  pool.on("error", () => undefined);
  try {
    const c = await pool.connect();
    await migrate(c);
    c.release();
    const now = Date.now();
    const t0 = Date.now();
    // hosts, in batches: a push every 5 minutes, the last within the cadence except for 1%
    for (let from = 0; from < hosts; from += 2000) {
      const n = Math.min(2000, hosts - from);
      const ids = Array.from({ length: n }, () => randomUUID());
      const runs = Array.from({ length: 11 }, (_, i) => new Date(now - (11 - i) * 300_000).toISOString());
      await pool.query(
        `INSERT INTO hub_hosts (id, name, public_key, fingerprint, last_chain, last_push_at, recent_runs, learned_every_ms)
         SELECT u.id, 'host-' || lpad((u.i + $2)::text, 6, '0'), decode(md5(u.id::text) || md5(u.id::text), 'hex'), 'fp-' || u.id, '\\x00', 
                CASE WHEN (u.i + $2) % 100 = 0 THEN $3::timestamptz ELSE $4::timestamptz END, $5, 300000
         FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, i)`,
        [ids, from, new Date(now - 3 * 3600_000), new Date(now - 60_000), runs],
      );
      await pool.query(
        `INSERT INTO hub_promise_state (host_id, key, control, type, promiser, outcome, since, seq, reason)
         SELECT h, 'k' || p, 'CTL-' || (p % 50), 'file', '/etc/f' || p, 'kept', '', p, '' FROM unnest($1::uuid[]) AS h, generate_series(1, 200) AS p`,
        [ids],
      );
      await pool.query(
        `INSERT INTO hub_changes (host_id, seq, key, control, from_outcome, to_outcome, host_time, received_at)
         SELECT u.h, 1, 'k1', CASE WHEN u.i % 20 = 0 THEN 'CTL-WAVE' ELSE 'CTL-' || (u.i % 50) END, 'kept', CASE WHEN u.i % 20 = 0 OR u.i % 500 = 1 THEN 'drift' ELSE 'kept' END, '', $2
         FROM unnest($1::uuid[]) WITH ORDINALITY AS u(h, i)`,
        [ids, new Date(now - 120_000)],
      );
    }
    await pool.query("ANALYZE");
    console.log(`fleet of ${hosts} hosts written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const settings = readMonitorSettings({}, "/", (m) => {
      throw new Error(m);
    });
    const monitor = new FleetMonitor({ settings, connection: { url: url.toString(), log: () => undefined }, now: () => now, log: () => undefined });
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const started = process.hrtime.bigint();
      const round = await monitor.round();
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (r === 0) console.log(`first round: opened ${round?.moves.opened.length} deficiencies`);
    }
    await monitor.stop();
    const sorted = [...times].sort((x, y) => x - y);
    console.log(`rounds (ms): first ${times[0]!.toFixed(0)}, then median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)}`);
    console.log(`rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
  } finally {
    await pool.end();
    await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await a.end();
  }
}

await main();
