// The native helper (native/safe_fs.c, built by `npm install`) through which Covenant reaches
// the files it observes and changes: paths resolved once into descriptors without following any
// symbolic link, changes made through those descriptors, processes signalled through pidfds, and
// the run's hard stop. Without it Covenant observes through paths (following links) and refuses
// to change files: Node's path-based calls cannot be made safe against a directory swapped
// mid-repair.
import { requireAddon } from "./addon.js";

export interface SafeFsAddon {
  /**
   * A descriptor of `path`, no link in it followed (base ≥ 0: `path` is relative and confined
   * below base), opened with `flags`: O_PATH (a link as the last component is opened itself), or
   * O_RDONLY | O_NONBLOCK to read (a link there is ELOOP).
   */
  resolve(path: string, base: number, flags: number): number;
  /**
   * The metadata of `path` itself, reached as resolve(path, -1, O_PATH) reaches it, written to
   * `out` (11 numbers): mode, uid, gid, size, mtimeMs, ino, dev, nlink, ctimeMs, then the inode
   * number's high and low 32 bits, exact where `ino`, a double, is not (at 2^53 and above:
   * src/probes/file-identity.ts). One call for resolve, fstat and close; for a link, its target,
   * read through the same descriptor. Throws as resolve does ("cannot reach", with the errno's
   * code), or "cannot stat", or "cannot read the link".
   */
  statPath(path: string, out: Float64Array): string | undefined;
  /** The metadata of what the descriptor `fd` refers to, written to `out` as statPath writes it. */
  fstat(fd: number, out: Float64Array): void;
  /** tests: resolve by the component walk that kernels before 5.6 get, instead of openat2 */
  forceWalk(on: boolean): void;
  /**
   * The entries below the directory `root` (absolute, no link in it followed) to `maxDepth`
   * levels, each observed relative to its directory's descriptor (native/safe_walk.c): paths
   * relative to root, 15 numbers a record (src/probes/tree-walk.ts reads them), link targets.
   */
  walkTree(root: string, maxDepth: number): { paths: string[]; numbers: Float64Array; links: (string | undefined)[] };
  chmod(fd: number, mode: number): void;
  /** -1 leaves an id unchanged */
  chown(fd: number, uid: number, gid: number): void;
  /** `name` is one component; O_NOFOLLOW and O_CLOEXEC are always added */
  openAt(dir: number, name: string, flags: number, mode: number): number;
  mkdirAt(dir: number, name: string, mode: number): void;
  renameAt(dir: number, from: string, to: string): void;
  unlinkAt(dir: number, name: string): void;
  /** a descriptor naming the process, whatever happens to its pid later */
  pidfdOpen(pid: number): number;
  pidfdSignal(fd: number, signal: number): void;
  armHardStop(seconds: number, message: string, lockPath: string, lockBody: string): void;
  disarmHardStop(): void;
  O_PATH: number;
}

let addon: SafeFsAddon | null | undefined;
let whyUnavailable = "";

/** The addon, or null (with the reason in safeFsUnavailableReason()); looked for beside the bundle and beside the sources. */
export function safeFs(): SafeFsAddon | null {
  if (addon !== undefined) return addon;
  const found = requireAddon<SafeFsAddon>("safe_fs.node", import.meta.url);
  if ("addon" in found) return (addon = found.addon);
  whyUnavailable = `the native helper safe_fs is not built (${found.failures}); reinstall with a C compiler available`;
  return (addon = null);
}

export function safeFsUnavailableReason(): string {
  safeFs();
  return whyUnavailable;
}
