// The cost of one holders scan (src/probes/file-holders.ts), the watcher's per-batch look at
// who has the changed files open: (1) a fixture /proc of PROCS processes × FDS descriptors
// (symbolic links to real files: stat follows them as it follows the kernel's fd links), and
// (2) the real /proc with REAL real processes (perl) holding FDS descriptors each. Each /proc is
// scanned by both engines (src/probes/fd-scan.ts), alternately: the native scan on libuv's
// threadpool and the JavaScript one; for each, the median time of a scan, the median CPU time
// the process spent on it (all threads: the threadpool's included; steadier than the time on a
// loaded machine), and the longest the event loop went without a turn during it (a 1 ms
// timer's largest gap).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scanHolders, targetsOf } from "../../src/probes/file-holders.ts";
import type { ScanEngine } from "../../src/probes/fd-scan.ts";
import { fdScan, fdScanUnavailableReason } from "../../src/native/fd-scan.ts";

const PROCS = Number(process.env.BENCH_PROCS ?? 5000);
const FDS = Number(process.env.BENCH_FDS ?? 100);
const REAL = Number(process.env.BENCH_REAL ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 9);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** what is timed: the JavaScript scan, the native one on one thread, and on two (the default on a host of 3 or more processors) */
interface Variant {
  name: string;
  engine: ScanEngine;
  threads?: number;
}
const engines: Variant[] = [...(fdScan() ? [{ name: "native", engine: "native" as const, threads: 1 }, { name: "native, 2 threads", engine: "native" as const, threads: 2 }] : []), { name: "js", engine: "js" }];
if (!fdScan()) console.log(`the native scan is not measured: ${fdScanUnavailableReason()}`);

interface Timing {
  ms: number;
  cpuMs: number;
  /** the longest the event loop went without a turn during a scan, ms */
  blockedMs: number;
  processes: number;
  descriptors: number;
}

async function timeScans(roots: { proc: string; etc: string }, paths: string[]): Promise<Map<string, Timing>> {
  const times = new Map<string, number[]>(engines.map((e) => [e.name, []]));
  const cpu = new Map<string, number[]>(engines.map((e) => [e.name, []]));
  const blocked = new Map<string, number>(engines.map((e) => [e.name, 0]));
  const last = new Map<string, { processes: number; descriptors: number }>();
  for (const { engine, threads } of engines) await scanHolders(roots, targetsOf(paths), { engine, ...(threads ? { threads } : {}) }); // warm-up
  for (let i = 0; i < RUNS; i++) {
    for (const { name, engine, threads } of engines) {
      let tick = performance.now();
      let gap = 0;
      const timer = setInterval(() => {
        const t = performance.now();
        gap = Math.max(gap, t - tick);
        tick = t;
      }, 1);
      const t = process.hrtime.bigint();
      const used = process.cpuUsage();
      const scan = await scanHolders(roots, targetsOf(paths), { engine, ...(threads ? { threads } : {}) });
      times.get(name)!.push(Number(process.hrtime.bigint() - t) / 1e6);
      const { user, system } = process.cpuUsage(used);
      cpu.get(name)!.push((user + system) / 1000);
      gap = Math.max(gap, performance.now() - tick);
      clearInterval(timer);
      blocked.set(name, Math.max(blocked.get(name)!, gap));
      last.set(name, { processes: scan.processes, descriptors: scan.descriptors });
    }
  }
  return new Map(engines.map(({ name }) => [name, { ms: median(times.get(name)!), cpuMs: median(cpu.get(name)!), blockedMs: blocked.get(name)!, ...last.get(name)! }]));
}

function report(what: string, timings: Map<string, Timing>): void {
  for (const [engine, t] of timings) {
    console.log(`${what}, ${engine} scan: ${t.processes} processes, ${t.descriptors} descriptors, 10 paths: ${t.ms.toFixed(1)} ms per scan, ${t.cpuMs.toFixed(1)} ms of CPU (medians of ${RUNS}), ${((t.cpuMs * 1000) / Math.max(t.descriptors, 1)).toFixed(2)} µs of CPU per descriptor; event loop held at most ${t.blockedMs.toFixed(1)} ms at a time`);
  }
  const native = timings.get("native");
  const js = timings.get("js");
  const two = timings.get("native, 2 threads");
  if (native && js) console.log(`${what}: the native scan takes ${((native.ms / js.ms) * 100).toFixed(0)}% of the JavaScript scan's time and ${((native.cpuMs / js.cpuMs) * 100).toFixed(0)}% of its CPU${two ? `; on 2 threads ${((two.ms / js.ms) * 100).toFixed(0)}% of its time` : ""}`);
}

const work = mkdtempSync(join(tmpdir(), "covenant-bench-who-"));
const files = Array.from({ length: FDS }, (_, i) => join(work, `f${i}`));
for (const f of files) writeFileSync(f, "");
const watched = files.slice(0, 10);

// (1) the fixture
const proc = join(work, "proc");
for (let p = 1; p <= PROCS; p++) {
  mkdirSync(join(proc, String(p), "fd"), { recursive: true });
  writeFileSync(join(proc, String(p), "stat"), `${p} (app) S 1 ${p} ${p} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0\n`);
  writeFileSync(join(proc, String(p), "status"), "Name:\tapp\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n");
  writeFileSync(join(proc, String(p), "cmdline"), "app\0");
  for (let d = 0; d < FDS; d++) symlinkSync(files[(p + d) % FDS]!, join(proc, String(p), "fd", String(d)));
}
writeFileSync(join(proc, "locks"), "");
report("fixture /proc", await timeScans({ proc, etc: "/etc" }, watched));
// (0) the real /proc as it is, before the perl processes
report("real /proc, as it is", await timeScans({ proc: "/proc", etc: "/etc" }, watched));

// (2) the real /proc, with REAL perl processes holding FDS descriptors each
const children: ChildProcess[] = [];
const code = `my @h; for my $f (@ARGV) { open(my $x, "<", $f) or die; push @h, $x } $| = 1; print "ready\\n"; sleep 600`;
await Promise.all(
  Array.from({ length: REAL }, () => {
    const c = spawn("/usr/bin/perl", ["-e", code, ...files.slice(0, FDS - 3)], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(c);
    return new Promise<void>((resolve) => c.stdout!.on("data", () => resolve()));
  }),
);
report(`real /proc with ${REAL} perl`, await timeScans({ proc: "/proc", etc: "/etc" }, watched));
for (const c of children) c.kill("SIGKILL");
rmSync(work, { recursive: true, force: true });
