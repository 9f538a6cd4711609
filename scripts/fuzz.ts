// `npm run fuzz [seconds]` (default 60): fuzzes `check` and `fmt` for that long with the inputs
// and invariants of the suite's fuzz test (test/fuzz/), in a child process that is killed and
// restarted when an input takes longer than the per-input limit (a hang). Prints the inputs
// tried, crashes (an exception, or the child dying), broken invariants, hangs, and the peak
// memory per input byte of `check`'s and of `fmt`'s steps: each of a few large inputs (256 KiB and
// more, made of generated and mutated policies) examined by one command's steps in a fresh
// process, its peak resident memory above that process's base after warm-up, divided by the
// input's size. Inputs that fail are written to a directory it names. FUZZ_SEED=<n> replays a
// run's inputs.
import { fork, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { fuzzInput, generatedPolicy, mutatedPolicy } from "../test/fuzz/arbitraries.ts";
import type { FuzzAnswer, FuzzRequest } from "./fuzz-child.ts";

const seconds = Number(process.argv[2] ?? 60);
if (!Number.isFinite(seconds) || seconds <= 0) {
  console.error(`usage: npm run fuzz [seconds], got \`${process.argv[2]}\``);
  process.exit(2);
}
const seed = Number(process.env["FUZZ_SEED"] ?? Math.floor(Math.random() * 2 ** 31));
/** An input examined longer than this is a hang (the slowest seen take tens of milliseconds). */
const PER_INPUT_MS = 10_000;
const LARGE_BYTES = 256 * 1024;
const MEMORY_SAMPLES = Math.max(3, Math.min(12, Math.round(seconds / 60)));

const workDir = mkdtempSync(join(tmpdir(), "covenant-fuzz-run-"));
const findingsDir = join(tmpdir(), `covenant-fuzz-findings-${seed}`);
const childEnv = { ...process.env, COVENANT_FUZZ_DIR: workDir };

interface Child {
  process: ChildProcess;
  baseRss: number;
}

function startChild(): Promise<Child> {
  const child = fork(new URL("./fuzz-child.ts", import.meta.url), [], { execArgv: ["--import", "tsx"], env: childEnv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    child.once("message", (m: { ready: boolean; maxRss: number }) => resolve({ process: child, baseRss: m.maxRss }));
    child.once("exit", (code) => reject(new Error(`the fuzz child exited with ${code} before it was ready`)));
  });
}

type Outcome = { kind: "answer"; answer: FuzzAnswer } | { kind: "hang" } | { kind: "died"; how: string };

function examineIn(child: Child, id: number, text: string, mode: FuzzRequest["mode"] = "both"): Promise<Outcome> {
  return new Promise((resolve) => {
    const done = (o: Outcome) => {
      clearTimeout(timer);
      child.process.off("message", onMessage);
      child.process.off("exit", onExit);
      resolve(o);
    };
    const onMessage = (m: FuzzAnswer) => m.id === id && done({ kind: "answer", answer: m });
    const onExit = (code: number | null, signal: string | null) => done({ kind: "died", how: signal ?? `exit ${code}` });
    const timer = setTimeout(() => done({ kind: "hang" }), PER_INPUT_MS);
    child.process.on("message", onMessage);
    child.process.once("exit", onExit);
    child.process.send({ id, text, mode } satisfies FuzzRequest);
  });
}

let saved = 0;
function save(kind: string, text: string, detail: string): void {
  mkdirSync(findingsDir, { recursive: true });
  saved++;
  writeFileSync(join(findingsDir, `${saved}-${kind}.promise`), text);
  writeFileSync(join(findingsDir, `${saved}-${kind}.txt`), detail);
  console.log(`${kind}: ${detail.split("\n")[0]} (input in ${join(findingsDir, `${saved}-${kind}.promise`)})`);
}

/** Inputs of the seed's stream, batch after batch: the same seed gives the same inputs. */
function* inputs(): Generator<string> {
  for (let batch = 0; ; batch++) yield* fc.sample(fuzzInput, { seed: seed + batch, numRuns: 500 });
}

/** A large input for a memory sample: generated and mutated policies, joined, to LARGE_BYTES and beyond. */
function largeInput(sample: number): string {
  const parts: string[] = [];
  let size = 0;
  const source = fc.sample(fc.oneof(generatedPolicy, mutatedPolicy), { seed: seed ^ (0x5eed + sample), numRuns: 20_000 });
  for (const p of source) {
    if (size >= LARGE_BYTES * (1 + (sample % 4))) break;
    parts.push(p);
    size += Buffer.byteLength(p) + 1;
  }
  return parts.join("\n");
}

async function main(): Promise<void> {
  console.log(`fuzzing check and fmt for ${seconds} s, seed ${seed} (replay: FUZZ_SEED=${seed} npm run fuzz ${seconds})`);
  const deadline = Date.now() + seconds * 1000;
  const memoryAt = Array.from({ length: MEMORY_SAMPLES }, (_, i) => Date.now() + ((i + 1) * seconds * 1000) / (MEMORY_SAMPLES + 1));
  let child = await startChild();
  let tried = 0;
  let crashes = 0;
  let invariants = 0;
  let hangs = 0;
  let slowest = 0;
  let samples = 0;
  let id = 0;
  for (const text of inputs()) {
    if (Date.now() >= deadline) break;
    if (memoryAt.length > 0 && Date.now() >= memoryAt[0]!) {
      memoryAt.shift();
      const large = largeInput(samples++);
      for (const mode of ["check", "fmt"] as const) {
        const o = await measure(large, mode, ++id);
        tried++;
        if (o.kind === "answer") {
          if (o.answer.findings.length > 0) [crashes, invariants] = count(o.answer, large, crashes, invariants);
          continue;
        }
        if (o.kind === "hang") hangs++;
        else crashes++;
        save(o.kind, large, `a large input (${mode}): ${o.kind === "died" ? `the process died (${o.how})` : `no answer in ${PER_INPUT_MS} ms`}`);
      }
      continue;
    }
    const o = await examineIn(child, ++id, text);
    tried++;
    if (o.kind === "answer") {
      slowest = Math.max(slowest, o.answer.ms);
      if (o.answer.findings.length > 0) [crashes, invariants] = count(o.answer, text, crashes, invariants);
      continue;
    }
    if (o.kind === "hang") {
      hangs++;
      save("hang", text, `no answer in ${PER_INPUT_MS} ms`);
      child.process.kill("SIGKILL");
    } else {
      crashes++;
      save("crash", text, `the process died (${o.how})`);
    }
    child = await startChild();
  }
  child.process.kill("SIGKILL");
  rmSync(workDir, { recursive: true, force: true });
  console.log(
    [
      `inputs tried: ${tried} in ${seconds} s (seed ${seed})`,
      `crashes: ${crashes}`,
      `broken invariants: ${invariants}`,
      `hangs (over ${PER_INPUT_MS / 1000} s): ${hangs}`,
      `slowest input: ${slowest.toFixed(0)} ms`,
      ...(["check", "fmt"] as const).map((m) => `peak memory per input byte, ${m}: ${peaks[m].perByte.toFixed(1)} B/B over ${samples} large inputs (worst: ${peaks[m].detail})`),
      `machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}`,
    ].join("\n"),
  );
  if (saved > 0) console.log(`failing inputs: ${findingsDir}`);
  process.exitCode = crashes + invariants + hangs > 0 ? 1 : 0;
}

/** The worst peak memory per input byte seen, for each command's steps. */
const peaks = { check: { perByte: 0, detail: "none" }, fmt: { perByte: 0, detail: "none" } };

/** Examines a large input in a fresh process: its peak resident memory above that process's base, per input byte. */
async function measure(large: string, mode: "check" | "fmt", id: number): Promise<Outcome> {
  const fresh = await startChild();
  const o = await examineIn(fresh, id, large, mode);
  fresh.process.kill("SIGKILL");
  if (o.kind !== "answer") return o;
  const bytes = Buffer.byteLength(large);
  const above = o.answer.maxRss - fresh.baseRss;
  if (above / bytes > peaks[mode].perByte) {
    peaks[mode] = { perByte: above / bytes, detail: `${(bytes / 1024).toFixed(0)} KiB, ${(above / 2 ** 20).toFixed(1)} MiB above a base of ${(fresh.baseRss / 2 ** 20).toFixed(1)} MiB, ${o.answer.ms.toFixed(0)} ms` };
  }
  return o;
}

function count(answer: FuzzAnswer, text: string, crashes: number, invariants: number): [number, number] {
  for (const f of answer.findings) save(f.kind, text, `${f.step}: ${f.message}\n${f.stack ?? ""}`);
  const c = answer.findings.filter((f) => f.kind === "crash").length;
  return [crashes + (c > 0 ? 1 : 0), invariants + (c === 0 ? 1 : 0)];
}

void main();
