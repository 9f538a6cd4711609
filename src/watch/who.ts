// Who, for the watcher's findings: as soon as a batch of changes arrives, the processes at the
// changed paths (one /proc scan for the whole batch, started then: a writer that lives
// milliseconds is gone by the evaluation) and the audit records of who made each change, both
// without holding the event loop. The evaluation runs meanwhile; each result is given who for
// its paths (attach) once their scans are done, before it is recorded.
import type { PromiseResult } from "../evaluator/engine.js";
import type { Attribution, FileFinding, FileHolder } from "../evaluator/file-finding.js";
import { isDeficiency } from "../evaluator/outcomes.js";
import { DEFAULT_SECRET_PATTERNS, linearPattern, type SecretPattern } from "../integrity/mask.js";
import type { Policy } from "../checker/policy.js";
import { scanHolders, targetsOf, type HeldTarget } from "../probes/file-holders.js";
import type { ScanEngine } from "../probes/fd-scan.js";
import { splitDevice } from "../probes/locks.js";
import type { ProbeRoots } from "../probes/result.js";
import type { AuditWho } from "./made-by.js";

export interface PathWho {
  holders: FileHolder[];
  holdersNote?: string;
  madeBy?: Attribution;
}

/** How long one holders scan may take before it stops and says it is incomplete, ms. */
const SCAN_BUDGET_MS = 2_000;
/** At most this many paths are looked at per batch (a storm of events in a directory): the rest are said. */
const MAX_PATHS = 200;

/** A batch's paths waiting for a holders scan, and the entries its holders go to. */
interface QueuedBatch {
  targets: HeldTarget[];
  entries: Map<string, PathWho>;
  /** the paths of the batch beyond MAX_PATHS, said */
  note?: string;
  done: Promise<void>;
  scanned: () => void;
}

export class BatchWho {
  private readonly seenPaths = new Map<string, PathWho>();
  private readonly pending = new Set<Promise<void>>();
  /** the holders scans each entry still waits for (an entry with none is complete) */
  private readonly scans = new WeakMap<PathWho, Set<Promise<void>>>();
  private readonly queue: QueuedBatch[] = [];
  private scanning = false;
  /** what the last scan cost, for the watcher's notes and docs */
  lastScan: { tookMs: number; processes: number; descriptors: number; engine: ScanEngine } | undefined;

  /** what holders' command lines are masked with: the built-in patterns and the policy's `mask`s (policySecretPatterns) */
  secretPatterns: readonly SecretPattern[] = DEFAULT_SECRET_PATTERNS;

  constructor(
    private readonly roots: Pick<ProbeRoots, "proc" | "etc">,
    private readonly audit: AuditWho | undefined,
    private readonly fsRoot = "/",
  ) {}

  /**
   * A batch arrived: the files now at its paths are noted at once and the holders scan of them
   * started (off the event loop, fd-scan.ts: this returns at once); who made the changes is
   * looked up asynchronously. A scan runs at a time: batches arriving during one are scanned
   * together right after it (a storm of events costs one scan per scan's length, not one each).
   */
  seen(paths: readonly string[], firstAt: number): void {
    const fresh = paths.slice(0, MAX_PATHS);
    const targets = targetsOf(fresh, this.fsRoot);
    const entries = new Map<string, PathWho>();
    let scanned = () => {};
    const done = new Promise<void>((resolve) => (scanned = resolve));
    for (const t of targets) {
      // a path changed again before the evaluation: one entry, with the holders of both moments
      const entry = this.seenPaths.get(t.path) ?? { holders: [] };
      this.seenPaths.set(t.path, entry);
      entries.set(t.path, entry);
      const waits = this.scans.get(entry) ?? new Set<Promise<void>>();
      waits.add(done);
      this.scans.set(entry, waits);
    }
    this.queue.push({ targets, entries, done, scanned, ...(paths.length > MAX_PATHS ? { note: `only the first ${MAX_PATHS} of ${paths.length} changed paths were looked at` } : {}) });
    this.scanNext();
    if (!this.audit) return;
    const auditTargets = targets.map((t) => ({ path: t.path, files: t.dev !== undefined && t.ino !== undefined ? [{ dev: devText(t.dev), ino: t.ino }] : [] }));
    const p = this.audit
      .attribute(auditTargets, firstAt)
      .then((found) => {
        for (const [path, madeBy] of found) {
          const entry = this.seenPaths.get(path);
          if (entry && !(entry.madeBy?.status === "attributed" && madeBy.status !== "attributed")) entry.madeBy = merge(entry.madeBy, madeBy);
        }
      })
      .catch((err: unknown) => {
        for (const t of targets) {
          const entry = this.seenPaths.get(t.path);
          if (entry && !entry.madeBy) entry.madeBy = { status: "unavailable", reason: `reading the audit log failed: ${err instanceof Error ? err.message : String(err)}` };
        }
      })
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /**
   * Resolves once the audit look-ups under way now are done (each bounded by its wait). Not
   * those that batches arriving meanwhile start: a user writing to a watched file every few ms
   * through a descriptor opened once (no audit record, so each look-up waits its whole bound)
   * starts a new one before the last ends, and waiting for all would hold every evaluation back,
   * another file's included, for as long as the writing lasts. Not the holders scans either: the
   * evaluation runs while they do, and each result waits for its own (attach).
   */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** Starts the scan of every batch queued, unless one runs (it starts them when it ends). */
  private scanNext(): void {
    if (this.scanning || this.queue.length === 0) return;
    this.scanning = true;
    const batches = this.queue.splice(0);
    const all = batches.flatMap((b) => b.targets);
    // the same file at a path in several batches is looked for once (by its exact identity: two
    // versions whose inode numbers round to one double are two files); at most MAX_PATHS paths a scan
    const byPath = new Map<string, HeldTarget[]>();
    for (const t of all) {
      const same = byPath.get(t.path) ?? [];
      if (!same.some((x) => x.dev === t.dev && x.ino === t.ino)) same.push(t);
      if (byPath.has(t.path) || byPath.size < MAX_PATHS) byPath.set(t.path, same);
    }
    const targets = [...byPath.values()].flat();
    scanHolders(this.roots, targets, { budgetMs: SCAN_BUDGET_MS, secretPatterns: this.secretPatterns })
      .then((scan) => {
        this.lastScan = { tookMs: scan.tookMs, processes: scan.processes, descriptors: scan.descriptors, engine: scan.engine };
        for (const b of batches) {
          for (const [path, entry] of b.entries) {
            const cut = byPath.has(path) ? [] : [`not looked at: more than ${MAX_PATHS} changed paths waited for one scan`];
            addHolders(entry, scan.holders.get(path) ?? [], [...scan.notes, ...(b.note ? [b.note] : []), ...cut]);
          }
        }
      })
      .catch((err: unknown) => {
        for (const b of batches) for (const entry of b.entries.values()) addHolders(entry, [], [`the holders scan failed: ${err instanceof Error ? err.message : String(err)}`]);
      })
      .finally(() => {
        for (const b of batches) {
          for (const entry of b.entries.values()) this.scans.get(entry)?.delete(b.done);
          b.scanned();
        }
        this.scanning = false;
        this.scanNext();
      });
  }

  /**
   * attachWho for one result, once the holders scans of the paths it covers are done: the
   * evaluation runs while they do, and only the recording of a result they concern waits
   * (watch.ts annotates each result before it is recorded). At once when none is under way.
   */
  attach(r: PromiseResult, who: ReadonlyMap<string, PathWho>, affected: (path: string) => readonly string[]): void | Promise<void> {
    const waits = [...who].flatMap(([path, w]) => (affected(path).includes(r.key) ? [...(this.scans.get(w) ?? [])] : []));
    if (waits.length === 0) return attachWho([r], who, affected);
    return Promise.all(waits).then(() => attachWho([r], who, affected));
  }

  /**
   * What was gathered for the paths `wanted` accepts (those of the promises an evaluation is
   * about to evaluate), by path; those are cleared, the others kept for their own evaluation.
   */
  take(wanted: (path: string) => boolean = () => true): Map<string, PathWho> {
    const out = new Map<string, PathWho>();
    for (const [path, w] of this.seenPaths) {
      if (!wanted(path)) continue;
      // a change seen after settled() began: its look-up is still under way, and the finding says so
      if (this.audit && !w.madeBy) w.madeBy = { status: "none-found", reason: "the audit look-up for this change was still under way when the evaluation began (the path kept changing)" };
      out.set(path, w);
      this.seenPaths.delete(path);
    }
    return out;
  }
}

/** A scan's holders of a path added to its entry (a process already there by the same means is not repeated), with its notes. */
function addHolders(entry: PathWho, found: readonly FileHolder[], notes: readonly string[]): void {
  const earlier = entry.holders;
  entry.holders = [...earlier, ...found.filter((h) => !earlier.some((e) => e.pid === h.pid && e.via === h.via)).map((h) => ({ ...h }))];
  const said = new Set(entry.holdersNote ? entry.holdersNote.split("; ") : []);
  for (const n of notes) said.add(n);
  if (said.size > 0) entry.holdersNote = [...said].join("; ");
}

function devText(dev: number): string {
  const { major, minor } = splitDevice(dev);
  return `${major}:${minor}`;
}

function merge(a: Attribution | undefined, b: Attribution): Attribution {
  if (a?.status === "attributed" && b.status === "attributed") {
    const changes = [...a.changes, ...b.changes.filter((c) => !a.changes.some((x) => x.serial === c.serial && x.at === c.at))];
    return { status: "attributed", changes };
  }
  return b;
}

/**
 * Attaches who to the findings of the realtime promises, by path. A deficient realtime promise
 * whose result carries no finding for a changed path it covers gets one with no changes listed
 * (the evaluator names the changes), so that who is never lost.
 */
export function attachWho(results: readonly PromiseResult[], who: ReadonlyMap<string, PathWho>, affected: (path: string) => readonly string[]): void {
  const byKey = new Map(results.map((r) => [r.key, r] as const));
  for (const [path, w] of who) {
    for (const key of affected(path)) {
      const r = byKey.get(key);
      if (!r) continue;
      let f = r.findings?.find((x) => x.path === path);
      if (!f) {
        if (!isDeficiency(r.outcome) && r.outcome !== "repaired") continue;
        f = { path, changes: [] } satisfies FileFinding;
        (r.findings ??= []).push(f);
      }
      f.holders = w.holders;
      if (w.holdersNote) f.holdersNote = w.holdersNote;
      if (w.madeBy) f.madeBy = w.madeBy;
    }
  }
}

/**
 * The patterns holders' command lines are masked with: the built-in ones and every `mask` of the
 * policy's realtime promises (one scan serves every promise a batch touches, so each promise's
 * patterns apply to all: masking errs towards hiding).
 */
export function policySecretPatterns(policy: Policy): readonly SecretPattern[] {
  const own = new Set<string>();
  for (const c of policy.controls) for (const p of c.promises) for (const m of (p.attributes["mask"] as string[] | undefined) ?? []) own.add(m);
  return own.size === 0 ? DEFAULT_SECRET_PATTERNS : [...DEFAULT_SECRET_PATTERNS, ...[...own].map(linearPattern)];
}
