// Node builtins loaded the first time they are used, not when the module that uses them loads:
// `covenant run` loads the evaluator's and the probes' modules at every start, and a run that
// starts no program and reads no address needs neither node:child_process (which loads node:net
// and node:dgram with it) nor node:net (bench/run: a run from the policy cache).
import { createRequire } from "node:module";

let childProcessModule: typeof import("node:child_process") | undefined;
let netModule: typeof import("node:net") | undefined;

// made at the first use, not when this module loads: the start-up snapshot's CommonJS build has no import.meta.url
const load = <T>(name: string): T => createRequire(import.meta.url)(name) as T;

/** node:child_process, loaded at the first call. */
export function childProcess(): typeof import("node:child_process") {
  return (childProcessModule ??= load<typeof import("node:child_process")>("node:child_process"));
}

/** node:net, loaded at the first call. */
export function net(): typeof import("node:net") {
  return (netModule ??= load<typeof import("node:net")>("node:net"));
}
