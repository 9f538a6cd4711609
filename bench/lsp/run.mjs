// bench/lsp: a real LSP client (client.mjs, on vscode-jsonrpc) driving `covenant lsp` over stdio
// on generated policies of 2,000 and 20,000 file promises (bench/parse/generate.mjs): the time
// from a didChange to the publishDiagnostics that answers it, p50 and p99 over 500 edits, and
// the latency of completion; in the same run, `cf-promises -f` on the equivalent CFEngine policy
// (what an editor integration built on it would wait for at every edit).
//
// Knobs: BENCH_LSP_SIZES (default 2000,20000), BENCH_LSP_EDITS (default 500),
// BENCH_LSP_COMPLETIONS (default 200).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { ensureDebianTool, table, timeCommand } from "../lib.mjs";
import { writePolicies } from "../parse/generate.mjs";
import { fileUri, startClient } from "./client.mjs";

const sizes = (process.env.BENCH_LSP_SIZES ?? "2000,20000").split(",").map(Number);
const editCount = Number(process.env.BENCH_LSP_EDITS ?? 500);
const completionCount = Number(process.env.BENCH_LSP_COMPLETIONS ?? 200);
const goals = { 2000: 20, 20000: 100 };
const WARM_UP_EDITS = 20;
const work = resolve("bench/.work/lsp");
const hasCf = ensureDebianTool("cf-promises", "cfengine3");

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

/** Where each promise's `mode = 0640` is, as 0-based line and the character of its last digit. */
function modeLines(text) {
  const out = [];
  text.split("\n").forEach((line, i) => {
    const at = line.indexOf("mode      = 0640");
    if (at !== -1) out.push({ line: i, character: at + "mode      = 064".length });
  });
  return out;
}

/**
 * The edits, as an author makes them, in pairs on one promise: most change a digit of its mode
 * and put it back (the diagnostics stay the same); one pair in five misspells `mode` (an error
 * appears) and puts it back (it goes).
 */
function* edits(modes) {
  for (let k = 0; ; k++) {
    const m = modes[(k * 7919) % modes.length];
    if (k % 5 === 4) {
      const name = { start: { line: m.line, character: 4 }, end: { line: m.line, character: 8 } };
      yield { range: name, text: "mdoe", expectErrors: true };
      yield { range: name, text: "mode", expectErrors: false };
    } else {
      const digit = { start: m, end: { line: m.line, character: m.character + 1 } };
      yield { range: digit, text: "1", expectErrors: false };
      yield { range: digit, text: "0", expectErrors: false };
    }
  }
}

function peakRssKB(pid) {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function measure(n) {
  const dir = resolve(work, String(n));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { cov, cf } = writePolicies(dir, n);
  const text = readFileSync(cov, "utf8");
  const uri = fileUri(cov);
  const client = await startClient({ bin: resolve("bin/covenant"), cwd: dir, initializationOptions: { config: "/dev/null/none.yaml" } });
  const t0 = performance.now();
  const first = client.next(uri, (p) => p.version === 1);
  await client.open(uri, text);
  const cold = (await first).at - t0;
  const modes = modeLines(text);
  if (modes.length !== n) throw new Error(`expected ${n} mode lines, found ${modes.length}`);
  const latencies = [];
  const gen = edits(modes);
  // the first edits after opening run cold code (V8 compiles the re-parse and the checks as they
  // run): untimed, as an author's server is warm after their first few keystrokes
  for (let i = -WARM_UP_EDITS; i < editCount; i++) {
    const e = gen.next().value;
    const t = performance.now();
    const version = client.change(uri, [{ range: e.range, text: e.text }]);
    const { params, at } = await client.next(uri, (p) => p.version === version);
    if (i >= 0) latencies.push(at - t);
    const errors = params.diagnostics.filter((d) => d.severity === 1).length;
    if ((errors > 0) !== e.expectErrors) throw new Error(`edit ${i}: expected ${e.expectErrors ? "an error" : "no error"}, got ${JSON.stringify(params.diagnostics.slice(0, 2))}`);
  }
  const completions = [];
  for (let i = 0; i < completionCount; i++) {
    const m = modes[(i * 104729) % modes.length];
    const t = performance.now();
    const items = await client.request("textDocument/completion", { textDocument: { uri }, position: { line: m.line, character: 4 } });
    completions.push(performance.now() - t);
    if (!Array.isArray(items) || !items.some((x) => x.label === "max_mode")) throw new Error(`completion inside a file promise did not offer its attributes: ${JSON.stringify(items).slice(0, 200)}`);
  }
  const rssKB = peakRssKB(client.child.pid);
  const code = await client.close();
  if (code !== 0) throw new Error(`covenant lsp exited ${code}: ${client.stderr()}`);
  const cfRun = hasCf ? timeCommand(["cf-promises", "-f", cf], 5) : undefined;
  if (cfRun && cfRun.status !== 0) throw new Error(`cf-promises failed: ${cfRun.output}`);
  return { promises: n, edits: editCount, coldMs: cold, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies), completionP50: percentile(completions, 50), completionP99: percentile(completions, 99), cfPromisesMs: cfRun?.ms ?? null, rssKB };
}

mkdirSync(work, { recursive: true });
const results = [];
for (const n of sizes) results.push(await measure(n));
const rows = [["promises", "edits", "first check", "edit→diagnostics p50", "p99", "max", "completion p50", "p99", "cf-promises -f", "server peak RSS"]];
for (const r of results) {
  rows.push([r.promises, r.edits, `${r.coldMs.toFixed(0)} ms`, `${r.p50.toFixed(1)} ms`, `${r.p99.toFixed(1)} ms`, `${r.max.toFixed(1)} ms`, `${r.completionP50.toFixed(1)} ms`, `${r.completionP99.toFixed(1)} ms`, r.cfPromisesMs === null ? "not installed" : `${r.cfPromisesMs.toFixed(0)} ms`, `${(r.rssKB / 1024).toFixed(0)} MB`]);
}
console.log(`\nbench/lsp: covenant lsp over stdio, didChange → publishDiagnostics (${editCount} edits, one at a time, after ${WARM_UP_EDITS} untimed) and completion (${completionCount} requests)\n`);
console.log(table(rows));
for (const r of results) {
  const goal = goals[r.promises];
  if (goal !== undefined) console.log(`goal at ${r.promises} promises: p99 < ${goal} ms: got ${r.p99.toFixed(1)} ms (${r.p99 < goal ? "met" : "NOT met"})`);
}
writeFileSync(resolve(work, "results.json"), JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
