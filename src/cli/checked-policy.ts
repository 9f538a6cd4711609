// The policy a command runs, loaded and checked: the errors said (file:line:col, all at once,
// then the summary line) and exit 2 when there are any, or when nothing is left to evaluate.
// `covenant run` and `covenant watch` load their policy this one way, after the policy cache
// (run-policy.ts) had none to give: then they write it (policy-cache.ts).
import { checkFiles } from "../checker/check.js";
import { loadPolicy, type LoadOptions } from "../checker/load.js";
import { nothingToEvaluate } from "../checker/nothing.js";
import type { Policy } from "../checker/policy.js";
import type { ImportDecl } from "../parser/ast.js";
import { runningAsRoot } from "../trust/strict-modes.js";
import { EXIT } from "./exit-codes.js";
import type { Io } from "./io.js";
import { cacheKey, sha256, writePolicyCache, type CachedFile, type CacheIdentity } from "./policy-cache.js";
import { SourceMap } from "../parser/source-map.js";
import { renderDiagnostic, summaryLine } from "./render.js";

/** How the policy was had: from the cache, or checked (and why the cache was not used), or without a cache. */
export type PolicyCacheUse = { state: "hit" } | { state: "checked"; why: string } | { state: "off" };

export interface CheckedPolicy {
  policy: Policy;
  /** the files as checked (for lines, and the policy's hash) */
  files: { path: string; text: string }[];
  cache: PolicyCacheUse;
  /**
   * Writes the policy's cache into the state directory once the command made sure of it
   * (ensureStateDir): present after a full check with a cache asked for. Errors are the system's.
   */
  saveCache?: (stateDir: string) => void;
}

export interface CacheOptions {
  /** the state directory the command will use: its cache is read only if it exists and is trusted */
  stateDir: string;
  identity: CacheIdentity;
}

/** Loads and checks `paths` (the current directory when none); the exit status after saying why when it cannot be run. */
export function loadCheckedPolicy(paths: string[], opts: { include: string[]; maxFileSize?: number; today: string; cache?: CacheOptions & { why: string } }, io: Io): CheckedPolicy | number {
  const named = paths.length > 0 ? paths : ["."];
  // as root, a policy is code root runs: it must be root's alone (checker/policy-trust.ts), in a sandbox too
  const load: LoadOptions = { include: opts.include, rootOnly: runningAsRoot(), ...(opts.maxFileSize !== undefined ? { maxFileSize: opts.maxFileSize } : {}) };
  const key = cacheKey(named, load);
  // the real path of each file read, for the cache (the loader knows it; the files do not say it)
  const reals = new Map<string, string>();
  const loaded = loadPolicy(named, opts.cache ? { ...load, known: (path, _text, real) => void reals.set(path, real) } : load);
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
  const policy = checked.policy;
  const out: CheckedPolicy = { policy, files: checked.files, cache: opts.cache ? { state: "checked", why: opts.cache.why } : { state: "off" } };
  if (opts.cache) {
    const identity = opts.cache.identity;
    const files: CachedFile[] = checked.files.map((f) => ({ path: f.path, real: reals.get(f.path) ?? "", sha256: sha256(f.text), imports: f.statements.filter((s): s is ImportDecl => s.kind === "import") }));
    // written only when every file's real path is known (a file the loader read, each one)
    if (files.every((f) => f.real !== "")) out.saveCache = (stateDir) => writePolicyCache(stateDir, key, identity, files, policy);
  }
  return out;
}
