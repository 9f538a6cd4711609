// Shared helpers for the benchmarks: timing whole commands, medians, peers' availability.
import { spawnSync } from "node:child_process";
import { ensureDebianTool as ensureDebianPackage, findProgram } from "../scripts/debian-package.mjs";

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

function runOnce(argv, env) {
  const t = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", ...argv], { encoding: "utf8", maxBuffer: 1 << 28, env });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  const m = /(\d+)\s*$/.exec(r.stderr);
  return { ms, rssKB: m ? Number(m[1]) : 0, status: r.status, output: r.stdout + r.stderr, stdout: r.stdout, stderr: r.stderr.replace(/\d+\s*$/, "") };
}

export function timeCommand(argv, runs = 7, hooks = {}) {
  const walls = [];
  let rss = 0;
  let status = 0;
  let output = "";
  for (let i = 0; i <= runs; i++) {
    hooks.before?.(i);
    const r = runOnce(argv, hooks.env ? { ...commandEnv, ...hooks.env } : commandEnv);
    status = r.status;
    output = r.output;
    rss = Math.max(rss, r.rssKB);
    if (i > 0) walls.push(r.ms);
    hooks.after?.({ status, output, stdout: r.stdout, stderr: r.stderr }, i);
  }
  return { ms: median(walls), walls, rssKB: rss, status, output };
}

/**
 * Times several commands against each other: in each round every command runs once, the order
 * reversed from one round to the next, after one warm-up round. The development VM's speed
 * drifts by tens of percent within minutes; timed one after the other, two commands would see
 * different machines, interleaved they see the same one. Returns timeCommand's result for each,
 * and how many of its timed runs failed. `before(i, k)` runs untimed before command k's run i.
 */
export function timeInterleaved(argvs, runs = 7, { before } = {}) {
  const results = argvs.map(() => ({ walls: [], rssKB: 0, status: 0, output: "", failed: 0 }));
  for (let i = 0; i <= runs; i++) {
    const order = argvs.map((_, k) => (i % 2 === 0 ? k : argvs.length - 1 - k));
    for (const k of order) {
      before?.(i, k);
      const r = runOnce(argvs[k], commandEnv);
      const acc = results[k];
      if (i > 0 && r.status !== 0) acc.failed++;
      acc.status = r.status;
      acc.output = r.output;
      acc.rssKB = Math.max(acc.rssKB, r.rssKB);
      if (i > 0) acc.walls.push(r.ms);
    }
  }
  return results.map((r) => ({ ...r, ms: median(r.walls) }));
}

/** Whether `cmd` is a program on PATH (found in JS, as `command -v` would: no shell). */
export function have(cmd) {
  return findProgram(cmd) !== undefined;
}

/**
 * Installs a Debian package when `needed` (a command on PATH, or a path: a file it ships) is
 * missing, as the tests' live cross-checks do (scripts/debian-package.mjs: as root only, no
 * service started, without recommends); says why when it could not.
 */
function ensureDebian(needed, pkg) {
  if (findProgram(needed)) return true;
  console.log(`${needed} is missing: installing Debian package ${pkg} ...`);
  const why = ensureDebianPackage(needed, pkg);
  if (why !== undefined) console.log(`  not installed: ${why}`);
  return why === undefined;
}

/** Installs a Debian package when its command is missing (the benchmark machines run as root). */
export function ensureDebianTool(cmd, pkg) {
  return ensureDebian(cmd, pkg);
}

/** Installs a Debian package when `path` (a file it ships, not a command) is missing. */
export function ensureDebianFile(path, pkg) {
  if (!path.startsWith("/")) throw new Error(`ensureDebianFile: ${path} is not an absolute path`);
  return ensureDebian(path, pkg);
}

export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i])).join("  ")).join("\n");
}
