// The entries below a directory promise's directories, as its behaviour (promise-types/directory.ts)
// observes them: depth first, to `max_depth`, links not followed, through the native walk when
// there is one (probes/tree-walk.ts), else entry by entry by path; a name that is not UTF-8 kept
// to be reported, never judged.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import * as files from "../probes/files.js";
import { walkTree, type WalkRecord } from "../probes/tree-walk.js";
import { CannotObserve, type EvalContext } from "./contract.js";
import { policyPathOf } from "./ownership.js";

export interface ObservedEntry {
  /** its name is not valid UTF-8: it cannot be named again, so it is reported (badNames), never judged */
  badName?: true;
  path: string;
  hostPath: string;
  stat?: files.FileStat;
  /** the change time seen with `stat` (entries below a directory): the integrity check's shortcut */
  ctimeMs?: number;
}

/** How many entries are read between two turns of the event loop, so that timeouts fire in a large tree. */
const ENTRIES_PER_TURN = 512;

/** Entries below `dir`, depth first, to `maxDepth` levels; symbolic links are not followed. */
export async function entriesBelow(dir: string, maxDepth: number, ctx: EvalContext, out: ObservedEntry[], notes: string[]): Promise<void> {
  const walked = walkTree(dir, maxDepth);
  if (walked) await fromWalk(walked, maxDepth, ctx, out, notes);
  else await entriesBelowByPath(dir, maxDepth, ctx, out, notes);
}

function unlisted(hostPath: string, code: string, ctx: EvalContext, notes: string[]): void {
  if (code === "ENOENT") {
    notes.push(`${policyPathOf(hostPath, ctx)}: vanished while being read`);
    return;
  }
  // entries that cannot be seen cannot be judged: never read as "nothing to report"
  throw new CannotObserve(`${policyPathOf(hostPath, ctx)} cannot be listed (${code}): what is below it is unknown`);
}

/**
 * An entry whose name is not valid UTF-8 (decoded with U+FFFD, it names no file any more): the
 * entry itself is kept as `badName`, to be reported as a difference of its own, and what is below
 * it is passed over; the rest of the tree is judged. (It used to make the whole promise `error`,
 * and a user who may write in the tree could hide every later change in it that way.)
 */
export function badNameEntry(hostPath: string, ctx: EvalContext): ObservedEntry | "below" | undefined {
  if (!hostPath.includes("\uFFFD")) return undefined;
  const parent = hostPath.slice(0, hostPath.lastIndexOf("/"));
  if (parent.includes("\uFFFD")) return "below";
  return { path: policyPathOf(hostPath, ctx), hostPath, badName: true };
}

/** The native walk's records as the path walk below reports them: the same entries, notes and errors, in the same order. */
async function fromWalk(walked: Iterable<WalkRecord>, maxDepth: number, ctx: EvalContext, out: ObservedEntry[], notes: string[]): Promise<void> {
  let i = 0;
  for (const r of walked) {
    if (i++ % ENTRIES_PER_TURN === ENTRIES_PER_TURN - 1) {
      await new Promise((resolve) => setImmediate(resolve));
      if (ctx.stop.aborted) throw new CannotObserve(`stopped reading below ${policyPathOf(r.hostPath, ctx)} after ${out.length} entries: the timeout expired`);
    }
    const bad = badNameEntry(r.hostPath, ctx);
    if (bad) {
      if (bad !== "below" && r.kind !== "list-error" && r.kind !== "too-deep") out.push(bad);
      continue;
    }
    if (r.kind === "list-error") unlisted(r.hostPath, r.code, ctx, notes);
    else if (r.kind === "too-deep") notes.push(`${policyPathOf(r.hostPath, ctx)}: not searched, deeper than max_depth ${maxDepth}`);
    else if (r.kind === "replaced") throw new CannotObserve(`${policyPathOf(r.hostPath, ctx)} was replaced while being read (it is no longer the directory observed): what is below it is unknown`);
    else {
      if (r.kind === "stat-error") {
        const gone = r.code === "ENOENT" || r.code === "ENOTDIR";
        const why = gone ? "vanished while being read" : r.code === "EACCES" || r.code === "EPERM" ? `permission denied reading ${r.hostPath}` : `cannot read ${r.hostPath}: ${r.code}`;
        notes.push(`${policyPathOf(r.hostPath, ctx)}: ${why}`);
      } else out.push({ path: policyPathOf(r.hostPath, ctx), hostPath: r.hostPath, stat: r.stat, ctimeMs: r.ctimeMs });
    }
  }
}

/** Without the native helper: entry by entry, each reached by its path (files.stat). */
async function entriesBelowByPath(dir: string, maxDepth: number, ctx: EvalContext, out: ObservedEntry[], notes: string[], depth = 1): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    unlisted(dir, (err as NodeJS.ErrnoException).code ?? "EIO", ctx, notes);
    return;
  }
  for (const n of names) {
    if (n.includes("\uFFFD")) {
      out.push({ path: policyPathOf(join(dir, n), ctx), hostPath: join(dir, n), badName: true });
      continue;
    }
    if (out.length % ENTRIES_PER_TURN === ENTRIES_PER_TURN - 1) {
      await new Promise((r) => setImmediate(r));
      if (ctx.stop.aborted) throw new CannotObserve(`stopped reading below ${policyPathOf(dir, ctx)} after ${out.length} entries: the timeout expired`);
    }
    const hostPath = join(dir, n);
    const st = files.stat(hostPath);
    if (!st.ok) {
      notes.push(`${policyPathOf(hostPath, ctx)}: ${st.error.code === "not-found" ? "vanished while being read" : st.error.message}`);
      continue;
    }
    out.push({ path: policyPathOf(hostPath, ctx), hostPath, stat: st.value });
    if (st.value.type === "directory") {
      if (depth < maxDepth) await entriesBelowByPath(hostPath, maxDepth, ctx, out, notes, depth + 1);
      else notes.push(`${policyPathOf(hostPath, ctx)}: not searched, deeper than max_depth ${maxDepth}`);
    }
  }
}
