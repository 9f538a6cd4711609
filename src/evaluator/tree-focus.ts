// The focused evaluation of a directory promise's tree, for the watcher (issue 15): the tree is
// walked whole once (at start-up, after a reload, an overflow, the rescan timer, the schedule),
// and then an evaluation asked for by inotify events looks again only at the entries the events
// named, their parent directories (whose mtime an entry created or removed moves), what lies
// below a named directory (one moved in, or re-created, brings a subtree), and every entry the
// last evaluation found wrong (so a repair, an approval or a change back is seen, and what is
// still wrong is still said). Every other entry was as approved and as promised at the last
// evaluation and no event has named it since: inotify would have, but for a file with other hard
// links (a write or a link through another name tells only that name's directory), so those are
// looked at every time, and a named file newly linked sends the tree to a whole walk, which finds
// its other names. When that cannot be trusted
// (the kernel's queue overflowed, a directory is not watched, the policy or the store changed)
// the watcher asks for whole evaluations instead, and a promise with no memory, whose roots are
// not those walked, or with too much to look at, is walked whole too.
import { dirname } from "node:path";
import { sameObject, type FileIdentity } from "../probes/file-identity.js";

/** What a directory promise keeps of its last evaluation (evaluation-memory.ts). */
export interface TreeMemo {
  /** the promised directories as last seen: host path, device and inode (exactly) */
  roots: RootIdentity[];
  /** entries below them (host paths) that had a finding or a difference last time */
  dirty: Set<string>;
  /**
   * regular files below them with more than one link: a write through another of its names, or a
   * link made or removed elsewhere, sends no event for this name (inotify tells a directory's
   * watch only of what is done through a name in it), so these are looked at every time
   */
  linked: Set<string>;
  /** the notes the last whole walk made (entries not searched, unreadable): still true of the entries not looked at */
  notes: string[];
  /** when the last whole walk was (ISO 8601) */
  walkedAt: string;
}

export interface RootIdentity extends FileIdentity {
  hostPath: string;
}

export interface FocusPlan {
  /** the entries to look at again (host paths), each once */
  look: Set<string>;
  /** those an event named: a directory among them has its subtree walked again */
  named: Set<string>;
}

/** More entries than this to look at, and the tree is walked whole (it costs about the same). */
export const FOCUS_LIMIT = 2_000;

/** Levels of `path` below `root` (an entry of the root is 1), or undefined when it is not below it. */
export function levelBelow(root: string, path: string): number | undefined {
  const prefix = root === "/" ? "/" : `${root}/`;
  if (!path.startsWith(prefix) || path.length === prefix.length) return undefined;
  return path.slice(prefix.length).split("/").length;
}

/** Whether two root lists are the same directories (same paths, same inodes), in the same order. */
export function sameRoots(a: readonly RootIdentity[], b: readonly RootIdentity[]): boolean {
  return a.length === b.length && a.every((r, i) => r.hostPath === b[i]!.hostPath && sameObject(r, b[i]!));
}

/**
 * What to look at for `named` (host paths events named), or undefined when the tree must be walked
 * whole: an event named a root itself (a root renamed, re-created or changed as a whole), or there
 * is too much to look at. Paths outside the roots, or deeper than `maxDepth`, are not the promise's.
 */
export function focusPlan(named: readonly string[], roots: readonly string[], maxDepth: number, memo: TreeMemo): FocusPlan | undefined {
  const look = new Set<string>();
  const mine = new Set<string>();
  for (const path of named) {
    if (roots.includes(path)) return undefined;
    const root = roots.find((r) => levelBelow(r, path) !== undefined);
    if (root === undefined) continue;
    const level = levelBelow(root, path)!;
    if (level > maxDepth) continue;
    look.add(path);
    mine.add(path);
    // its directory's mtime moved when it was created, removed or renamed (the root is looked at anyway)
    if (level > 1) look.add(dirname(path));
  }
  for (const d of memo.dirty) look.add(d);
  for (const l of memo.linked) look.add(l);
  return look.size > FOCUS_LIMIT ? undefined : { look, named: mine };
}

/** Paths in the order a walk meets them: by segment, a directory before what is in it. */
export function walkOrder(a: string, b: string): number {
  const x = a.split("/");
  const y = b.split("/");
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return x.length - y.length;
}
