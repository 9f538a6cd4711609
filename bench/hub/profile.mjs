// Where one push's milliseconds go, in process (no HTTP): the hub's own takePush against the
// machine's PostgreSQL (a database of its own), pushes of bench/hub's records one at a time,
// every SQL statement timed as the hub's connection sends it; then each CPU step of the push path
// alone over the same bodies (signature, JSON, shape, reading and chaining the records); then the
// same pushes with the commit not waiting for the WAL flush (synchronous_commit off, for this
// measurement only), to show what the flush costs. `node bench/hub/profile.mjs` (after a build).
// Knobs: BENCH_HUB_PROFILE_PUSHES (1500), BENCH_HUB_PROFILE_HOSTS (50).
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import pg from "pg";
import { median, table } from "../lib.mjs";
import { benchDatabase, bundleHubLib } from "./hub-process.mjs";
import { accepted, makePushBuilder } from "./push-builder.mjs";
import { recordTemplates, TEMPLATE_HOST } from "./records.mjs";

const PUSHES = Number(process.env.BENCH_HUB_PROFILE_PUSHES ?? 1500);
const HOSTS = Number(process.env.BENCH_HUB_PROFILE_HOSTS ?? 50);
const work = resolve("bench/.work/hub");
mkdirSync(work, { recursive: true, mode: 0o700 });

/** A statement's label: which step of the push path it is. */
function label(sql) {
  const s = String(typeof sql === "object" ? sql.text : sql).replace(/\s+/g, " ").trim();
  if (s.startsWith("SELECT public_key")) return "1 host's key (pool)";
  if (s === "BEGIN") return "2 BEGIN";
  if (s.includes("FOR UPDATE")) return "3 host row FOR UPDATE";
  if (s.startsWith("SELECT seq, chain")) return "4 overlap (records held)";
  if (s.startsWith("INSERT INTO hub_records")) return "5 INSERT records";
  if (s.startsWith("UPDATE hub_hosts") || s.startsWith("WITH clock_back")) return "6 UPDATE host";
  if (s.startsWith("UPDATE hub_incidents")) return "7 clock incident closed";
  if (s === "COMMIT") return "8 COMMIT (WAL flush)";
  return `? ${s.slice(0, 40)}`;
}

/** The pool as takePush uses it, each statement timed into `timings` (label → ms list). */
function timedPool(pool, timings) {
  const timed = (q) => async (...args) => {
    const t = performance.now();
    try {
      return await q(...args);
    } finally {
      const key = label(args[0]);
      (timings.get(key) ?? timings.set(key, []).get(key)).push(performance.now() - t);
    }
  };
  return {
    query: timed((...a) => pool.query(...a)),
    async connect() {
      const c = await pool.connect();
      return new Proxy(c, { get: (target, k) => (k === "query" ? timed((...a) => target.query(...a)) : typeof target[k] === "function" ? target[k].bind(target) : target[k]) });
    },
  };
}

async function enrolHosts(lib, pool, nextPush) {
  const hosts = [];
  for (let i = 0; i < HOSTS; i++) {
    const { token } = await lib.makeEnrollToken(pool, { validForMs: 600_000, actor: "bench/hub profile" });
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const name = `gl-app-${String(i + 1).padStart(5, "0")}.example.com`;
    const bytes = lib.encodeBody({ protocol: lib.PROTOCOL, version: lib.PROTOCOL_VERSION, kind: "enroll", token, name, publicKey: lib.rawPublicKey(publicKey).toString("base64"), sentAt: new Date().toISOString() });
    const r = await lib.takeEnrollment(pool, bytes, lib.signBody(bytes, privateKey));
    if (r.status !== 201) throw new Error(`enrolment refused: ${JSON.stringify(r.body)}`);
    const h = { name, id: r.body.host, privateKey, fingerprint: lib.fingerprintOf(publicKey), seq: 0, chain: lib.hubChainStart(r.body.host), next: 0, raw: lib.rawPublicKey(publicKey) };
    const first = nextPush(h);
    const took = await lib.takePush(pool, first.bytes, h.id, first.signature, { clockToleranceMs: 120_000 });
    if (took.status !== 200) throw new Error(`first push refused: ${JSON.stringify(took.body)}`);
    accepted(h, first);
    hosts.push(h);
  }
  return hosts;
}

function backendTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

/**
 * `count` steady pushes one at a time through takePush, each push's ms and each statement's added
 * to `into`, with the CPU the hub's side (this process, the pushes built beforehand) and its
 * PostgreSQL backend (the pool's one connection) spent on them.
 */
async function sequentialPushes(lib, pool, hosts, nextPush, count, into = { totals: [], timings: new Map(), hubCpuMs: 0, pgCpuMs: 0 }) {
  const { totals, timings } = into;
  const tp = timedPool(pool, timings);
  const built = [];
  for (let i = 0; i < count; i++) {
    const h = hosts[i % hosts.length];
    const p = nextPush(h);
    accepted(h, p);
    built.push({ h, p });
  }
  const backend = (await pool.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
  const pg0 = backendTicks(backend);
  const cpu0 = process.cpuUsage();
  for (const { h, p } of built) {
    const t = performance.now();
    const r = await lib.takePush(tp, p.bytes, h.id, p.signature, { clockToleranceMs: 120_000 });
    totals.push(performance.now() - t);
    if (r.status !== 200) throw new Error(`push refused: ${JSON.stringify(r.body)}`);
  }
  const cpu = process.cpuUsage(cpu0);
  into.hubCpuMs += (cpu.user + cpu.system) / 1000;
  into.pgCpuMs += (backendTicks(backend) - pg0) * 10;
  return into;
}

/** Each CPU step of the push path over the same bodies, µs per push (median of 5 passes). */
function cpuSteps(lib, hosts, nextPush) {
  const bodies = [];
  for (let i = 0; i < 1000; i++) {
    const h = hosts[i % hosts.length];
    const p = nextPush(h);
    accepted(h, p);
    bodies.push({ ...p, raw: h.raw });
  }
  const parsed = bodies.map((b) => JSON.parse(b.bytes.toString("utf8")));
  const steps = {
    "signature (Ed25519 verify)": () => bodies.forEach((b) => lib.signatureHolds(b.bytes, b.signature, lib.hostKey(b.raw))),
    "JSON.parse of the body": () => bodies.forEach((b) => JSON.parse(b.bytes.toString("utf8"))),
    "shape check": () => parsed.forEach((p) => lib.pushShapeProblem(p)),
    "records read and chained (sha256)": () =>
      parsed.forEach((p) => {
        let c = Buffer.from(p.after.chain, "hex");
        for (const line of p.records) {
          lib.readPushedLine(line);
          c = lib.hubChainNext(c, line);
        }
      }),
  };
  const out = {};
  for (const [name, f] of Object.entries(steps)) {
    const passes = [];
    for (let k = 0; k < 6; k++) {
      const t = performance.now();
      f();
      if (k > 0) passes.push(((performance.now() - t) * 1000) / bodies.length);
    }
    out[name] = median(passes);
  }
  return { perPush: out, bytes: median(bodies.map((b) => b.bytes.length)), records: median(bodies.map((b) => b.records)) };
}

const db = await benchDatabase();
const pools = [];
try {
  const lib = await import(await bundleHubLib(work));
  const templates = await recordTemplates({ runs: 300 });
  const nextPush = makePushBuilder(lib, templates.pushes.map((p) => ({ finished: p.finished, records: p.records })), TEMPLATE_HOST);
  const pool = lib.makePool({ url: db.url, size: 1, log: console.log });
  pools.push(pool);
  const c = await pool.connect();
  await lib.migrate(c);
  await lib.ensureMonthPartitions(c, new Date());
  c.release();
  const hosts = await enrolHosts(lib, pool, nextPush);
  const noFlush = new pg.Pool({ connectionString: db.url, max: 1, options: "-c synchronous_commit=off" });
  pools.push(noFlush);
  await sequentialPushes(lib, pool, hosts, nextPush, 200); // warm-up
  await sequentialPushes(lib, noFlush, hosts, nextPush, 50);
  // the two interleaved in blocks of 50: the machine's speed drifts within minutes
  const on = { totals: [], timings: new Map(), hubCpuMs: 0, pgCpuMs: 0 };
  const off = { totals: [], timings: new Map(), hubCpuMs: 0, pgCpuMs: 0 };
  for (let done = 0; done < PUSHES; done += 50) {
    await sequentialPushes(lib, pool, hosts, nextPush, 50, on);
    await sequentialPushes(lib, noFlush, hosts, nextPush, 50, off);
  }
  const cpu = cpuSteps(lib, hosts, nextPush);
  const rows = [["step", "median ms", "p99 ms", "calls per push", "median ms, no flush"]];
  for (const key of [...on.timings.keys()].sort()) {
    const xs = [...on.timings.get(key)].sort((a, b) => a - b);
    rows.push([key, median(xs).toFixed(3), xs[Math.ceil(xs.length * 0.99) - 1].toFixed(3), (xs.length / on.totals.length).toFixed(2), median(off.timings.get(key) ?? [NaN]).toFixed(3)]);
  }
  const total = [...on.totals].sort((a, b) => a - b);
  const totalOff = [...off.totals].sort((a, b) => a - b);
  console.log(`bench/hub profile: ${on.totals.length} steady pushes (and as many with no flush, interleaved) one at a time through takePush (no HTTP), ${HOSTS} hosts, a push ${cpu.records} records, ${cpu.bytes} bytes`);
  console.log(table(rows));
  const statements = [...on.timings.values()].reduce((n, xs) => n + median(xs) * (xs.length / on.totals.length), 0);
  console.log(`whole takePush: median ${median(total).toFixed(2)} ms, p99 ${total[Math.ceil(total.length * 0.99) - 1].toFixed(2)} ms (statements' medians summed: ${statements.toFixed(2)} ms)`);
  console.log(`CPU per push: the hub's side ${(on.hubCpuMs / on.totals.length).toFixed(2)} ms (takePush and its client, no HTTP), its PostgreSQL backend ${(on.pgCpuMs / on.totals.length).toFixed(2)} ms (${on.totals.length} pushes; /proc ticks of 10 ms)`);
  console.log(`with synchronous_commit off (the WAL flush not awaited): median ${median(totalOff).toFixed(2)} ms, p99 ${totalOff[Math.ceil(totalOff.length * 0.99) - 1].toFixed(2)} ms`);
  console.log("CPU steps, µs per push (median of 5 passes over 1,000 bodies):");
  console.log(table([["step", "µs"], ...Object.entries(cpu.perPush).map(([k, v]) => [k, v.toFixed(1)])]));
} finally {
  for (const p of pools) await p.end().catch(() => undefined);
  await db.drop();
}
