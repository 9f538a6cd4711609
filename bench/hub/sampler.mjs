// Where the machine's CPU goes during a step, sampled every second from /proc: the hub process,
// the PostgreSQL backends serving the benchmark's database (found in pg_stat_activity), the
// load generator (this process: its main thread and its workers), and the whole machine, so
// that what other jobs took is seen too (total busy less the three).
import { readFileSync } from "node:fs";
import { clearInterval } from "node:timers";

const TICK_MS = 1000 / 100; // USER_HZ is 100 on Linux

function ticksOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]); // utime + stime (fields 14 and 15)
  } catch {
    return undefined;
  }
}

function machine() {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = cpu[3] + cpu[4];
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

export class CpuSampler {
  constructor(hubPid, pgPool, dbName) {
    this.hubPid = hubPid;
    this.pool = pgPool;
    this.db = dbName;
    this.backends = new Map();
  }

  async backendPids() {
    const r = await this.pool.query("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'covenant-hub'", [this.db]);
    return r.rows.map((x) => x.pid);
  }

  async start() {
    this.hub0 = ticksOf(this.hubPid) ?? 0;
    this.gen0 = process.cpuUsage();
    this.m0 = machine();
    this.pgTicks = 0;
    this.backends.clear();
    for (const pid of await this.backendPids()) this.backends.set(pid, ticksOf(pid) ?? 0);
    this.t0 = performance.now();
    this.timer = setInterval(() => void this.sample(), 1000);
  }

  async sample() {
    for (const [pid, last] of this.backends) {
      const now = ticksOf(pid);
      if (now === undefined) continue;
      this.pgTicks += now - last;
      this.backends.set(pid, now);
    }
    for (const pid of await this.backendPids().catch(() => [])) if (!this.backends.has(pid)) this.backends.set(pid, ticksOf(pid) ?? 0);
  }

  /** CPU shares over the window, as fractions of one core. */
  async stop() {
    clearInterval(this.timer);
    await this.sample();
    const secs = (performance.now() - this.t0) / 1000;
    const gen = process.cpuUsage(this.gen0);
    const m = machine();
    const cores = (m.total - this.m0.total) / secs / 100;
    const busy = (m.busy - this.m0.busy) / 100 / secs;
    const hub = (((ticksOf(this.hubPid) ?? 0) - this.hub0) * TICK_MS) / 1000 / secs;
    const postgres = (this.pgTicks * TICK_MS) / 1000 / secs;
    const generator = (gen.user + gen.system) / 1e6 / secs;
    return { seconds: secs, cores, machineBusy: busy, hub, postgres, generator, others: Math.max(0, busy - hub - postgres - generator) };
  }
}
