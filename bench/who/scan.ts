// The cost of one holders scan (src/probes/file-holders.ts), the watcher's per-batch look at
// who has the changed files open: (1) a fixture /proc of PROCS processes × FDS descriptors
// (symbolic links to real files: stat follows them as it follows the kernel's fd links), and
// (2) the real /proc with REAL real processes (perl) holding FDS descriptors each.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scanHolders, targetsOf } from "../../src/probes/file-holders.ts";

const PROCS = Number(process.env.BENCH_PROCS ?? 5000);
const FDS = Number(process.env.BENCH_FDS ?? 100);
const REAL = Number(process.env.BENCH_REAL ?? 200);
const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeScan(roots: { proc: string; etc: string }, paths: string[]) {
  const times: number[] = [];
  let last;
  scanHolders(roots, targetsOf(paths)); // warm-up
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    last = scanHolders(roots, targetsOf(paths));
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return { ms: median(times), processes: last!.processes, descriptors: last!.descriptors };
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
const fixture = timeScan({ proc, etc: "/etc" }, watched);
console.log(`fixture /proc: ${fixture.processes} processes, ${fixture.descriptors} descriptors, 10 paths: ${fixture.ms.toFixed(0)} ms per scan (median of ${RUNS}), ${((fixture.ms * 1000) / fixture.descriptors).toFixed(2)} µs per descriptor`);

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
const real = timeScan({ proc: "/proc", etc: "/etc" }, watched);
console.log(`real /proc: ${real.processes} processes, ${real.descriptors} descriptors, 10 paths: ${real.ms.toFixed(0)} ms per scan (median of ${RUNS}), ${((real.ms * 1000) / real.descriptors).toFixed(2)} µs per descriptor`);
for (const c of children) c.kill("SIGKILL");
rmSync(work, { recursive: true, force: true });
