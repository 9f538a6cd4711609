// chokidar 5 watching `tree` (recursively, as `covenant watch` first did): once it is ready, its
// peak RSS (VmHWM) and inotify watches, as JSON. bench/watch runs it to say why the watcher
// reads inotify itself.
import { readdirSync, readFileSync } from "node:fs";
import chokidar from "chokidar";

const tree = process.argv[2];
const started = performance.now();
const w = chokidar.watch(tree, { ignoreInitial: true, followSymlinks: false, depth: 16, atomic: false, alwaysStat: false });
w.on("error", (e) => console.error(`chokidar: ${e.message}`));
w.on("ready", async () => {
  let watches = 0;
  for (const fd of readdirSync("/proc/self/fdinfo")) {
    try {
      watches += (readFileSync(`/proc/self/fdinfo/${fd}`, "utf8").match(/^inotify wd:/gm) ?? []).length;
    } catch {
      // closed meanwhile
    }
  }
  const vmHWMkB = Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0);
  console.log(JSON.stringify({ readyMs: Math.round(performance.now() - started), watches, vmHWMkB }));
  await w.close();
  process.exit(0);
});
