// The policy a command runs, loaded and checked: the errors said (file:line:col, all at once,
// then the summary line) and exit 2 when there are any, or when nothing is left to evaluate.
// `covenant run` and `covenant watch` load their policy this one way.
import { checkFiles } from "../checker/check.js";
import { loadPolicy } from "../checker/load.js";
import { nothingToEvaluate } from "../checker/nothing.js";
import type { Policy } from "../checker/policy.js";
import { runningAsRoot } from "../trust/strict-modes.js";
import { EXIT } from "./exit-codes.js";
import type { Io } from "./io.js";
import { renderDiagnostic, SourceMap, summaryLine } from "./render.js";

export interface CheckedPolicy {
  policy: Policy;
  /** the files as checked (for lines, and the policy's hash) */
  files: { path: string; text: string }[];
}

/** Loads and checks `paths` (the current directory when none); the exit status after saying why when it cannot be run. */
export function loadCheckedPolicy(paths: string[], opts: { include: string[]; maxFileSize?: number; today: string }, io: Io): CheckedPolicy | number {
  const named = paths.length > 0 ? paths : ["."];
  // as root, a policy is code root runs: it must be root's alone (checker/policy-trust.ts), in a sandbox too
  const loaded = loadPolicy(named, { include: opts.include, rootOnly: runningAsRoot(), ...(opts.maxFileSize !== undefined ? { maxFileSize: opts.maxFileSize } : {}) });
  const checked = checkFiles(loaded.files, loaded.diagnostics, { today: opts.today });
  // a policy with no promise checks nothing: it must never be reported as kept (exit 2)
  const nothing = nothingToEvaluate(named, loaded.emptyDirectories, checked.files, checked.diagnostics, checked.policy);
  if (nothing) checked.diagnostics.push(nothing);
  const errors = checked.diagnostics.filter((d) => d.severity === "error");
  if (!checked.policy || errors.length > 0) {
    const map = new SourceMap(checked.files);
    for (const d of errors) io.err(`${renderDiagnostic(d, map, io.errStyle)}\n`);
    io.err(summaryLine(checked.diagnostics, checked.files.length));
    return EXIT.policyError;
  }
  return { policy: checked.policy, files: checked.files };
}
