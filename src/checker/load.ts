// Loading a policy: load-walk.ts finds, judges and reads its files and follows imports; this
// module gives it the parser. Kept apart so that a run from the policy cache, which parses
// nothing, never loads the grammar and its libraries (cli/run-policy.ts).
import { parseSource } from "../parser/parse.js";
import { loadPolicyWith, type LoadedPolicy, type LoadOptions } from "./load-walk.js";

export * from "./load-walk.js";

export function loadPolicy(paths: string[], options: LoadOptions = {}): LoadedPolicy {
  return loadPolicyWith(paths, options, parseSource);
}
