// Preloaded (`node --import ./bench/report/thread-cpu.mjs ...`): at exit, the CPU seconds (user + system,
// from /proc) of the main thread and of the other threads still there (zlib's and the garbage
// collector's helpers; a worker that has ended is gone). On a machine other jobs share, a command's
// wall time says little; its main thread's CPU time says how much work lies on its critical path.
import { readdirSync, readFileSync } from "node:fs";

process.on("exit", () => {
  const rows = [];
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // utime and stime, in clock ticks (100 a second on Linux)
      rows.push({ main: Number(tid) === process.pid, cpu: (Number(fields[11]) + Number(fields[12])) / 100 });
    } catch {
      // the thread ended meanwhile
    }
  }
  const main = rows.find((r) => r.main)?.cpu ?? 0;
  const others = rows.filter((r) => !r.main).reduce((n, r) => n + r.cpu, 0);
  process.stderr.write(`thread CPU: main ${main.toFixed(2)} s, other threads ${others.toFixed(2)} s\n`);
});
