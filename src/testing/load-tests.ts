// Everything `covenant test` runs, loaded and checked before any test runs: the test files found
// under the paths given, decoded; the policy each tests, checked as `covenant check` checks it;
// each test's fixture, checked by the sandbox's own rules; and each expectation held against the
// policy (a control or promise it does not have is a typo that would pass silently otherwise).
// Every problem is reported at once; none means every test can run.
import { lstatSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { checkFiles } from "../checker/check.js";
import { loadPolicy } from "../checker/load.js";
import type { Policy } from "../checker/policy.js";
import { readPolicyFile } from "../checker/policy-file.js";
import { promiseKeys } from "../evaluator/engine.js";
import { diagnostic, type Diagnostic, type Span } from "../parser/diagnostics.js";
import { closest } from "../parser/suggest.js";
import { modeText, refusalOf, runningAsRoot } from "../trust/strict-modes.js";
import { parseManifest, readManifest, sandboxPath, SandboxError, type SandboxManifest } from "../sandbox/manifest.js";
import { decodeTestFile, isTestFile, type PolicyTest, type TestFile } from "./test-file.js";

/** A test file is data root acts on (its fixtures are created as root): at most this large, like a manifest. */
const MAX_TEST_FILE = 1024 * 1024;

export interface LoadedPolicy {
  /** the paths it was loaded from, absolute */
  paths: string[];
  policy: Policy;
  files: { path: string; text: string }[];
  /** control id → its promise keys, in order */
  keys: Map<string, string[]>;
}

export interface RunnableTest {
  file: TestFile;
  test: PolicyTest;
  policy: LoadedPolicy;
  manifest: SandboxManifest;
  /** where the fixture came from and its text, for the sandbox's marker */
  origin: { from: string; text: string };
  /** the changes' paths, normalised */
  changes: { path: string; content: string; mode?: string }[];
}

export interface Loaded {
  tests: RunnableTest[];
  policies: LoadedPolicy[];
  /** the problems found, each file's text beside it for excerpts */
  diagnostics: Diagnostic[];
  texts: { path: string; text: string }[];
  files: number;
}

/** The test files under `paths` (files named are taken whatever their name), sorted, each once. */
export function findTestFiles(paths: string[], diagnostics: Diagnostic[]): string[] {
  const out = new Set<string>();
  const walk = (dir: string, depth: number) => {
    if (depth > 32) return;
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const p = join(dir, e.name);
      // a link is never followed: it could lead anywhere, and round again
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.isFile() && isTestFile(e.name)) out.add(p);
    }
  };
  for (const p of paths.length > 0 ? paths : ["."]) {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) diagnostics.push(diagnostic("E409", `${p} does not exist`, { file: p, start: 0, end: 0 }));
    else if (st.isDirectory()) walk(p, 0);
    else out.add(p);
  }
  return [...out];
}

/** The test file's text, read as a policy file is (never through a link; as root, root's own and closed to others). */
function readTestFile(path: string, diagnostics: Diagnostic[]): string | undefined {
  const judge = runningAsRoot() ? (st: import("node:fs").Stats) => {
    const why = refusalOf(st, false);
    if (why === "owner") return `is owned by uid ${st.uid}, not root: as root, Covenant runs only tests no other user can change (their fixtures decide what root creates)`;
    if (why === "writable") return `is writable by others (mode ${modeText(st)}): as root, Covenant runs only tests no other user can change`;
    return undefined;
  } : undefined;
  const read = readPolicyFile(path, MAX_TEST_FILE, judge, false);
  if (read.ok) return read.text;
  diagnostics.push(diagnostic("E409", `${path} ${read.problem}`, { file: path, start: 0, end: 0 }));
  return undefined;
}

/** Loads and checks everything; `include` as for `covenant check`. */
export function loadTests(paths: string[], opts: { include: string[]; today: string }): Loaded {
  const diagnostics: Diagnostic[] = [];
  const texts: Loaded["texts"] = [];
  const found = findTestFiles(paths, diagnostics);
  if (found.length === 0 && diagnostics.length === 0) diagnostics.push(diagnostic("E410", `no test files (*.test.yaml) in ${paths.length > 0 ? paths.join(", ") : "the current directory"}`, { file: paths[0] ?? ".", start: 0, end: 0 }));
  const policies = new Map<string, LoadedPolicy | undefined>();
  const tests: RunnableTest[] = [];
  for (const path of found) {
    const text = readTestFile(path, diagnostics);
    if (text === undefined) continue;
    texts.push({ path, text });
    const decoded = decodeTestFile(text, path);
    diagnostics.push(...decoded.diagnostics);
    if (!decoded.file) continue;
    const file = decoded.file;
    const policyPaths = file.policy.length > 0 ? file.policy.map((p) => resolve(dirname(path), p.path)) : [dirname(resolve(path))];
    const notPolicy = file.policy.filter((p) => !mayBePolicy(resolve(dirname(path), p.path)));
    for (const p of notPolicy) diagnostics.push(diagnostic("E411", `a \`policy\` path must name a .promise file or a directory: ${p.path} is neither, and is not read`, p.span));
    const key = JSON.stringify([...policyPaths].sort());
    if (notPolicy.length === 0 && !policies.has(key)) policies.set(key, checkPolicy(policyPaths, opts, diagnostics, texts));
    const policy = notPolicy.length === 0 ? policies.get(key) : undefined;
    for (const test of file.tests) {
      const fixture = loadFixture(path, test, diagnostics);
      if (policy) checkExpectations(test, policy, diagnostics);
      const changes = (test.changes ?? []).flatMap((c) => {
        const problems: string[] = [];
        const p = sandboxPath(c.path, "the path", problems, "");
        for (const why of problems) diagnostics.push(diagnostic("E411", why, c.span));
        return p === undefined ? [] : [{ path: p, content: c.content, ...(c.mode !== undefined ? { mode: c.mode } : {}) }];
      });
      if (policy && fixture) tests.push({ file, test, policy, ...fixture, changes });
    }
  }
  return { tests, policies: [...policies.values()].filter((p) => p !== undefined), diagnostics, texts, files: found.length };
}

/**
 * Whether a test file's `policy` path may be read as policy: a .promise file or a directory (one
 * that does not exist is left to the loader to say so). Any other file is never read: its lines
 * would be quoted in the errors, and a test file could name /etc/shadow (as an import cannot).
 */
function mayBePolicy(abs: string): boolean {
  if (abs.endsWith(".promise")) return true;
  try {
    const st = statSync(abs, { throwIfNoEntry: false });
    return st === undefined || st.isDirectory();
  } catch {
    // not examinable (EACCES, ELOOP): the loader says why when it reads it
    return true;
  }
}

/** The policy, checked; its errors (as `covenant check` gives them) are the test run's. */
function checkPolicy(paths: string[], opts: { include: string[]; today: string }, diagnostics: Diagnostic[], texts: Loaded["texts"]): LoadedPolicy | undefined {
  const loaded = loadPolicy(paths, { include: opts.include, rootOnly: runningAsRoot() });
  const checked = checkFiles(loaded.files, loaded.diagnostics, { today: opts.today });
  const errors = checked.diagnostics.filter((d) => d.severity === "error");
  texts.push(...checked.files.map((f) => ({ path: f.path, text: f.text })));
  diagnostics.push(...errors);
  if (!checked.policy || errors.length > 0) return undefined;
  const keys = new Map<string, string[]>(checked.policy.controls.map((c) => [c.id, []]));
  for (const k of promiseKeys(checked.policy)) keys.get(k.control.id)!.push(k.key);
  return { paths, policy: checked.policy, files: checked.files, keys };
}

/** The test's fixture as a checked manifest; its problems as diagnostics at the fixture. */
function loadFixture(testPath: string, test: PolicyTest, diagnostics: Diagnostic[]): { manifest: SandboxManifest; origin: RunnableTest["origin"] } | undefined {
  const at = (why: string, span: Span) => diagnostics.push(diagnostic("E407", why, span, { suggestion: "see docs/sandbox.md for what a fixture holds" }));
  try {
    if (test.fixture.path !== undefined) {
      const from = resolve(dirname(testPath), test.fixture.path);
      const text = readManifest(from);
      return { manifest: isolated(parseManifest(text, relative(process.cwd(), from) || basename(from))), origin: { from, text } };
    }
    const text = JSON.stringify(test.fixture.inline);
    // its `extends` is found beside the test file, and its problems are named by the test
    return { manifest: isolated(parseManifest(text, testPath)), origin: { from: `${resolve(testPath)} (test "${test.name}")`, text } };
  } catch (err) {
    if (!(err instanceof SandboxError)) throw err;
    // one diagnostic per problem, each naming the manifest it is in (a base may be at fault)
    let file = "";
    for (const line of err.message.split("\n")) {
      if (line.startsWith("  - ")) at(`fixture ${file}: ${line.slice(4)}`, test.fixture.span);
      else if (line.endsWith(":")) file = line.slice(0, -1);
      else if (!line.startsWith("(see ")) at(`fixture: ${line}`, test.fixture.span);
    }
    return undefined;
  }
}

/**
 * The facts a test's host has when its fixture does not say: never this machine's, so that a
 * test gives the same result wherever it runs. Time is the exception: without `now`, the
 * calendar facts are the real time's (docs/testing-policies.md).
 */
export const TEST_HOST_FACTS = { hostname: "test-host", fqdn: "test-host", os: "linux", arch: "x86_64", kernel: "0.0.0-test", ip: [] as string[] };

/**
 * The fixture as a test runs it: what it leaves out is empty rather than this machine's (a
 * `covenant run --sandbox` reads the machine's /proc, systemd and facts where its manifest is
 * silent; a test reads none of them).
 */
function isolated(m: SandboxManifest): SandboxManifest {
  return { ...m, proc: m.proc ?? { sysctl: {}, modules: [], mounts: [] }, services: m.services ?? {}, os_release: m.os_release ?? {}, facts: { ...TEST_HOST_FACTS, ...m.facts } };
}

function checkExpectations(test: PolicyTest, policy: LoadedPolicy, diagnostics: Diagnostic[]): void {
  const allKeys = [...policy.keys.values()].flat();
  for (const [id, e] of test.controls) {
    if (policy.keys.has(id)) continue;
    const near = closest(id, policy.keys.keys());
    diagnostics.push(diagnostic("E408", `the policy has no control \`${id}\``, e.span, near !== undefined ? { suggestion: `did you mean \`${near}\`?` } : {}));
  }
  for (const [key, e] of test.promises) {
    if (allKeys.includes(key)) continue;
    const control = key.split("/", 1)[0]!;
    const near = closest(key, allKeys) ?? policy.keys.get(control)?.[0];
    diagnostics.push(diagnostic("E408", `the policy has no promise \`${key}\` (a promise is named control/type:promiser, as \`covenant run --json\` names it)`, e.span, near !== undefined ? { suggestion: `did you mean \`${near}\`?` } : {}));
  }
}
