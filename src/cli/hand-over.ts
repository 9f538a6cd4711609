// `covenant run` starts from a start-up snapshot of its own (src/cli/run-snapshot.ts, started by
// bin/covenant) that holds what a run of an unchanged policy needs, already loaded. What it does
// not hold (the parser and checker for a policy the cache cannot give, a sandbox, the hub's
// policy) is in the bundle, and the snapshot's own modules cannot import the bundle's ES modules
// (a snapshot's code has no ES loader: run-snapshot.ts imports the whole bundle, apart, through
// vm). So a run from the snapshot that needs one of them stops before it has changed anything,
// having read no more than the policy's files, its cache and the configuration, and the whole
// command is handed to the bundle, which runs it from the start in the same process: the same
// arguments, the same output, the same exit code.
// Everywhere else (the bundle, the sources under test) handing over is never asked for.
import type { Io } from "./io.js";

/** Defined (true) only in the run snapshot's build (scripts/build-run-snapshot.mjs). */
declare const COVENANT_RUN_SNAPSHOT: boolean;

/** Thrown to hand the command to the bundle; carries why, for COVENANT_DEBUG. */
export class HandOver extends Error {
  constructor(readonly why: string) {
    super(`handed over to the bundle: ${why}`);
  }
}

/** Whether this code runs from the run snapshot. */
export function inRunSnapshot(): boolean {
  return typeof COVENANT_RUN_SNAPSHOT !== "undefined" && COVENANT_RUN_SNAPSHOT;
}

/** From the run snapshot: hands the command to the bundle (throws HandOver); elsewhere nothing. */
export function handOverFromSnapshot(why: string): void {
  if (inRunSnapshot()) throw new HandOver(why);
}

/**
 * What the bundle lends a run from the snapshot, once the run is over (nothing to hand over
 * then): the hub's client, which checks the policy it pushes, and so needs the parser.
 */
export interface BundleLoans {
  /** hub-push.ts, described here rather than imported: what reaches this module must not reach the hub's client */
  hubPush: () => Promise<{ pushAfterRun(stateDir: string, io: Io, how: { json: boolean; quiet: boolean }): Promise<void> }>;
}

let lender: (() => Promise<BundleLoans>) | undefined;

/** Set by the snapshot's entry when it starts: how to load the bundle's loans. */
export function lendFromBundle(load: () => Promise<BundleLoans>): void {
  lender = load;
}

/** The bundle's loans, for a run from the snapshot. */
export function fromBundle(): Promise<BundleLoans> {
  if (!lender) throw new Error("the bundle lends only to a run from the snapshot");
  return lender();
}
