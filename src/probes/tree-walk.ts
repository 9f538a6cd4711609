// A directory's whole tree in one call to the native helper (native/safe_walk.c): the root
// reached without following any link, every entry below it observed relative to its directory's
// descriptor (fstatat without following, readlinkat), a subdirectory entered only when it is the
// directory just observed. A realtime `directory` promise re-reads its tree on every event, and
// reaching 10,000 entries one full path at a time was most of an evaluation (bench/watch).
import { constants } from "node:os";
import { join } from "node:path";
import { safeFs } from "../native/safe-fs.js";
import { inodeExactOf } from "./file-identity.js";
import { typeOfMode, type FileStat } from "./files.js";

/** What the walk found at one path below the root, in the order of a depth-first walk of sorted names. */
export type WalkRecord =
  | { kind: "entry"; hostPath: string; stat: FileStat; ctimeMs: number }
  /** the entry could not be observed (it went away between the listing and its fstatat: ENOENT) */
  | { kind: "stat-error"; hostPath: string; code: string }
  /** the directory (the root itself too) could not be listed */
  | { kind: "list-error"; hostPath: string; code: string }
  /** a directory at max_depth: not entered */
  | { kind: "too-deep"; hostPath: string }
  /** a directory swapped for another object (or a link) between its fstatat and its opening: not entered */
  | { kind: "replaced"; hostPath: string };

const FIELDS = 15;
const KINDS = ["entry", "stat-error", "list-error", "too-deep", "replaced"] as const;

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/**
 * The entries below the directory `root` (absolute) to `maxDepth` levels, or undefined when the
 * native helper is not built (the caller then walks path by path). Times are computed as Node's
 * fs.Stats computes them, so that a state approved from an lstat compares equal.
 */
export function walkTree(root: string, maxDepth: number): Iterable<WalkRecord> | undefined {
  const native = safeFs();
  if (!native) return undefined;
  return records(root, native.walkTree(root, maxDepth));
}

// made one at a time as the caller reads them: a tree of 100,000 entries is not held twice
function* records(root: string, { paths, numbers, links }: { paths: string[]; numbers: Float64Array; links: (string | undefined)[] }): Generator<WalkRecord> {
  for (let i = 0; i < paths.length; i++) {
    const n = i * FIELDS;
    const kind = KINDS[numbers[n]!]!;
    const hostPath = paths[i] === "" ? root : join(root, paths[i]!);
    if (kind === "entry") {
      const mode = numbers[n + 2]!;
      const stat: FileStat = {
        path: hostPath,
        type: typeOfMode(mode),
        mode: mode & 0o7777,
        uid: numbers[n + 3]!,
        gid: numbers[n + 4]!,
        size: numbers[n + 5]!,
        mtimeMs: numbers[n + 6]! * 1e3 + numbers[n + 7]! / 1e6,
        inode: numbers[n + 11]!,
        dev: numbers[n + 10]!,
        nlink: numbers[n + 12]!,
      };
      const exact = inodeExactOf(numbers[n + 13]!, numbers[n + 14]!);
      if (exact !== undefined) stat.inodeExact = exact;
      const target = links[i];
      if (target !== undefined) stat.linkTarget = target;
      yield { kind, hostPath, stat, ctimeMs: numbers[n + 8]! * 1e3 + numbers[n + 9]! / 1e6 };
    } else if (kind === "stat-error" || kind === "list-error") {
      yield { kind, hostPath, code: errnoNames.get(numbers[n + 1]!) ?? "EIO" };
    } else yield { kind, hostPath };
  }
}
