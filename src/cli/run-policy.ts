// The policy `run` and `watch` evaluate: from the policy cache when the files read now are the
// ones it was made from (policy-cache.ts), else checked in full (checked-policy.ts, loaded only
// then: a run from the cache never loads the parser, the checker or their libraries) and the
// cache written once the command has made sure of its state directory.
import { loadPolicyWith, type LoadOptions } from "../checker/load-walk.js";
import { checkStateDirectory } from "../store/trust.js";
import { runningAsRoot } from "../trust/strict-modes.js";
import type { CacheOptions, CheckedPolicy } from "./checked-policy.js";
import { handOverFromSnapshot } from "./hand-over.js";
import type { Io } from "./io.js";
import { cacheKey, decodePolicy, readPolicyCache, sameFiles, sha256, type CachedFile } from "./policy-cache.js";

export interface RunPolicyOptions {
  include: string[];
  maxFileSize?: number;
  /** today's date (YYYY-MM-DD), for the full check's waiver warnings */
  today: string;
  /** absent: no cache (--no-policy-cache, or Covenant run from its sources) */
  cache?: CacheOptions;
}

/** The checked policy of `paths`, from the cache when it may be; the exit status after saying why when it cannot be run. */
export async function loadRunPolicy(paths: string[], opts: RunPolicyOptions, io: Io): Promise<CheckedPolicy | number> {
  const named = paths.length > 0 ? paths : ["."];
  const load: LoadOptions = { include: opts.include, rootOnly: runningAsRoot(), ...(opts.maxFileSize !== undefined ? { maxFileSize: opts.maxFileSize } : {}) };
  let why = "";
  if (opts.cache) {
    const hit = fromCache(named, load, opts.cache);
    if ("policy" in hit) return hit;
    why = hit.why;
  }
  // the run snapshot holds no parser or checker (hand-over.ts): nothing is read yet beyond the policy and its cache
  handOverFromSnapshot(why === "" ? "a policy checked in full" : `the policy cache: ${why}`);
  const { loadCheckedPolicy } = await import("./checked-policy.js");
  return loadCheckedPolicy(paths, { include: opts.include, ...(opts.maxFileSize !== undefined ? { maxFileSize: opts.maxFileSize } : {}), today: opts.today, ...(opts.cache ? { cache: { ...opts.cache, why } } : {}) }, io);
}

/** The parser a walk from the cache is given: never called, since a file it would parse is not the cache's. */
const unparsed = (path: string, text: string) => ({ path, text, statements: [], comments: [], diagnostics: [], incomplete: [] });

/** The policy from the cache when the files read now are the ones it was made from; else why not. */
function fromCache(named: string[], load: LoadOptions, cache: CacheOptions): CheckedPolicy | { why: string } {
  let dir: string;
  try {
    // as root, a state directory another user could change is refused later, with its fix; not read here
    dir = checkStateDirectory(cache.stateDir);
  } catch {
    return { why: "the state directory is not trusted" };
  }
  const found = readPolicyCache(dir, cacheKey(named, load), cache.identity);
  if ("why" in found) return found;
  const byPath = new Map(found.files.map((f) => [f.path, f]));
  const read: Omit<CachedFile, "imports">[] = [];
  let changed = false;
  // the loader finds, judges (as root) and reads every file as always; a file whose text the
  // cache holds gets the cache's import statements instead of a parse; any other ends the walk's use
  const loaded = loadPolicyWith(named, {
    ...load,
    known: (path, text, real) => {
      const digest = sha256(text);
      read.push({ path, real, sha256: digest });
      const was = byPath.get(path);
      if (was && was.real === real && was.sha256 === digest) return was.imports;
      changed = true;
      return [];
    },
  }, unparsed);
  if (loaded.diagnostics.some((d) => d.severity === "error")) return { why: "a policy file could not be read as before" };
  if (changed || !sameFiles(read, found.files)) return { why: "the policy's files changed" };
  const policy = decodePolicy(found);
  if (!policy) return { why: "damaged (its policy cannot be decoded)" };
  return { policy, files: loaded.files.map((f) => ({ path: f.path, text: f.text })), cache: { state: "hit" } };
}
/** Writes the cache of a policy checked in full into the state directory made sure of; what went wrong, if anything (the command goes on: the next one checks in full again). */
export function saveCache(checked: CheckedPolicy, stateDir: string): string | undefined {
  try {
    checked.saveCache?.(stateDir);
    return undefined;
  } catch (err) {
    return `the policy cache could not be written in ${stateDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}
