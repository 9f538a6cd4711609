// Expands a path glob from a policy to the paths that exist now: `*`, `?` and `[...]` within
// one segment, `**` across segments (as globToRegExp defines them). Only the directories the
// pattern can reach are listed: `/srv/ledger/*.dat` reads /srv/ledger and nothing else.
import { readdirSync, type Dirent } from "node:fs";
import { join } from "node:path";
import { globToRegExp } from "../checker/glob.js";
import { CannotObserve } from "./contract.js";

const MAGIC = /[*?[\\]/;

export function isGlob(pattern: string): boolean {
  return MAGIC.test(pattern);
}

/**
 * Matching paths, sorted; a pattern without wildcards is returned as is (existing or not).
 * Throws CannotObserve when a directory on the way cannot be read.
 */
/** The literal directory a glob starts from: "/srv/ledger" for "/srv/ledger/*.dat". */
export function globBase(pattern: string): string {
  const segments = pattern.split("/").filter((s, i) => s !== "" || i === 0);
  let base = "/";
  for (let i = 1; i < segments.length && !isGlob(segments[i]!); i++) base = join(base, segments[i]!);
  return base;
}

export function expandGlob(pattern: string, maxDepth = 32): string[] {
  if (!isGlob(pattern)) return [pattern];
  const segments = pattern.split("/").filter((s, i) => s !== "" || i === 0);
  // the literal prefix: the directory to start listing from
  let i = 1;
  while (i < segments.length && !isGlob(segments[i]!)) i++;
  const base = globBase(pattern);
  const out: string[] = [];
  if (segments.slice(i).some((s) => s.includes("**"))) {
    const re = globToRegExp(pattern);
    walk(base, 0, maxDepth, (p) => re.test(p) && out.push(p));
  } else {
    const res = segments.slice(i).map((s) => globToRegExp(s));
    const step = (dir: string, k: number) => {
      for (const e of list(dir)) {
        if (!res[k]!.test(e.name)) continue;
        const p = join(dir, e.name);
        if (k === res.length - 1) out.push(p);
        // never through a link: what a glob names is reached as every file is, without links
        else if (e.isDirectory()) step(p, k + 1);
      }
    };
    step(base, 0);
  }
  return out.sort();
}

function list(dir: string): Dirent[] {
  try {
    const entries = readdirSync(dir, { withFileTypes: true });
    // a name that is not valid UTF-8 cannot be named again once decoded: rather than skip the
    // file silently, say that the promise cannot be judged
    const bad = entries.find((e) => e.name.includes("\uFFFD"));
    if (bad) throw new CannotObserve(`${dir} holds a file whose name is not valid UTF-8 (${JSON.stringify(bad.name)}); it cannot be judged`);
    return entries;
  } catch (err) {
    if (err instanceof CannotObserve) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    // a directory that does not exist matches nothing; one that cannot be read might hold
    // matches, so the promise cannot be judged
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw new CannotObserve(`${dir} cannot be listed (${code}): the files the glob names are unknown`);
  }
}

function walk(dir: string, depth: number, maxDepth: number, visit: (p: string) => void): void {
  for (const e of list(dir)) {
    const p = join(dir, e.name);
    visit(p);
    if (e.isDirectory() && depth < maxDepth) walk(p, depth + 1, maxDepth, visit);
  }
}
