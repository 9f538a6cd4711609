// Runs each test in a sandbox of its own, made from its fixture in a fresh temporary directory
// and removed afterwards: the policy is evaluated as `covenant run --sandbox` evaluates it (the
// same evaluator, the probes' roots moved into the sandbox, changes confined to its files, its
// own state store), so nothing on the host is read for the promises or changed. A test with
// `changes` runs twice: the first run approves what it finds (integrity baselines), the files
// are then changed, and the second run is the one judged.
import { closeSync, constants, fchmodSync, fstatSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Evaluation } from "../evaluator/engine.js";
import { StateStore } from "../store/store.js";
import { ensureStateDir } from "../store/state-dir.js";
import { createSandbox, SandboxError, type Sandbox } from "../sandbox/sandbox.js";
import { evaluateRecorded } from "../run/record.js";
import { judge, type Mismatch } from "./judge.js";
import type { RunnableTest } from "./load-tests.js";

export interface TestResult {
  file: string;
  name: string;
  line: number;
  passed: boolean;
  mismatches: Mismatch[];
  /** the test could not be run at all (its sandbox could not be made): why */
  error?: string;
  durationMs: number;
  /** what was observed: each control's verdict and each promise's outcome */
  evaluation?: Evaluation;
}

/** How long one run of one test may take before its remaining promises are `error`. */
const TEST_TIMEOUT_MS = 5 * 60_000;

export interface RunTestsOptions {
  /** keep each sandbox (its path in the result) instead of removing it */
  keep?: boolean;
  /** the directory sandboxes are made in (default: a new one in $TMPDIR) */
  scratch?: string;
  /** called as each test is decided, in order */
  onResult?: (r: TestResult) => void;
  lineOf(test: RunnableTest): number;
}

export async function runTests(tests: RunnableTest[], opts: RunTestsOptions): Promise<{ results: TestResult[]; scratch: string }> {
  const scratch = opts.scratch ?? mkdtempSync(join(tmpdir(), "covenant-test-"));
  const results: TestResult[] = [];
  try {
    for (const [i, t] of tests.entries()) {
      const r = await runOne(t, join(scratch, `sandbox-${i + 1}`), opts.lineOf(t));
      results.push(r);
      opts.onResult?.(r);
      if (!opts.keep) rmSync(join(scratch, `sandbox-${i + 1}`), { recursive: true, force: true });
    }
  } finally {
    if (!opts.keep) rmSync(scratch, { recursive: true, force: true });
  }
  return { results, scratch };
}

async function runOne(t: RunnableTest, dir: string, line: number): Promise<TestResult> {
  const started = performance.now();
  const base = { file: t.file.path, name: t.test.name, line };
  let sb: Sandbox;
  try {
    sb = createSandbox(dir, t.manifest, t.origin);
  } catch (err) {
    if (!(err instanceof SandboxError)) throw err;
    return { ...base, passed: false, mismatches: [], error: err.message, durationMs: elapsed(started) };
  }
  const stateDir = ensureStateDir(sb.stateDir);
  const store = StateStore.open(stateDir);
  try {
    let evaluation = await evaluateOnce(t, sb, store);
    if (t.changes.length > 0) {
      // a change the sandbox cannot take (a path through a file, a directory named) is the test's error, not Covenant's
      const refused = writeChanges(sb.filesRoot, t.changes);
      if (refused !== undefined) return { ...base, passed: false, mismatches: [], error: refused, durationMs: elapsed(started) };
      evaluation = await evaluateOnce(t, sb, store);
    }
    const mismatches = judge(t.test, evaluation, t.policy.keys);
    return { ...base, passed: mismatches.length === 0, mismatches, durationMs: elapsed(started), evaluation };
  } finally {
    store.close();
  }
}

async function evaluateOnce(t: RunnableTest, sb: Sandbox, store: StateStore): Promise<Evaluation> {
  const started = new Date();
  const roots = { proc: sb.procRoot ?? "/proc", etc: sb.etcRoot, ...(sb.answersDir !== undefined ? { answers: sb.answersDir } : {}) };
  const notes: string[] = [];
  const recorded = await evaluateRecorded(
    store,
    {
      policy: t.policy.policy,
      files: t.policy.files,
      roots,
      filesRoot: sb.filesRoot,
      dryRun: false,
      // its own os-release (empty when the fixture gives none: a test never reads this machine's)
      etcRoot: sb.etcRoot,
      ...(sb.facts !== undefined ? { facts: sb.facts } : {}),
      started,
      deadline: started.getTime() + TEST_TIMEOUT_MS,
      kind: "run",
    },
    notes,
  );
  if (recorded.failure) throw recorded.failure;
  return recorded.evaluation;
}

/** Writes the test's changes; why one could not be written, if one could not. */
function writeChanges(filesRoot: string, changes: RunnableTest["changes"]): string | undefined {
  for (const c of changes) {
    try {
      writeChanged(filesRoot, c);
    } catch (err) {
      if (err instanceof SandboxError) return err.message;
      const code = (err as NodeJS.ErrnoException).code;
      if (typeof code !== "string") throw err;
      return `the change of ${c.path} cannot be written in the sandbox (${code}): a change writes a file, below directories`;
    }
  }
  return undefined;
}

/**
 * A file the test changes, below the sandbox's files: opened without following a link at its
 * last component, and refused unless it is a regular file (or new); its directories are made
 * as needed. The sandbox is the test's own, just made, with no link in it that a fixture made.
 */
function writeChanged(filesRoot: string, c: { path: string; content: string; mode?: string }): void {
  const path = join(filesRoot, c.path);
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
  try {
    if (!fstatSync(fd).isFile()) throw new SandboxError(`${c.path} is not a regular file in the sandbox: a test changes files only`);
    const bytes = Buffer.from(c.content, "utf8");
    // replaced in place through the descriptor (the path could have changed since it was opened)
    ftruncateSync(fd, 0);
    writeSync(fd, bytes, 0, bytes.length, 0);
    if (c.mode !== undefined) fchmodSync(fd, parseInt(c.mode, 8));
  } finally {
    closeSync(fd);
  }
}

const elapsed = (from: number) => Math.round(performance.now() - from);
