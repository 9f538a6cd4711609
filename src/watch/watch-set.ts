// What `covenant watch` watches, from the policy: every `file` and `directory` promise with
// `watch = realtime`, as the directories and files to hand to inotify and, for a path an event
// names, the promises it may have changed. A file promise watches its parent directory too: a
// file that does not exist yet, or one replaced by a rename (editors, `mv`, `sed -i`), shows up
// only there. A glob watches the literal directory it starts from, as deep as it can reach.
import { dirname } from "node:path";
import { globToRegExp } from "../checker/glob.js";
import type { Policy } from "../checker/policy.js";
import { promiseKeys } from "../evaluator/engine.js";
import { isGlob } from "../evaluator/glob-paths.js";

/** How deep a `**` glob is followed (as expandGlob does for a run). */
const GLOB_MAX_DEPTH = 32;
/** `max_depth`'s default for a recursive directory promise (directory.ts). */
const DIRECTORY_DEFAULT_DEPTH = 16;

export interface WatchTarget {
  key: string;
  type: "file" | "directory";
  /** the promiser: an absolute path or glob */
  pattern: string;
  /** for a directory: how many levels below it are the promise's (0: the directory itself and its entries) */
  depth: number;
}

export interface WatchRoot {
  path: string;
  /** levels below `path` to watch (undefined: `path` is a file, or a directory watched alone) */
  depth: number;
}

export interface WatchSet {
  targets: WatchTarget[];
  /** what to watch, each path once, with the deepest depth asked for it */
  roots: WatchRoot[];
  /** the keys of the promises an event on `path` may have changed, in policy order */
  affected(path: string): string[];
  /** the keys of the promises an event somewhere directly inside `dir` may have changed (an event that names no entry) */
  affectedWithin(dir: string): string[];
}

/** The literal directory a glob starts from ("/srv/ledger" for "/srv/ledger/*.dat") and how deep it reaches below it. */
function globBase(pattern: string): { base: string; depth: number } {
  const segments = pattern.split("/").filter(Boolean);
  let i = 0;
  while (i < segments.length && !isGlob(segments[i]!)) i++;
  const rest = segments.slice(i);
  const deep = rest.some((s) => s.includes("**"));
  return { base: `/${segments.slice(0, i).join("/")}`, depth: deep ? GLOB_MAX_DEPTH : Math.max(0, rest.length - 1) };
}

/** Realtime file and directory promises of the policy, as watch targets. */
export function watchTargets(policy: Policy): WatchTarget[] {
  const out: WatchTarget[] = [];
  for (const { promise, key } of promiseKeys(policy)) {
    if ((promise.type !== "file" && promise.type !== "directory") || promise.attributes["watch"] !== "realtime") continue;
    if (typeof promise.promiser !== "string") continue;
    const recurse = promise.type === "directory" && promise.attributes["recurse"] === true;
    const maxDepth = typeof promise.attributes["max_depth"] === "number" ? promise.attributes["max_depth"] : DIRECTORY_DEFAULT_DEPTH;
    out.push({ key, type: promise.type, pattern: promise.promiser, depth: recurse ? maxDepth : 0 });
  }
  return out;
}

/** Whether `path` is `dir` itself or lies at most `depth + 1` levels below it (its entries are level 1). */
function within(dir: string, path: string, depth: number): boolean {
  if (path === dir) return true;
  const prefix = dir === "/" ? "/" : `${dir}/`;
  if (!path.startsWith(prefix)) return false;
  return path.slice(prefix.length).split("/").length <= depth + 1;
}

export function watchSet(targets: WatchTarget[]): WatchSet {
  const roots = new Map<string, number>();
  const want = (path: string, depth: number) => roots.set(path, Math.max(roots.get(path) ?? -1, depth));
  const literalFiles = new Map<string, WatchTarget[]>();
  const literalDirs = new Map<string, WatchTarget[]>();
  const globs: { target: WatchTarget; re: RegExp }[] = [];
  for (const t of targets) {
    if (isGlob(t.pattern)) {
      const { base, depth } = globBase(t.pattern);
      want(base, depth + t.depth + 1);
      globs.push({ target: t, re: globToRegExp(t.pattern) });
    } else if (t.type === "file") {
      // the parent, not the file: inotify watches an inode, and a file replaced by a rename is another inode
      want(dirname(t.pattern), 0);
      literalFiles.set(t.pattern, [...(literalFiles.get(t.pattern) ?? []), t]);
    } else {
      want(t.pattern, t.depth);
      // the parent too: the directory itself may be removed, re-created or replaced
      want(dirname(t.pattern), 0);
      literalDirs.set(t.pattern, [...(literalDirs.get(t.pattern) ?? []), t]);
    }
  }
  const order = new Map(targets.map((t, i) => [t.key, i]));
  return {
    targets,
    roots: [...roots].map(([path, depth]) => ({ path, depth })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    affected(path: string): string[] {
      const hit = new Set<string>();
      for (const t of literalFiles.get(path) ?? []) hit.add(t.key);
      // the directory promises above the path, found by walking up (a path is a few levels deep)
      for (let dir = path; ; dir = dirname(dir)) {
        for (const t of literalDirs.get(dir) ?? []) if (within(t.pattern, path, t.depth)) hit.add(t.key);
        if (dir === "/" || dir === ".") break;
      }
      for (const { target, re } of globs) {
        if (target.type === "file" ? re.test(path) : matchesUnder(re, path, target.depth)) hit.add(target.key);
      }
      return [...hit].sort((a, b) => order.get(a)! - order.get(b)!);
    },
    affectedWithin(dir: string): string[] {
      const hit = new Set(this.affected(dir));
      for (const [path, ts] of literalFiles) if (dirname(path) === dir) for (const t of ts) hit.add(t.key);
      for (const [path, ts] of literalDirs) if (dirname(path) === dir) for (const t of ts) hit.add(t.key);
      for (const { target } of globs) if (within(globBase(target.pattern).base, dir, GLOB_MAX_DEPTH + target.depth)) hit.add(target.key);
      return [...hit].sort((a, b) => order.get(a)! - order.get(b)!);
    },
  };
}

/** Whether `path` is a directory the glob matches, or inside one within `depth` levels. */
function matchesUnder(re: RegExp, path: string, depth: number): boolean {
  let dir = path;
  for (let level = 0; level <= depth + 1; level++) {
    if (re.test(dir)) return true;
    const up = dirname(dir);
    if (up === dir) return false;
    dir = up;
  }
  return false;
}
