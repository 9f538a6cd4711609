// `covenant integrity init [CONTROL|PATH...]` records the approved state of every integrity
// promise's paths (or the named ones), as `aide --init` does; `covenant approve CONTROL|PATH
// --reason ...` accepts the current state as approved: the stored state and content copy, the
// integrity baseline, and a promise's `baseline` copy itself, so that a later `repair = content`
// cannot undo an approved change. Both take the run lock, write who ran them and why into the
// hash-chained history, then evaluate what they approved (a run), so that a deficiency the
// approval settles is closed, saying by whom and why.
import { lstatSync, type BigIntStats } from "node:fs";
import { resolve as resolvePath } from "node:path";
import type { CheckedPromise, Policy } from "../../checker/policy.js";
import { globToRegExp } from "../../checker/glob.js";
import type { Baseline } from "../../evaluator/contract.js";
import { evaluate, promiseKeys, type PromiseResult } from "../../evaluator/engine.js";
import { FileChanges } from "../../evaluator/file-changes.js";
import { isGlob } from "../../evaluator/glob-paths.js";
import { IntegrityCapture } from "../../evaluator/integrity-capture.js";
import { isIntegrityPromise } from "../../evaluator/integrity-check.js";
import { isDeficiency } from "../../evaluator/outcomes.js";
import { readFacts } from "../../facts/host.js";
import * as files from "../../probes/files.js";
import { defaultRoots } from "../../probes/result.js";
import type { ApprovalBody } from "../../store/records.js";
import type { StateStore } from "../../store/store.js";
import { loadCheckedPolicy } from "../checked-policy.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { evaluatedKeys, evaluateRecorded, runSummary } from "../../run/record.js";
import { withStoreForWriting } from "../store-access.js";
import { loginUid, operatingSystemUser } from "./deficiencies.js";
import { identityOf, identityOfStats } from "../../probes/file-identity.js";

export interface ApproveOptions {
  state?: string;
  /** the policy files or directories (the current directory when none) */
  policy: string[];
  include: string[];
  reason?: string;
  by?: string;
  json: boolean;
  now?: Date;
}

const MAX_REASON = 1000;
const MAX_BY = 100;

export interface Selection {
  keys: Set<string>;
  select: (hostPath: string) => boolean;
  paths: string[];
}

export function runIntegrityInit(targets: string[], opts: ApproveOptions, io: Io): Promise<number> {
  return approveFlow("init", targets, opts, io);
}

export function runApprove(target: string, opts: ApproveOptions, io: Io): Promise<number> {
  if ((opts.reason ?? "").trim().length === 0) {
    io.err("covenant approve: --reason wants the reason in words, such as a change ticket (it is kept in the history)");
    return Promise.resolve(EXIT.policyError);
  }
  return approveFlow("approve", [target], opts, io);
}

async function approveFlow(how: "init" | "approve", targets: string[], opts: ApproveOptions, io: Io): Promise<number> {
  const command = how === "init" ? "integrity init" : "approve";
  const reason = opts.reason?.trim();
  const by = opts.by?.trim();
  if ((reason !== undefined && reason.length > MAX_REASON) || (by !== undefined && (by.length === 0 || by.length > MAX_BY))) {
    io.err(`covenant ${command}: ${reason !== undefined && reason.length > MAX_REASON ? `--reason is ${reason.length} characters; at most ${MAX_REASON}` : `--by wants a name of 1 to ${MAX_BY} characters`} (give a ticket reference and a sentence)`);
    return EXIT.policyError;
  }
  const now = opts.now ?? new Date();
  const loaded = loadCheckedPolicy(opts.policy, { include: opts.include, today: now.toISOString().slice(0, 10) }, io);
  if (typeof loaded === "number") return loaded;
  const selection = selectionOf(loaded.policy, targets);
  if (typeof selection === "string") {
    io.err(`covenant ${command}: ${selection}`);
    return EXIT.policyError;
  }
  return withStoreForWriting(opts.state, io, command, async (store) => {
    const user = operatingSystemUser();
    const done = await approveObserved(store, loaded, selection, { how, targets, by: by || user, user, loginUid: loginUid(), ...(reason ? { reason } : {}) }, now);
    if ("problems" in done) {
      for (const p of done.problems) io.err(`covenant ${command}: ${p}`);
      return EXIT.policyError;
    }
    if (opts.json) io.out(JSON.stringify(done, null, 2));
    else io.out(summaryText(how, done, by || user, reason));
    return EXIT.ok;
  });
}

/** Who approves, and why: the command's user, or a decision given on the fleet hub. */
export interface Approver {
  how: "init" | "approve";
  targets: string[];
  by: string;
  user: string;
  loginUid: number | null;
  reason?: string;
  /** the fleet hub's decision this approval applies */
  decision?: string;
}

export interface Approved {
  record: number;
  paths: number;
  removed: number;
  promises: number;
  copies: string[];
  closed: string[];
}

/**
 * Observes the selected integrity promises, approves what was observed (states, baselines,
 * approved copies) with its record, and settles it with a recorded run of those promises; or says
 * (already escaped) why nothing was approved. `holds` may refuse what was observed: an approval
 * given on the fleet hub for a state the host no longer observes.
 */
export async function approveObserved(store: StateStore, loaded: { policy: Policy; files: { path: string; text: string }[] }, selection: Selection, who: Approver, now: Date, holds?: (seen: PromiseResult[]) => string | undefined): Promise<Approved | { problems: string[] }> {
  const capture = new IntegrityCapture(store, selection.select);
  const facts = readFacts({ now, calendar: loaded.policy.calendar, etcRoot: defaultRoots.etc });
  const seen = await evaluate(loaded.policy, { roots: defaultRoots, dryRun: true, captureIntegrity: true, integrity: capture, baselines: store, samples: store, facts, now, only: selection.keys });
  const failed = seen.results.filter((r) => r.outcome === "error");
  if (failed.length > 0) return { problems: [...failed.map((r) => `${escapeText(r.key)}: ${escapeText(r.reason)}`), `nothing approved: ${failed.length === 1 ? "a promise" : `${failed.length} promises`} could not be observed`] };
  const refused = holds?.(seen.results);
  if (refused !== undefined) return { problems: [refused] };
  const removed = capture.removed(selection.paths);
  if (capture.captured.size === 0 && removed.length === 0) return { problems: [`nothing to approve: no path of ${who.targets.map(escapeText).join(", ") || "the policy's integrity promises"} exists or was approved before`] };
  const promises = new Map(promiseKeys(loaded.policy).map((k) => [`${k.promise.type}:${String(k.promise.promiser)}`, k.promise]));
  const at = new Date().toISOString();
  const copies = who.how === "approve" ? replaceApprovedCopies(capture, promises) : [];
  if (typeof copies === "string") return { problems: [`nothing approved: ${escapeText(copies)}`] };
  const body: Omit<ApprovalBody, "paths" | "sample" | "digest" | "removed"> = { how: who.how, targets: who.targets.length > 0 ? who.targets : ["(every integrity promise)"], at, by: who.by, user: who.user, loginUid: who.loginUid };
  if (who.reason) body.reason = who.reason;
  if (copies.length > 0) body.copies = copies;
  if (who.decision !== undefined) body.decision = who.decision;
  const entries = [...capture.captured].map(([hostPath, c]) => ({ hostPath, entry: c.entry }));
  const record = store.approveStates(entries, removed, body, await baselinesOf(capture, promises, at));
  const closed = await settle(store, loaded, selection, { by: who.by, reason: who.reason ?? (who.how === "init" ? "integrity init" : ""), record }, now);
  return { record, paths: entries.length, removed: removed.length, promises: selection.keys.size, copies, closed };
}

function summaryText(how: "init" | "approve", s: { record: number; paths: number; removed: number; promises: number; copies: string[]; closed: string[] }, by: string, reason: string | undefined): string {
  const lines = [
    `${how === "init" ? "recorded the approved state of" : "approved the current state of"} ${s.paths} path${s.paths === 1 ? "" : "s"}${s.removed > 0 ? ` (${s.removed} no longer there, removed)` : ""} of ${s.promises} integrity promise${s.promises === 1 ? "" : "s"}, by ${escapeText(by)}${reason ? `: ${escapeText(reason)}` : ""}; history record ${s.record}`,
  ];
  for (const c of s.copies) lines.push(`approved copy replaced: ${escapeText(c)}`);
  for (const d of s.closed) lines.push(`closed ${d}: approved by ${escapeText(by)}${reason ? `: ${escapeText(reason)}` : ""}`);
  return lines.join("\n");
}

/** The integrity promises the targets name (controls, or paths under them), and which host paths to approve. */
function selectionOf(policy: Policy, targets: string[]): Selection | string {
  const integrity = promiseKeys(policy).filter((k) => isIntegrityPromise(k.promise));
  if (integrity.length === 0) return "the policy has no integrity promise (a `file` promise with `integrity` or `watch = realtime`, or a `directory` promise with `watch = realtime`)";
  if (targets.length === 0) return { keys: new Set(integrity.map((k) => k.key)), select: () => true, paths: [] };
  const keys = new Set<string>();
  const paths: string[] = [];
  let everything = false;
  for (const t of targets) {
    const ofControl = integrity.filter((k) => k.control.id === t);
    if (ofControl.length > 0) {
      ofControl.forEach((k) => keys.add(k.key));
      everything = true;
      continue;
    }
    if (!t.startsWith("/")) return `\`${escapeText(t)}\` is neither a control with an integrity promise in the policy nor an absolute path`;
    const path = resolvePath(t);
    const covering = integrity.filter((k) => covers(k.promise, path));
    if (covering.length === 0) return `no integrity promise of the policy covers ${escapeText(path)}`;
    covering.forEach((k) => keys.add(k.key));
    paths.push(path);
  }
  if (everything && paths.length > 0) return "name either controls or paths, not both";
  const select = everything ? () => true : (p: string) => paths.some((t) => p === t || t.startsWith(`${p}/`) || p.startsWith(`${t}/`));
  return { keys, select, paths };
}

/** Whether the promise keeps `path` to an approved state: its file (or a glob's), or its directory's tree. */
function covers(p: CheckedPromise, path: string): boolean {
  const promiser = String(p.promiser);
  const matches = (candidate: string) => (isGlob(promiser) ? globToRegExp(promiser).test(candidate) : candidate === promiser);
  if (p.type === "file") return matches(path);
  for (let at = path; ; at = at.slice(0, at.lastIndexOf("/")) || "/") {
    if (matches(at)) return true;
    if (at === "/") return false;
  }
}

/** The integrity baselines (`integrity = sha256|sha512`) to approve with the states: the digests of the files as captured. */
async function baselinesOf(capture: IntegrityCapture, promises: Map<string, CheckedPromise>, at: string): Promise<{ path: string; baseline: Baseline }[]> {
  const out: { path: string; baseline: Baseline }[] = [];
  for (const [hostPath, c] of capture.captured) {
    const p = promises.get(c.promise);
    const algorithm = p?.type === "file" ? (p.attributes["integrity"] as Baseline["algorithm"] | undefined) : undefined;
    const s = c.entry.state;
    if (!algorithm || s.status !== "present" || s.type !== "file" || s.sha256 === undefined) continue;
    let digest = s.sha256;
    if (algorithm === "sha512") {
      const h = await files.hash(hostPath, "sha512", { expect: identityOf(s) });
      if (!h.ok) continue; // judged on the next run, which says why
      digest = h.value.digest;
    }
    out.push({ path: hostPath, baseline: { algorithm, digest, size: s.size, mode: s.mode, uid: s.uid, gid: s.gid, mtimeMs: s.mtimeMs, approvedAt: at, ...(s.sha256Keyed && algorithm === "sha256" ? { keyed: true } : {}) } });
  }
  return out;
}

/**
 * Each approved file's `baseline` copy replaced with its content as approved: written beside the
 * copy under a new name, checked to hold the approved sha256, and renamed over it, through
 * descriptors reached without following links (file-changes.ts); the copy keeps its own mode and
 * owner. Returns the copies replaced, or why one could not be (nothing is then approved).
 */
function replaceApprovedCopies(capture: IntegrityCapture, promises: Map<string, CheckedPromise>): string[] | string {
  const replaced: string[] = [];
  const changes = new FileChanges();
  try {
    for (const [hostPath, c] of capture.captured) {
      const p = promises.get(c.promise);
      const copy = p?.type === "file" ? (p.attributes["baseline"] as string | undefined) : undefined;
      const s = c.entry.state;
      if (copy === undefined || s.status !== "present" || s.type !== "file") continue;
      const old = lstatOrUndefined(copy);
      try {
        changes.restore(copy, hostPath, old ? { expect: identityOfStats(old) } : {}, {
          algorithm: "sha256",
          digest: s.sha256Keyed ? undefined : s.sha256,
          mode: old ? Number(old.mode) & 0o7777 : 0o600,
          uid: old ? Number(old.uid) : process.getuid?.(),
          gid: old ? Number(old.gid) : process.getgid?.(),
        });
      } catch (err) {
        return `the approved copy ${copy} of ${c.promise} cannot be replaced: ${(err as Error).message}`;
      }
      replaced.push(copy);
    }
  } finally {
    changes.close();
  }
  return replaced;
}

/** The approved copy's metadata, in bigint for its exact identity; undefined unless a regular file. */
function lstatOrUndefined(path: string): BigIntStats | undefined {
  try {
    const st = lstatSync(path, { bigint: true });
    return st.isFile() ? st : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Evaluates the approved promises as a run, recorded: a deficiency the approval settled is
 * resolved in it, saying who approved and why. Returns the deficiencies closed.
 */
async function settle(store: StateStore, loaded: { policy: Policy; files: { path: string; text: string }[] }, selection: Selection, approval: { by: string; reason: string; record: number }, now: Date): Promise<string[]> {
  const openBefore = new Set(store.listDeficiencies().filter((d) => selection.keys.has(d.key)).map((d) => d.id));
  const started = new Date();
  const notes: string[] = [];
  const recorded = await evaluateRecorded(
    store,
    {
      policy: loaded.policy,
      files: loaded.files,
      roots: defaultRoots,
      dryRun: false,
      etcRoot: defaultRoots.etc,
      started: now.getTime() > started.getTime() ? now : started,
      deadline: Date.now() + 10 * 60_000,
      kind: "run",
      only: selection.keys,
      annotate: (r) => {
        if (isDeficiency(r.outcome)) return;
        r.approval = approval;
        r.notes.push(`approved by ${approval.by}${approval.reason ? `: ${approval.reason}` : ""} (history record ${approval.record})`);
      },
    },
    notes,
  );
  store.finishRun({ ...runSummary(recorded, { started, finished: new Date(), files: loaded.files, dryRun: false, notes }), kind: "run" }, loaded.files, evaluatedKeys(recorded));
  const stillOpen = new Set(store.listDeficiencies().map((d) => d.id));
  return [...openBefore].filter((id) => !stillOpen.has(id)).sort();
}
