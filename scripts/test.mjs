// `npm test`: build, type check, lint, then the test suite; ends with one plain summary line
// `N passed, N failed` (type check and lint count as one check each) so that CI can read it.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";

const steps = [];
function run(name, cmd, args) {
  process.stdout.write(`\n=== ${name}: ${[cmd, ...args].join(" ")}\n`);
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  const ok = r.status === 0;
  steps.push({ name, ok });
  return ok;
}

run("build", "node", ["scripts/build.mjs"]);
run("typecheck", "npx", ["--no-install", "tsc", "-p", "tsconfig.json", "--noEmit"]);
run("lint", "npx", ["--no-install", "eslint", "--max-warnings", "0", "."]);
// The VS Code extension is its own package (editors/vscode): its dependencies are installed here
// when missing (a fresh clone has none) or older than its lock file, and its grammar and
// packaging tests count as one check. Before vitest, whose test/editors/ runs the grammar with
// the extension's vscode-textmate.
const installedLock = "editors/vscode/node_modules/.package-lock.json";
const vscodeInstalled = existsSync(installedLock) && statSync(installedLock).mtimeMs >= statSync("editors/vscode/package-lock.json").mtimeMs;
if (vscodeInstalled || run("editors/vscode: install", "npm", ["ci", "--prefix", "editors/vscode", "--no-audit", "--no-fund"])) {
  run("editors/vscode: npm test", "npm", ["test", "--prefix", "editors/vscode"]);
}

const results = ".vitest-results.json";
rmSync(results, { force: true });
process.stdout.write("\n=== tests: vitest run\n");
const extra = process.argv.slice(2);
const vitest = spawnSync("npx", ["--no-install", "vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${results}`, ...extra], { stdio: "inherit" });

let passed = steps.filter((s) => s.ok).length;
let failed = steps.filter((s) => !s.ok).length;
let skipped = 0;
if (existsSync(results)) {
  const report = JSON.parse(readFileSync(results, "utf8"));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + (report.numTodoTests ?? 0);
  // a suite that failed to load has no tests to count: count it as a failure
  failed += (report.testResults ?? []).filter((f) => f.status === "failed" && (f.assertionResults ?? []).length === 0).length;
  if (report.numTotalTests === 0) failed += 1;
  // Errors outside any test (an exception thrown from a timer, an unhandled rejection) fail
  // vitest's run but no test of the report: counted as one more failure, named below.
  if (vitest.status !== 0 && failed === steps.filter((s) => !s.ok).length) {
    failed += 1;
    steps.push({ name: `vitest exited with ${vitest.status ?? vitest.signal} (errors outside the tests, above)`, ok: false });
  }
} else {
  failed += 1;
  process.stdout.write("vitest wrote no results\n");
}
for (const s of steps.filter((x) => !x.ok)) process.stdout.write(`FAILED: ${s.name}\n`);
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
process.exitCode = failed > 0 ? 1 : 0;
