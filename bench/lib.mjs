// Shared helpers for the benchmarks: timing whole commands, medians, peers' availability.
import { spawnSync } from "node:child_process";

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs argv `runs` times (after one warm-up); returns median wall ms, every timed wall, peak RSS
 * KB and the last exit code. `hooks.before(i)` runs untimed before each run (i = 0 is the
 * warm-up), to set the scene; `hooks.after(result, i)` runs after each, to check what the
 * command did (it throws to fail the benchmark). `hooks.env` adds to the environment.
 */
/**
 * The environment whole commands are timed in: the benchmark's own, less NODE_EXTRA_CA_CERTS.
 * Development machines set it for an HTTPS proxy's certificate authority; Node then loads and
 * parses that bundle at every start (about 70 ms on the benchmark VM, twice Node's own start-up),
 * whatever the program does. A host's cron job or systemd unit does not inherit it, and neither
 * peer pays it, so it would measure the machine, not Covenant. Set BENCH_KEEP_ENV=1 to keep it.
 */
export const commandEnv = (() => {
  const env = { ...process.env };
  if (!process.env.BENCH_KEEP_ENV) delete env.NODE_EXTRA_CA_CERTS;
  return env;
})();
if (process.env.NODE_EXTRA_CA_CERTS && !process.env.BENCH_KEEP_ENV) {
  console.log("note: whole commands are timed without NODE_EXTRA_CA_CERTS, as a cron job runs them (BENCH_KEEP_ENV=1 keeps it)");
}

export function timeCommand(argv, runs = 7, hooks = {}) {
  const walls = [];
  let rss = 0;
  let status = 0;
  let output = "";
  for (let i = 0; i <= runs; i++) {
    hooks.before?.(i);
    const t = process.hrtime.bigint();
    const r = spawnSync("/usr/bin/time", ["-f", "%M", ...argv], { encoding: "utf8", maxBuffer: 1 << 28, env: hooks.env ? { ...commandEnv, ...hooks.env } : commandEnv });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    status = r.status;
    output = r.stdout + r.stderr;
    const m = /(\d+)\s*$/.exec(r.stderr);
    if (m) rss = Math.max(rss, Number(m[1]));
    if (i > 0) walls.push(ms);
    hooks.after?.({ status, output, stdout: r.stdout, stderr: r.stderr.replace(/\d+\s*$/, "") }, i);
  }
  return { ms: median(walls), walls, rssKB: rss, status, output };
}

export function have(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

/** Installs a Debian package when its command is missing (the benchmark machines run as root). */
export function ensureDebianTool(cmd, pkg) {
  if (have(cmd)) return true;
  console.log(`${cmd} is missing: installing Debian package ${pkg} ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  spawnSync("apt-get", ["install", "-y", "-qq", pkg], { stdio: "inherit", env });
  return have(cmd);
}

export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i])).join("  ")).join("\n");
}
