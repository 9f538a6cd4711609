// bench/watch: `covenant watch` on a 10,000-file tree (100 directories of 100 files) under one
// realtime `directory` promise (recurse, max_mode 0755).
// - Detection latency: 1,000 changes, one at a time (each waits for the previous one's watch run
//   and comes slower than the watcher's pace, so each is its own evaluation): a file made
//   0666 (drift), then put back to 0644 (kept), and so on. Latency is from just before the chmod
//   to the time of the `change` record the watch run wrote in the store (`covenant history`),
//   both wall clock in ms; and to when the watcher's line for that run reached this process.
// - AIDE on the same tree (the best a periodic scanner does): `aide --init` and `aide --check`
//   with the attributes Covenant observes (p+i+n+u+g+s+m+l+ftype+sha256).
// - Memory and inotify watches: the watcher's peak RSS (VmHWM) and its inotify watches (the
//   `inotify wd:` lines of /proc/PID/fdinfo) on the 10,000-file tree and on a 100,000-file one
//   (1,000 directories of 100), and the same for chokidar watching the same trees (what the
//   watcher used first: one watch per file).
// BENCH_WATCH_CHANGES sets the number of changes (default 1000).
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { commandEnv, ensureDebianTool, table } from "../lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "../..");
// the CLI as bin/covenant runs it (dist/ built by `npm run bench`)
const cli = join(repo, "bin/covenant.js");
const changes = Number(process.env.BENCH_WATCH_CHANGES ?? 1000);
const work = mkdtempSync(join(tmpdir(), "covenant-bench-watch-"));
const now = () => performance.timeOrigin + performance.now();

function makeTree(root, dirs, files) {
  mkdirSync(root);
  for (let d = 0; d < dirs; d++) {
    const dir = join(root, `d${d}`);
    mkdirSync(dir);
    for (let f = 0; f < files; f++) {
      const fd = openSync(join(dir, `f${f}`), "w", 0o644);
      writeSync(fd, `file ${d}/${f}\n`);
      closeSync(fd);
    }
  }
}

/** One realtime directory promise over the whole tree. */
const directoryPromise = (tree) => `  directory "${tree}" {\n    max_mode = 0755\n    recurse  = true\n    watch    = realtime\n  }\n`;
/** A realtime file promise for the first file of each of the tree's 100 first directories. */
const filePromises = (tree) => Array.from({ length: 100 }, (_, d) => `  file "${join(tree, `d${d}`, "f0")}" {\n    mode  = 0644\n    watch = realtime\n  }\n`).join("");

function policyFor(name, body) {
  const dir = join(work, `policy-${name}`);
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(dir, "p.promise"), `control "BENCH-W" {\n  title = "The ledger tree"\n${body}}\n`, { mode: 0o600 });
  return dir;
}

/** Peak RSS (VmHWM, KB) and inotify watches of process `pid`, now. */
function usage(pid) {
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  let watches = 0;
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      watches += (readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8").match(/^inotify wd:/gm) ?? []).length;
    } catch {
      // closed meanwhile
    }
  }
  return { hwmKB: hwm, watches };
}

/** A watcher from dist/, its stdout read line by line. */
function startWatcher(policy, state) {
  const child = spawn(process.execPath, [cli, "watch", "--state", state, policy], { env: commandEnv, stdio: ["ignore", "pipe", "pipe"] });
  const lines = [];
  let partial = "";
  let waiter;
  child.stdout.on("data", (c) => {
    const at = now();
    partial += c.toString();
    const parts = partial.split("\n");
    partial = parts.pop();
    for (const l of parts) lines.push({ text: l, at });
    waiter?.();
  });
  let err = "";
  child.stderr.on("data", (c) => (err += c.toString()));
  const exited = new Promise((r) => child.on("close", r));
  return {
    child,
    lines,
    err: () => err,
    exited,
    /** the first line from index `from` on matching `re` */
    async waitLine(re, from = 0, ms = 120_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const i = lines.findIndex((l, k) => k >= from && re.test(l.text));
        if (i >= 0) return { ...lines[i], index: i };
        if (Date.now() > deadline) throw new Error(`no line ${re} within ${ms} ms; stderr: ${err}`);
        if (child.exitCode !== null) throw new Error(`the watcher exited ${child.exitCode}: ${err}`);
        await new Promise((r) => {
          waiter = r;
          setTimeout(r, 50);
        });
      }
    },
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `changes` changes, one at a time; `pathOf(k)`: the file the k-th pair of changes makes 0666 then 0644. */
async function latency(name, body, pathOf) {
  const policy = policyFor(name, body);
  const state = join(work, `state-${name}`);
  const w = startWatcher(policy, state);
  const started = await w.waitLine(/^watch run 1 \(start-up rescan\)/);
  const usageAfterStart = usage(w.child.pid);
  const made = [];
  let from = started.index + 1;
  for (let i = 0; i < changes; i++) {
    const path = pathOf(i >> 1);
    // slower than the watcher's pace (at most 2 evaluations a second once its burst of 20 is
    // spent, src/watch/loop.ts): each change starts its own evaluation, and none waits for a token
    await sleep(510);
    const at = now();
    chmodSync(path, i % 2 === 0 ? 0o666 : 0o644);
    const line = await w.waitLine(/^watch run \d+ \(event on /, from, 30_000);
    from = line.index + 1;
    const run = Number(/^watch run (\d+)/.exec(line.text)[1]);
    made.push({ at, run, seenAt: line.at, drift: i % 2 === 0 });
  }
  const peak = usage(w.child.pid);
  await w.stop();
  const history = JSON.parse(spawnSync(process.execPath, [cli, "history", "--json", "--state", state], { encoding: "utf8", maxBuffer: 1 << 28 }).stdout);
  const recordAt = new Map(history.filter((e) => e.kind === "change").map((e) => [e.run, Date.parse(e.time)]));
  const toRecord = [];
  const toLine = [];
  let unrecorded = 0;
  for (const m of made) {
    const t = recordAt.get(m.run);
    if (t === undefined) unrecorded++;
    else toRecord.push(Math.max(0, t - m.at));
    toLine.push(m.seenAt - m.at);
  }
  toRecord.sort((a, b) => a - b);
  toLine.sort((a, b) => a - b);
  return { toRecord, toLine, unrecorded, peak, usageAfterStart };
}

function aideTimes(tree) {
  const conf = join(work, "aide.conf");
  writeFileSync(conf, [`database_in=file:${work}/aide.db`, `database_out=file:${work}/aide.db.new`, "report_level=added_removed_entries", "report_format=json", "W = p+i+n+u+g+s+m+l+ftype+sha256", `${tree} W`, ""].join("\n"));
  let t = now();
  const init = spawnSync("aide", ["-c", conf, "--init"], { encoding: "utf8" });
  const initMs = now() - t;
  if (init.status !== 0) throw new Error(`aide --init: ${init.status} ${init.stderr}`);
  spawnSync("mv", [`${work}/aide.db.new`, `${work}/aide.db`]);
  chmodSync(join(tree, "d0", "f0"), 0o600);
  t = now();
  const check = spawnSync("aide", ["-c", conf, "--check"], { encoding: "utf8", maxBuffer: 1 << 26 });
  const checkMs = now() - t;
  chmodSync(join(tree, "d0", "f0"), 0o644);
  if (check.status === null || check.status >= 14) throw new Error(`aide --check: ${check.status} ${check.stderr}`);
  return { initMs, checkMs, found: check.status !== 0 };
}

/** Peak RSS and watches of the watcher once its start-up rescan of `tree` is done. */
async function watcherUsage(tree, name) {
  const w = startWatcher(policyFor(name, directoryPromise(tree)), join(work, `state-${name}`));
  await w.waitLine(/^watch run 1 \(start-up rescan\)/, 0, 300_000);
  await sleep(500);
  const u = usage(w.child.pid);
  await w.stop();
  return u;
}

function chokidarUsage(tree) {
  const r = spawnSync(process.execPath, [join(here, "chokidar-probe.mjs"), tree], { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`chokidar-probe: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const mb = (kb) => `${(kb / 1024).toFixed(0)} MB`;

async function main() {
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ${new Date().toISOString()}`);
  const tree10k = join(work, "tree10k");
  const tree100k = join(work, "tree100k");
  makeTree(tree10k, 100, 100);
  makeTree(tree100k, 1000, 100);

  const lat = await latency("dir10k", directoryPromise(tree10k), (k) => join(tree10k, `d${k % 100}`, `f${Math.floor(k / 100) % 100}`));
  const latFiles = await latency("files", filePromises(tree10k), (k) => join(tree10k, `d${k % 100}`, "f0"));
  console.log(`\ndetection latency, ${changes} changes (chmod) one at a time on a 10,000-file tree (--coalesce 10ms, the default):`);
  const row = (what, xs, digits) => [what, ...[50, 90, 99, 100].map((p) => `${pct(xs, p).toFixed(digits)} ms`)];
  console.log(
    table([
      ["", "p50", "p90", "p99", "max"],
      row("one directory promise (recurse, 10,000 files): write → change recorded", lat.toRecord, 0),
      row("  write → the watcher's line read", lat.toLine, 1),
      row("100 file promises in the same tree: write → change recorded", latFiles.toRecord, 0),
      row("  write → the watcher's line read", latFiles.toLine, 1),
    ]),
  );
  for (const [what, l] of [["directory", lat], ["file", latFiles]]) if (l.unrecorded > 0) console.log(`(${what}: ${l.unrecorded} change${l.unrecorded === 1 ? "" : "s"} whose watch run wrote no change record)`);

  let aide;
  if (ensureDebianTool("aide", "aide")) {
    aide = aideTimes(tree10k);
    console.log(`\naide 10,000 files (p+i+n+u+g+s+m+l+ftype+sha256): --init ${aide.initMs.toFixed(0)} ms, --check ${aide.checkMs.toFixed(0)} ms (found the change: ${aide.found})`);
    console.log(`one aide --check takes ${(aide.checkMs / pct(lat.toRecord, 99)).toFixed(1)}× the directory promise's p99 (${(aide.checkMs / pct(latFiles.toRecord, 99)).toFixed(0)}× the file promises') just to look, before a schedule's wait`);
  } else console.log("\naide: not available (apt-get install aide failed)");

  const w10k = lat.peak;
  const w100k = await watcherUsage(tree100k, "100k");
  const c10k = chokidarUsage(tree10k);
  const c100k = chokidarUsage(tree100k);
  console.log("\nmemory and inotify watches (peak RSS: VmHWM, after the start-up rescan; watches: /proc/PID/fdinfo):");
  console.log(
    table([
      ["", "covenant watch", "chokidar 5 (alone)", "ratio"],
      ["10,000 files: peak RSS", mb(w10k.hwmKB), mb(c10k.vmHWMkB), `${(c10k.vmHWMkB / w10k.hwmKB).toFixed(1)}×`],
      ["10,000 files: inotify watches", w10k.watches, c10k.watches, `${(c10k.watches / w10k.watches).toFixed(0)}×`],
      ["100,000 files: peak RSS", mb(w100k.hwmKB), mb(c100k.vmHWMkB), `${(c100k.vmHWMkB / w100k.hwmKB).toFixed(1)}×`],
      ["100,000 files: inotify watches", w100k.watches, c100k.watches, `${(c100k.watches / w100k.watches).toFixed(0)}×`],
    ]),
  );
  const limit = readFileSync("/proc/sys/fs/inotify/max_user_watches", "utf8").trim();
  const out = join(repo, "bench/.work/watch");
  mkdirSync(out, { recursive: true });
  const summary = (l) => ({ toRecord: Object.fromEntries([50, 90, 99, 100].map((p) => [`p${p}`, pct(l.toRecord, p)])), toLine: Object.fromEntries([50, 90, 99, 100].map((p) => [`p${p}`, pct(l.toLine, p)])), unrecorded: l.unrecorded });
  writeFileSync(join(out, "results.json"), JSON.stringify({ date: new Date().toISOString(), changes, directory: summary(lat), files: summary(latFiles), aide, watcher: { files10k: w10k, files100k: w100k }, chokidar: { files10k: c10k, files100k: c100k }, maxUserWatches: Number(limit) }, null, 2));
  console.log(`(fs.inotify.max_user_watches here: ${limit}; goals: 10,000 files within 90 MB, 100,000 within 200 MB, p99 under 50 ms)`);
}

try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
