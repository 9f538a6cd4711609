// The contract every promise type's behaviour fulfils: observe through the probes, judge the
// desired state against the observed one attribute by attribute, and plan repairs that the
// change gate carries out (or, in a dry run, only reports).
import type { CheckedPromise } from "../checker/policy.js";
import type { ProbeRoots } from "../probes/result.js";
import type { Change, ChangeGate } from "./change-gate.js";
import type { Snapshot } from "./snapshot.js";
import type { FileFinding } from "./file-finding.js";
import type { AbsentState, PresentState } from "../integrity/file-state.js";
import type { ApprovedCopy } from "../integrity/approved-copy.js";
import type { PromiseMemory } from "./evaluation-memory.js";

/** One way in which the host is not as promised. */
export interface Difference {
  /** what within the promise differs: a file path, a peer address, a pid; absent for the promise as a whole */
  subject?: string;
  attribute: string;
  expected: string;
  observed: string;
  /** one human-readable sentence, such as "/srv/ledger/gl.dat: mode is 0644, promised 0640" */
  reason: string;
  /**
   * Set when the observed value itself matters to the record: a file's content hash, so that a
   * second unapproved change to a file already in drift is a new change of state, not the same.
   */
  significant?: string;
}

export type Observation<O> = { ok: true; value: O; notes?: string[]; findings?: FileFinding[] } | { ok: false; error: string };

/** Integrity baselines: the approved content hash and stat of each file, kept in the store. */
export interface BaselineStore {
  get(path: string): Baseline | undefined;
  /** records a first observation as the approved baseline */
  set(path: string, baseline: Baseline): void;
  /** what a `nodiff` file's digest is kept and compared as: keyed (an HMAC under the host key), so no digest of a secret is kept */
  keyDigest(digest: string): string;
}

export interface Baseline {
  algorithm: "sha256" | "sha512";
  digest: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  approvedAt: string;
  /** `digest` is keyed (keyDigest): the baseline of a `nodiff` file */
  keyed?: boolean;
  /** the stored row does not carry a valid seal: it was changed outside Covenant */
  tampered?: boolean;
}

/** A path's state as approved, without its path (the key it is kept under). */
export type ApprovedFileState = Omit<PresentState, "path"> | Omit<AbsentState, "path">;

/** What is approved of one path under an integrity promise (issue 15): AIDE's attributes, and a masked copy of a small text file. */
export interface ApprovedEntry {
  state: ApprovedFileState;
  /** the approved content, secrets masked (approved-copy.ts): small UTF-8 text files without `nodiff` */
  copy?: ApprovedCopy;
  /** why no copy is kept: nodiff, binary, larger than the cap, not a regular file */
  noCopy?: string;
}

export interface ApprovedState extends ApprovedEntry {
  approvedAt: string;
  /** the history record that approved it */
  record: number;
  /** the stored row does not carry a valid seal: it was changed outside Covenant */
  tampered?: boolean;
}

/** The approved integrity state of every path under an integrity promise, kept in the store (schema 7). */
export interface IntegrityStore {
  /** a preview (a dry run): nothing seen first is approved */
  readOnly?: boolean;
  approved(hostPath: string): ApprovedState | undefined;
  /** the masked copy approved with the state (`approved` gives none, to stay cheap), or why none can be used */
  approvedCopy?(hostPath: string, record: number): { copy: ApprovedCopy } | { none: string };
  /** the approved paths strictly below the directory `hostPath`, sorted */
  approvedBelow(hostPath: string): string[];
  /**
   * Records paths seen for the first time as approved (as `aide --init` would), and the approval
   * in the history, in one transaction. `promise` names the promise that saw them.
   */
  recordFirst(promise: string, entries: { hostPath: string; entry: ApprovedEntry }[], at: string): void;
  /** Records the states a repair left at the paths it changed as approved (integrity-repaired.ts), and the approval in the history. */
  recordRepaired?(promise: string, entries: { hostPath: string; entry: ApprovedEntry }[], at: string): void;
  /** the keyed digest a masked line of an approved copy is compared by */
  keyLine(line: string): string;
}

/** Learnt bands for `anomaly` (mean and spread per hour of the week), kept in the store. */
export interface SampleStore {
  /** the band learnt so far for `metric` at this hour of the week, before adding `value` */
  observe(metric: string, hourOfWeek: number, value: number): { count: number; mean: number; stddev: number };
  /** the band learnt so far, learning nothing (a dry run) */
  band(metric: string, hourOfWeek: number): { count: number; mean: number; stddev: number };
}

export interface EvalContext {
  roots: ProbeRoots;
  /** the host path of a path named in the policy (a sandbox maps `/srv` below its own root) */
  hostPath(policyPath: string): string;
  /** shared, lazily read observations of this run (process table, sockets, locks, accounts, mounts) */
  snapshot: Snapshot;
  gate: ChangeGate;
  baselines: BaselineStore;
  /** approved integrity states (file-integrity findings) */
  integrity: IntegrityStore;
  samples: SampleStore;
  now: Date;
  /** aborted when the promise's timeout expires: stop waiting, kill children (made when first asked for) */
  readonly signal: AbortSignal;
  /** `aborted` as the signal's, without making one: what a check between steps reads */
  readonly stop: { readonly aborted: boolean };
  /**
   * The watcher's, for a promise asked for by events alone: the paths they named since its last
   * evaluation. A type that keeps `memory` may look at those (and what it last found wrong)
   * instead of everything; one that does not evaluates the promise whole, as always.
   */
  focus?: readonly string[];
  /** what this promise's type kept of its last evaluation in this process (evaluation-memory.ts) */
  memory?: PromiseMemory;
}

export interface PromiseBehaviour<O = unknown> {
  observe(p: CheckedPromise, ctx: EvalContext): Observation<O> | Promise<Observation<O>>;
  judge(p: CheckedPromise, observed: O, ctx: EvalContext): Difference[];
  /**
   * The changes that would bring the host to the promise, as far as the policy's `repair`
   * allows; empty when it allows none. Differences the changes cannot address stay.
   */
  repair?(p: CheckedPromise, observed: O, differences: Difference[], ctx: EvalContext): Change[];
  /** how long a repaired state may take to show (a started process), in milliseconds */
  settleMs?: number;
  /**
   * Set for a type that would observe the real host behind a sandbox's back (a command reads
   * whatever files it likes): in a sandbox, its promises are `skipped` with this reason.
   */
  notInSandbox?: string;
  /**
   * The recorded answer (a file of ProbeRoots.answers) through which the type observes a sandbox
   * instead: where the sandbox holds it, its promises are evaluated from it, not skipped.
   */
  sandboxAnswer?: string;
}

/** Typed access to a checked attribute. */
export function attr<T>(p: CheckedPromise, name: string): T | undefined {
  return p.attributes[name] as T | undefined;
}

/** The value of a `union` attribute, with the kind of literal it was written as. */
export function unionAttr(p: CheckedPromise, name: string): { kind: string; value: unknown } | undefined {
  return p.attributes[name] as { kind: string; value: unknown } | undefined;
}

/** `repair` as a list, whatever way it was written. */
export function repairs(p: CheckedPromise): string[] {
  const r = p.attributes["repair"];
  if (r === undefined) return [];
  return Array.isArray(r) ? (r as string[]) : [r as string];
}

/**
 * Thrown from deep inside an observation (a directory a glob must list cannot be read): the
 * engine makes the promise `error` with this message, as for `{ ok: false }`.
 */
export class CannotObserve extends Error {}
