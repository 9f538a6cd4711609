// Who, for the watcher's findings: as soon as a batch of changes arrives, the processes at the
// changed paths (one /proc scan for the whole batch: a writer that lives milliseconds is gone by
// the evaluation) and, without waiting on the loop, the audit records of who made each change.
// After the evaluation both are attached to the findings by path.
import type { PromiseResult } from "../evaluator/engine.js";
import type { Attribution, FileFinding, FileHolder } from "../evaluator/file-finding.js";
import { isDeficiency } from "../evaluator/outcomes.js";
import { scanHolders, targetsOf } from "../probes/file-holders.js";
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

export class BatchWho {
  private readonly seenPaths = new Map<string, PathWho>();
  private readonly pending = new Set<Promise<void>>();
  /** what the last scan cost, for the watcher's notes and docs */
  lastScan: { tookMs: number; processes: number; descriptors: number } | undefined;

  constructor(
    private readonly roots: Pick<ProbeRoots, "proc" | "etc">,
    private readonly audit: AuditWho | undefined,
    private readonly fsRoot = "/",
  ) {}

  /** A batch arrived: the holders of its paths now, and who made the changes (asynchronously). */
  seen(paths: readonly string[], firstAt: number): void {
    const fresh = paths.slice(0, MAX_PATHS);
    const targets = targetsOf(fresh, this.fsRoot);
    const scan = scanHolders(this.roots, targets, { budgetMs: SCAN_BUDGET_MS });
    this.lastScan = { tookMs: scan.tookMs, processes: scan.processes, descriptors: scan.descriptors };
    const note = [...scan.notes, ...(paths.length > MAX_PATHS ? [`only the first ${MAX_PATHS} of ${paths.length} changed paths were looked at`] : [])].join("; ");
    for (const t of targets) {
      const held: FileHolder[] = (scan.holders.get(t.path) ?? []).map((h) => ({ ...h }));
      const earlier = this.seenPaths.get(t.path);
      // a path changed again before the evaluation: the holders of both moments
      const holders = earlier ? [...earlier.holders, ...held.filter((h) => !earlier.holders.some((e) => e.pid === h.pid && e.via === h.via))] : held;
      const entry: PathWho = { holders, ...(note ? { holdersNote: note } : {}), ...(earlier?.madeBy ? { madeBy: earlier.madeBy } : {}) };
      this.seenPaths.set(t.path, entry);
    }
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
   * another file's included, for as long as the writing lasts.
   */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
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
