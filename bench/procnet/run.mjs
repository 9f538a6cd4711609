// bench/procnet: Covenant's connection probe against `ss -tan` and against the shell pipeline
// such monitoring is often built with (awk over /proc/net/tcp, then sort | uniq -c), with
// 10,000 real loopback connections held open, plus a generated 100,000-line table for the
// in-process rate. Also checks that each tool's counts per remote address agree with ss.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { median, table, timeCommand } from "../lib.mjs";

const PORT = 15432;
const N4 = Number(process.env.BENCH_CONNECTIONS ?? 10_000) - 200;
const N6 = 200;
const SOURCES = 50;
const work = resolve("bench/.work/procnet");
mkdirSync(`${work}/proc/net`, { recursive: true });
const lib = await import(resolve("dist/index.js"));
if (!existsSync("build/Release/sock_diag.node")) console.log("note: the sock_diag addon is not built (npm install builds it): covenant will read /proc/net/tcp{,6}");

function startHolder(args) {
  const child = spawn("node", ["bench/procnet/holder.mjs", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((ok, fail) => {
    child.stdout.on("data", (d) => String(d).includes("ready") && ok(child));
    child.on("exit", (code) => fail(new Error(`holder ${args[0]} exited with ${code}`)));
  });
}

// 1. a generated 100,000-line table, in the kernel's format
const lines = ["  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"];
for (let i = 0; i < 100_000; i++) {
  const remote = lib.tcpProbe ? ((i % 250) + 1).toString(16).padStart(2, "0").toUpperCase() + "01A8C0" : "";
  lines.push(`${String(i).padStart(6)}: 0100007F:1538 ${remote}:${(40000 + (i % 20000)).toString(16).toUpperCase()} 01 00000000:00000000 00:00000000 00000000   101        0 ${100000 + i} 1 0000000000000000 20 4 30 10 -1`);
}
const fixture = `${lines.join("\n")}\n`;
writeFileSync(`${work}/proc/net/tcp`, fixture);
// Timed two ways: over the table's bytes, as the probe reads a /proc file (tcp.readTables),
// and from a JavaScript string (the parse(text) API, which encodes it to bytes first).
const fixtureBytes = readFileSync(`${work}/proc/net/tcp`);
function timeParse(run) {
  const times = [];
  for (let i = 0; i < 26; i++) {
    const t = performance.now();
    const r = run();
    const ms = performance.now() - t;
    if (r.sockets.length !== 100_000 || r.skipped.length) throw new Error("fixture not fully parsed");
    if (i > 0) times.push(ms);
  }
  return median(times);
}
const parseMs = timeParse(() => lib.tcpProbe.parseBytes(fixtureBytes, 4));
const parseTextMs = timeParse(() => lib.tcpProbe.parse(fixture, 4));
const millionsPerSecond = (ms) => (100_000 / (ms / 1000) / 1e6).toFixed(2);

// 2. 10,000 real connections
console.log(`opening ${N4 + N6} loopback connections ...`);
const server = await startHolder(["server", String(PORT)]);
const client = await startHolder(["client", String(PORT), String(N4), String(N6), String(SOURCES)]);
try {
  const covenantArgs = ["bin/covenant", "observe", "connections", "--state", "established", "--port", String(PORT), "--count-by", "remote", "--json"];
  const awkProgram = `NR>1 && $4=="01" && $2 ~ /:${PORT.toString(16).toUpperCase()}$/ {split($3,a,":"); print a[1]}`;
  const shell = ["sh", "-c", `awk '${awkProgram}' /proc/net/tcp | sort | uniq -c`];
  const cov = timeCommand(covenantArgs);
  // the same command made to read /proc/net/tcp{,6} instead of asking the kernel through sock_diag
  const covTables = timeCommand(covenantArgs, 7, { env: { COVENANT_NO_SOCK_DIAG: "1" } });
  const ss = timeCommand(["ss", "-tan"]);
  const sh = timeCommand(shell);

  // counts per remote address, as each tool sees them
  const ssOut = spawnSync("ss", ["-Htan", "state", "established", `( sport = :${PORT} )`], { encoding: "utf8", maxBuffer: 1 << 26 }).stdout;
  const ssCounts = new Map();
  for (const line of ssOut.trim().split("\n")) {
    const peer = line.trim().split(/\s+/).at(-1);
    const addr = lib.tcpProbe && peer.slice(0, peer.lastIndexOf(":")).replace(/^\[|\]$/g, "").replace(/^::ffff:/, "");
    ssCounts.set(addr, (ssCounts.get(addr) ?? 0) + 1);
  }
  const countsOf = (r) => new Map(Object.entries(JSON.parse(r.output.slice(0, r.output.lastIndexOf("}") + 1)).data));
  const covCounts = countsOf(cov);
  const covTablesCounts = countsOf(covTables);
  const shCounts = new Map();
  for (const line of sh.output.trim().split("\n")) {
    const [n, hex] = line.trim().split(/\s+/);
    if (!hex || !/^[0-9A-F]{8}$/.test(hex)) continue;
    const b = [6, 4, 2, 0].map((k) => parseInt(hex.slice(k, k + 2), 16)); // decoded here, for the comparison only
    shCounts.set(b.join("."), Number(n));
  }
  const agree = (m) => {
    const diffs = [...new Set([...m.keys(), ...ssCounts.keys()])].filter((k) => (m.get(k) ?? 0) !== (ssCounts.get(k) ?? 0));
    return diffs.length === 0 ? "yes" : `no (${diffs.length} addresses differ, e.g. ${diffs[0]}: ${m.get(diffs[0]) ?? 0} vs ss ${ssCounts.get(diffs[0]) ?? 0})`;
  };
  const total = [...ssCounts.values()].reduce((a, b) => a + b, 0);
  console.log(`\nbench/procnet: ${total} established connections on port ${PORT} (${ssCounts.size} remote addresses), median of 7 runs after a warm-up\n`);
  console.log(
    table([
      ["tool", "wall", "ratio to ss -tan", "counts per remote address agree with ss"],
      ["covenant observe connections --count-by remote", `${cov.ms.toFixed(0)} ms`, `${(cov.ms / ss.ms).toFixed(2)}x`, agree(covCounts)],
      ["  the same, COVENANT_NO_SOCK_DIAG=1 (reads /proc/net/tcp{,6})", `${covTables.ms.toFixed(0)} ms`, `${(covTables.ms / ss.ms).toFixed(2)}x`, agree(covTablesCounts)],
      ["ss -tan", `${ss.ms.toFixed(0)} ms`, "1.00x", "(reference)"],
      ["awk /proc/net/tcp | sort | uniq -c", `${sh.ms.toFixed(0)} ms`, `${(sh.ms / ss.ms).toFixed(2)}x`, agree(shCounts)],
    ]),
  );
  const live = readFileSync("/proc/net/tcp", "latin1").split("\n").length;
  console.log(`\nin-process parse of a generated 100,000-line table (median of 25; live table: ${live} lines):`);
  console.log(`  from the file's bytes, as the probe reads it: ${parseMs.toFixed(1)} ms = ${millionsPerSecond(parseMs)} million lines/s`);
  console.log(`  from a JavaScript string (parse(text)):       ${parseTextMs.toFixed(1)} ms = ${millionsPerSecond(parseTextMs)} million lines/s`);
  console.log(`goals: >= 2 million lines/s in-process (${millionsPerSecond(parseMs)}), whole command within 1.5x of ss -tan (${(cov.ms / ss.ms).toFixed(2)}x), correct counts (${agree(covCounts)})`);
  writeFileSync(`${work}/results.json`, JSON.stringify({ date: new Date().toISOString(), connections: total, covenantMs: cov.ms, covenantTablesMs: covTables.ms, ssMs: ss.ms, shellMs: sh.ms, parseMs, parseTextMs, linesPerSecond: 100_000 / (parseMs / 1000), covenantAgrees: agree(covCounts), shellAgrees: agree(shCounts) }, null, 2));
} finally {
  client.kill();
  server.kill();
}
