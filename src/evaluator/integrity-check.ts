// The comparison of every path under an integrity promise (a `file` promise with `integrity` or
// `watch = realtime`, a `directory` promise with `watch = realtime` and its tree) with its
// approved state, as `aide --check` compares a tree with its database: each path that changed is
// a FileFinding with the changes in AIDE's terms and, for a small text file, a diff against the
// approved copy (masked). A path with no approved state yet is approved as first seen, as today's
// baselines are, and the run says so. Only integrity promises pay for this: each of their paths is
// hashed once per evaluation.
import { createHash } from "node:crypto";
import { relative, sep } from "node:path";
import { readSmall, statWithChangeTime, type FileStat } from "../probes/files.js";
import { approvedCopyOf, diffAgainstCopy } from "../integrity/approved-copy.js";
import { DIFF_DEFAULTS } from "../integrity/diff.js";
import { globToRegExp } from "../checker/glob.js";
import { globBase } from "./glob-paths.js";
import { DEFAULT_SECRET_PATTERNS, linearPattern, type SecretPattern } from "../integrity/mask.js";
import { describeChange } from "../integrity/file-change.js";
import { ctimeProvesContent } from "../integrity/ctime-trust.js";
import { readFileState, type FileState, type PresentState } from "../integrity/file-state.js";
import { attr, CannotObserve, type ApprovedEntry, type ApprovedState, type EvalContext } from "./contract.js";
import type { CheckedPromise } from "../checker/policy.js";
import type { DiffEvidence, FileFinding } from "./file-finding.js";
import { identityOf, sameStoredObject } from "../probes/file-identity.js";

/** A path to compare: as the policy names it, and where it is on the host. */
export interface IntegrityTarget {
  path: string;
  hostPath: string;
  /** what the promise already observed of a regular file (its lstat and sha256): not read again */
  observed?: { stat: FileStat; sha256: string };
  /**
   * what a walk of its tree just saw of it without following a link (native/safe_walk.c): its
   * metadata and change time, used instead of observing it again by its path
   */
  seen?: { stat: FileStat; ctimeMs: number };
}

/** A directory whose whole tree (to `maxDepth` levels) is under the promise: entries gone from it are found too. */
export interface IntegrityTree {
  root: IntegrityTarget;
  entries: IntegrityTarget[];
  maxDepth: number;
}

/** The files a glob promiser names now (host paths), and how a host path is named in the policy. */
export interface IntegrityGlob {
  hostPattern: string;
  files: IntegrityTarget[];
  policyPathOf(hostPath: string): string;
}

export interface IntegrityOutcome {
  findings: FileFinding[];
  notes: string[];
}

/** The secret patterns a promise's diffs and copies are masked with: the built-in ones, and its own `mask` (run on RE2's linear-time engine). */
export function secretPatternsOf(p: CheckedPromise): readonly SecretPattern[] {
  const own = attr<string[]>(p, "mask") ?? [];
  return own.length === 0 ? DEFAULT_SECRET_PATTERNS : [...DEFAULT_SECRET_PATTERNS, ...own.map(linearPattern)];
}

/** Whether a promise keeps its paths to an approved integrity state. */
export function isIntegrityPromise(p: CheckedPromise): boolean {
  if (p.attributes["exists"] === false) return false; // `optional` keeps an approved state: a file approved there that goes is `deleted`
  if (p.type === "file") return attr<string>(p, "integrity") !== undefined || attr<string>(p, "watch") === "realtime";
  return p.type === "directory" && (attr<string>(p, "watch") === "realtime" || attr<string>(p, "integrity") !== undefined);
}

/** The largest file an approved copy is kept of, and a diff made of (the diff's cap). */
export const COPY_MAX_BYTES = DIFF_DEFAULTS.maxBytes;
const PER_TURN = 256;

interface Compare {
  p: CheckedPromise;
  ctx: EvalContext;
  nodiff: boolean;
  /** the secret patterns: the built-in ones and the promise's `mask` */
  patterns: readonly SecretPattern[];
  maxHashBytes?: number;
  /** paths seen first, approved as seen, not yet recorded (recorded FIRST_CHUNK at a time) */
  first: { hostPath: string; entry: ApprovedEntry }[];
  firstCount: number;
  /** the policy's path of the first of them, for the note */
  firstPath?: string;
  findings: FileFinding[];
  notes: string[];
  seen: number;
}

/**
 * Compares `files` (each a path on its own) and `trees` with their approved states. Throws
 * CannotObserve when a stored state was changed outside Covenant (the promise is then `error`,
 * as for a tampered baseline).
 */
export async function checkIntegrity(p: CheckedPromise, ctx: EvalContext, files: IntegrityTarget[], trees: IntegrityTree[] = [], globs: IntegrityGlob[] = []): Promise<IntegrityOutcome> {
  const c = comparison(p, ctx);
  for (const f of files) await comparePath(c, f, true);
  for (const g of globs) await compareGlob(c, g);
  for (const t of trees) {
    // a tree never approved is approved whole, as first seen; in one approved, a new entry is `created`
    const rootKnown = ctx.integrity.approved(t.root.hostPath) !== undefined;
    await comparePath(c, t.root, true);
    const present = new Set<string>();
    for (const e of t.entries) {
      present.add(e.hostPath);
      const pending = comparePath(c, e, !rootKnown);
      if (pending) await pending;
    }
    if (!rootKnown) continue;
    for (const gone of ctx.integrity.approvedBelow(t.root.hostPath)) {
      if (present.has(gone) || depthBelow(t.root.hostPath, gone) > t.maxDepth) continue;
      await comparePath(c, { path: t.root.path + gone.slice(t.root.hostPath.length), hostPath: gone }, false);
    }
  }
  recordFirstSeen(c);
  if (c.firstCount > 0) {
    const what = c.firstCount === 1 ? c.firstPath! : `${c.firstCount} paths`;
    c.notes.push(`integrity state of ${what} recorded as approved (first observation)`);
  }
  return { findings: c.findings, notes: c.notes };
}

/**
 * The files a glob names, kept as a set, as AIDE keeps a selection: while none of the paths it
 * matches was ever approved, what it names is approved as first seen; once any was, a file it
 * names that was never approved is `created`, and one approved that it no longer names (deleted,
 * or renamed so that it no longer matches) is `deleted`.
 */
async function compareGlob(c: Compare, g: IntegrityGlob): Promise<void> {
  const re = globToRegExp(g.hostPattern);
  const approved = c.ctx.integrity.approvedBelow(globBase(g.hostPattern)).filter((h) => re.test(h));
  // the selection itself is approved once, as a tree's root is: a set emptied by approved
  // removals is still known, and a file made in it afterwards is created, not first seen
  const selection = globSelectionKey(g.hostPattern);
  const known = approved.length > 0 || c.ctx.integrity.approved(selection) !== undefined;
  // (approved with the files first seen, in the same approval record, and not counted among them)
  if (!known && !c.ctx.integrity.readOnly) c.first.push({ hostPath: selection, entry: { state: { status: "absent" }, noCopy: "the selection of a glob: its files are kept each under its own path" } });
  const present = new Set<string>();
  for (const f of g.files) {
    present.add(f.hostPath);
    const pending = comparePath(c, f, !known);
    if (pending) await pending;
  }
  for (const gone of approved) {
    if (present.has(gone)) continue;
    const pending = comparePath(c, { path: g.policyPathOf(gone), hostPath: gone }, false);
    if (pending) await pending;
  }
}

/** The key a glob's selection is approved under (not a path: no path starts so). */
export function globSelectionKey(hostPattern: string): string {
  return `glob:${hostPattern}`;
}

/**
 * Compares entries of trees whose roots are approved, and nothing else: the focused evaluation
 * of a directory promise (tree-focus.ts), which looks again only at the entries events named.
 * As in a whole tree, an entry with no approved state is `created`, never approved as first seen.
 */
export async function checkIntegrityOfEntries(p: CheckedPromise, ctx: EvalContext, entries: IntegrityTarget[]): Promise<IntegrityOutcome> {
  const c = comparison(p, ctx);
  for (const e of entries) {
    const pending = comparePath(c, e, false);
    if (pending) await pending;
  }
  return { findings: c.findings, notes: c.notes };
}

function comparison(p: CheckedPromise, ctx: EvalContext): Compare {
  const c: Compare = { p, ctx, nodiff: attr<boolean>(p, "nodiff") ?? false, patterns: secretPatternsOf(p), first: [], firstCount: 0, findings: [], notes: [], seen: 0 };
  const maxHash = attr<number>(p, "max_hash_size");
  if (maxHash !== undefined) c.maxHashBytes = maxHash;
  return c;
}

/**
 * How many first-seen states are recorded at once: a tree of 100,000 files seen for the first time
 * (the watcher's first start) is approved in approvals of this many paths, each in the history,
 * instead of holding every state and approved copy in memory until the end (bench/watch: 302 MB
 * at 100,000 files before, within the 200 MB goal after).
 */
const FIRST_CHUNK = 1_000;

function recordFirstSeen(c: Compare): void {
  if (c.first.length === 0) return;
  c.ctx.integrity.recordFirst(`${c.p.type}:${String(c.p.promiser)}`, c.first, c.ctx.now.toISOString());
  c.first = [];
}

function depthBelow(root: string, path: string): number {
  return relative(root, path).split(sep).length;
}

/**
 * Compares one path; undefined when it was found as approved without reading anything (the common
 * case, decided synchronously: a tree of 10,000 unchanged entries costs no promise per entry).
 */
function comparePath(c: Compare, t: IntegrityTarget, approveIfNew: boolean): Promise<void> | undefined {
  if (++c.seen % PER_TURN === 0) {
    return new Promise<void>((r) => setImmediate(r)).then(() => {
      if (c.ctx.stop.aborted) throw new CannotObserve(`stopped comparing integrity states after ${c.seen} paths: the timeout expired`);
      return compareNow(c, t, approveIfNew);
    });
  }
  return compareNow(c, t, approveIfNew);
}

function compareNow(c: Compare, t: IntegrityTarget, approveIfNew: boolean): Promise<void> | undefined {
  const approved = c.ctx.integrity.approved(t.hostPath);
  if (approved?.tampered) throw new CannotObserve(`the approved integrity state of ${t.path} was changed outside Covenant (its seal does not match); run \`covenant verify\``);
  // the common case, unchanged: compared field by field before anything is built (bench/run)
  if (approved && t.observed && !c.nodiff && unchanged(approved.state, t.observed.stat, t.observed.sha256)) return undefined;
  // a regular file whose metadata and change time are as approved was not written since: its
  // content is not read again (a tree of 20,000 files is compared at the speed of lstat)
  // (a file the promise hashed itself is compared by that hash)
  const before = t.observed ? undefined : (t.seen ?? statWithChangeTime(t.hostPath));
  const a = approved?.state as (ApprovedEntry["state"] & { ctimeMs?: number }) | undefined;
  // (unless a write through a shared mapping could have left no trace in the ctime: ctime-trust.ts)
  if (a?.status === "present" && a.type === "file" && a.sha256 !== undefined && a.ctimeMs !== undefined && before && before.ctimeMs === a.ctimeMs && !c.nodiff && unchanged(a, before.stat, a.sha256) && ctimeProvesContent(a.ctimeMs, approved!.approvedAt, before.stat.dev)) return undefined;
  return compareObserved(c, t, approveIfNew, approved, before);
}

async function compareObserved(c: Compare, t: IntegrityTarget, approveIfNew: boolean, approved: ApprovedState | undefined, before: { stat: FileStat; ctimeMs: number } | undefined): Promise<void> {
  const now = await observeState(c, t);
  if (!approved) {
    if (!approveIfNew) {
      const changes = describeChange(undefined, now);
      if (changes.length > 0) c.findings.push(finding(c, t, changes, undefined, now));
      return;
    }
    if (now.status === "unreadable") {
      c.notes.push(`${t.path}: no integrity state recorded: ${now.reason}`);
      return;
    }
    if (c.ctx.integrity.readOnly) {
      c.notes.push(`${t.path}: no approved integrity state yet; a dry run approves none`);
      return;
    }
    c.first.push({ hostPath: t.hostPath, entry: entryOf(c, t, now, before?.ctimeMs) });
    c.firstPath ??= t.path;
    c.firstCount++;
    if (c.first.length >= FIRST_CHUNK) recordFirstSeen(c);
    return;
  }
  const changes = describeChange(comparableApproved(c, t, approved), now);
  if (changes.length > 0) c.findings.push(finding(c, t, changes, approved, now));
}

/** Whether an approved state is exactly what was observed (AIDE's attributes, sha256 not keyed). */
function unchanged(a: ApprovedEntry["state"], s: FileStat, sha256: string): boolean {
  return (
    a.status === "present" && a.sha256Keyed !== true && a.sha256 === sha256 && a.type === s.type && a.mode === s.mode && a.uid === s.uid && a.gid === s.gid &&
    a.size === s.size && a.mtimeMs === s.mtimeMs && sameStoredObject(a, s) && a.nlink === s.nlink && a.linkTarget === s.linkTarget && a.hashSkipped === undefined
  );
}

/** The path's state now, with the policy's path; a `nodiff` file's digest keyed. */
async function observeState(c: Compare, t: IntegrityTarget): Promise<FileState> {
  if (t.observed) {
    const { path: _p, ...st } = t.observed.stat;
    const sha256 = t.observed.sha256;
    return { status: "present", path: t.path, ...st, ...(c.nodiff ? { sha256: c.ctx.baselines.keyDigest(sha256), sha256Keyed: true as const } : { sha256 }) };
  }
  // a directory, link or special file seen by the walk: its metadata is all its state (no content to read)
  if (t.seen && t.seen.stat.type !== "file") {
    const { path: _p, ...st } = t.seen.stat;
    return { status: "present", path: t.path, ...st };
  }
  const opts: Parameters<typeof readFileState>[1] = { signal: c.ctx.stop };
  if (c.maxHashBytes !== undefined) opts.maxHashBytes = c.maxHashBytes;
  if (c.nodiff) opts.keyDigest = (d) => c.ctx.baselines.keyDigest(d);
  const s = await readFileState(t.hostPath, opts);
  return { ...s, path: t.path };
}

/** The approved state as a FileState of the policy's path; keyed as the state now is, when `nodiff` was set or lifted since. */
function comparableApproved(c: Compare, t: IntegrityTarget, a: ApprovedState): FileState {
  const s = { ...a.state, path: t.path } as FileState;
  if (s.status === "present" && s.sha256 !== undefined && c.nodiff && !s.sha256Keyed) return { ...s, sha256: c.ctx.baselines.keyDigest(s.sha256), sha256Keyed: true };
  return s;
}

/**
 * What is approved of a path as it is now: its state, and a masked copy of a small text file
 * (made from `content` when given: the bytes `now`'s digest is of, as readFileStateAndContent
 * hands them back; else read again, and refused if they no longer hash to it).
 */
export function entryOf(c: { ctx: EvalContext; nodiff: boolean; patterns: readonly SecretPattern[] }, t: IntegrityTarget, now: FileState, ctimeMs?: number, content?: Buffer): ApprovedEntry {
  const { path: _path, ...state } = now as PresentState;
  // the change time read before the content was: a write after it moves it, so a later check re-reads
  const withCtime = ctimeMs !== undefined && now.status === "present" && now.type === "file" && !now.sha256Keyed ? { ...state, ctimeMs } : state;
  const entry: ApprovedEntry = { state: now.status === "absent" ? { status: "absent" } : (withCtime as ApprovedEntry["state"]) };
  if (now.status !== "present" || now.type !== "file") return entry;
  if (c.nodiff) return { ...entry, noCopy: "nodiff: no copy of the content is kept" };
  const bytes = content !== undefined && content.length === now.size && now.sha256 !== undefined && now.size <= COPY_MAX_BYTES ? content : contentOf(t.hostPath, now);
  if (typeof bytes === "string") return { ...entry, noCopy: bytes };
  const copy = approvedCopyOf(bytes, (l) => c.ctx.integrity.keyLine(l), { secretPatterns: c.patterns });
  return copy.ok ? { ...entry, copy: copy.copy } : { ...entry, noCopy: copy.reason };
}

/** The content of a small file as it was hashed, or why it cannot be had. */
function contentOf(hostPath: string, s: PresentState): Buffer | string {
  if (s.sha256 === undefined) return s.hashSkipped ?? "the content was not hashed";
  if (s.size > COPY_MAX_BYTES) return `the content is larger than the ${COPY_MAX_BYTES / 1024} KiB a copy is kept of`;
  const r = readSmall(hostPath, COPY_MAX_BYTES, identityOf(s));
  if (!r.ok) return r.error.message;
  if (!s.sha256Keyed && createHash("sha256").update(r.value).digest("hex") !== s.sha256) return "the content changed again while it was read";
  return r.value;
}

function finding(c: Compare, t: IntegrityTarget, changes: FileFinding["changes"], approved: ApprovedState | undefined, now: FileState): FileFinding {
  const f: FileFinding = { path: t.path, changes };
  const evidence = diffEvidence(c, t, changes, approved, now);
  if (evidence) f.diff = evidence;
  return f;
}

/** The diff of a regular file's content change, or why there is none; undefined when no content is involved. */
function diffEvidence(c: Compare, t: IntegrityTarget, changes: FileFinding["changes"], approved: ApprovedState | undefined, now: FileState): DiffEvidence | undefined {
  const kinds = new Set(changes.map((d) => d.kind));
  const wasFile = approved?.state.status === "present" && approved.state.type === "file";
  const isFile = now.status === "present" && now.type === "file";
  if (!kinds.has("content") && !kinds.has("created") && !kinds.has("deleted") && !kinds.has("type")) return undefined;
  if (!wasFile && !isFile) return undefined;
  if (c.nodiff) return { kind: "none", reason: "nodiff: the content is never shown" };
  if (!wasFile) return { kind: "none", reason: "no approved content to compare with: the file is new" };
  if (!isFile) return { kind: "none", reason: now.status === "present" ? `it is no longer a regular file (${now.type})` : "the file is gone" };
  if (!approved) return { kind: "none", reason: "no approved content to compare with" };
  if (approved.noCopy !== undefined) return { kind: "none", reason: `no approved copy kept: ${approved.noCopy}` };
  const kept = approved.copy ? { copy: approved.copy } : (c.ctx.integrity.approvedCopy?.(t.hostPath, approved.record) ?? { none: "no approved copy kept" });
  if ("none" in kept) return { kind: "none", reason: kept.none };
  const content = contentOf(t.hostPath, now as PresentState);
  if (typeof content === "string") return { kind: "none", reason: content };
  const d = diffAgainstCopy(kept.copy, content, (l) => c.ctx.integrity.keyLine(l), { oldLabel: `${t.path} (approved ${approved.approvedAt})`, newLabel: `${t.path} (now)`, secretPatterns: c.patterns });
  if (d.kind === "same") return { kind: "none", reason: "the text is the same line for line (the difference is not in its lines)" };
  return d;
}
