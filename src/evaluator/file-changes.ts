// Changes to files, made only through descriptors reached without following links, and only to
// the object that was observed. The change gate's file operations (chmod, chown, mkdir, restore)
// live here; see native/safe_fs.c for why paths alone cannot be trusted.
//
// Each change resolves its path once (no symbolic link anywhere in it is followed; in a sandbox,
// the path cannot leave the sandbox), checks the descriptor's device and inode against what the
// promise observed, exactly (probes/file-identity.ts: an inode number above 2^53 is no number),
// and then changes that descriptor's object. A mismatch means the path now names something
// else: the change fails with "changed while being repaired" and nothing is changed anywhere.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, fsyncSync, openSync, readSync, realpathSync, writeSync, type BigIntStats } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { safeFs, safeFsUnavailableReason, type SafeFsAddon } from "../native/safe-fs.js";
import { identityOfDescriptor, identityOfStats, sameObject, type FileIdentity } from "../probes/file-identity.js";
import { firstLink } from "../probes/files.js";

/** Which object a path named when it was observed: device and inode number, exactly (identityOf a FileStat). */
export type Identity = FileIdentity;

/** A change that was not made, and why; `status` says how the gate records it. */
export class ChangeRefused extends Error {
  constructor(
    message: string,
    readonly status: "failed" | "held",
  ) {
    super(message);
  }
}

/** What a restored file must be: the content's digest (checked as it is copied), its mode and owner. */
export interface RestoreTarget {
  algorithm: "sha256" | "sha512";
  /** the approved copy's digest when it was observed; absent: not checked */
  digest?: string | undefined;
  mode?: number | undefined;
  /** with no `mode`: the approved copy's mode, without the bits outside this mask */
  maxMode?: number | undefined;
  uid?: number | undefined;
  gid?: number | undefined;
}

export interface ChangeGuard {
  /** the object observed at this path; absent for an object the repair creates */
  expect?: Identity | undefined;
  /** a regular file with more than one name may be changed (its other names may lie outside the policy) */
  allowHardlinks?: boolean | undefined;
}

export class FileChanges {
  private base: number | undefined;

  /** @param confineTo a sandbox: paths outside it are refused, and none can be reached through it */
  constructor(private readonly confineTo?: string) {}

  chmod(path: string, mode: number, guard: ChangeGuard): void {
    const native = addon();
    this.withObject(path, guard, (fd) => native.chmod(fd, mode));
  }

  chown(path: string, uid: number | undefined, gid: number | undefined, guard: ChangeGuard): void {
    const native = addon();
    this.withObject(path, guard, (fd) => native.chown(fd, uid ?? -1, gid ?? -1));
  }

  /**
   * Creates the directory and any missing parent (0755), one component at a time; the last gets
   * `mode` exactly, and the owner and group given, through the descriptor of the directory this
   * call created. A directory that exists by the time the change is made was made by someone
   * else: it is not touched.
   */
  mkdir(path: string, mode: number | undefined, uid: number | undefined, gid: number | undefined): void {
    const native = addon();
    const abs = resolve(path);
    const missing: string[] = [];
    let existing = abs;
    let fd: number | undefined;
    while (fd === undefined) {
      try {
        fd = this.reach(existing);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // a missing component, or a file where a directory should be: look further up
        if ((code !== "ENOENT" && code !== "ENOTDIR") || existing === dirname(existing)) throw this.explain(err, abs);
        missing.unshift(basename(existing));
        existing = dirname(existing);
      }
    }
    try {
      if (missing.length === 0) throw changedWhileRepaired(path, "it exists now, made by someone else since it was observed missing");
      if (!fstatSync(fd).isDirectory()) throw new ChangeRefused(`${existing} is not a directory`, "failed");
      for (const [i, name] of missing.entries()) {
        const last = i === missing.length - 1;
        native.mkdirAt(fd, name, last && mode !== undefined ? mode : 0o755);
        const next = native.openAt(fd, name, native.O_PATH | constants.O_DIRECTORY, 0);
        closeSync(fd);
        fd = next;
      }
      // mkdir's mode passed through the umask; the promised mode is set exactly
      if (mode !== undefined) native.chmod(fd, mode);
      if (uid !== undefined || gid !== undefined) native.chown(fd, uid ?? -1, gid ?? -1);
    } catch (err) {
      throw this.explain(err, abs);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Replaces the file's content with the approved copy: written to a new file of a random name
   * in the same directory (created exclusively, never through a link), checked to hold the
   * approved digest, given its mode and owner, flushed, and renamed over the target, all
   * relative to the directory's descriptor. The mode and owner are the promised ones, else the
   * approved copy's: never the replaced file's, which whoever replaced it chose.
   */
  restore(path: string, from: string, guard: ChangeGuard, want: RestoreTarget): void {
    const abs = resolve(path);
    const name = basename(abs);
    const dir = this.reachChecked(dirname(abs), undefined);
    let src: number | undefined;
    try {
      const target = this.entryStat(dir, name);
      if (target?.isSymbolicLink()) throw new ChangeRefused(`${path} is a symbolic link; its content is not replaced`, "failed");
      const judged = target && identityOfStats(target);
      if (judged && guard.expect && !sameObject(judged, guard.expect)) throw changedWhileRepaired(path);
      if (!target && guard.expect) throw changedWhileRepaired(path, "it no longer exists");
      src = this.openApprovedCopy(from);
      const approved = fstatSync(src);
      const copyFrom = src;
      replaceInDirectory(
        dir,
        name,
        (fd) => {
          const digest = copy(copyFrom, fd, want.algorithm);
          if (want.digest !== undefined && digest !== want.digest) {
            // no digest in the reason: it would be one of the content, which `nodiff` withholds
            throw new ChangeRefused(`the approved copy ${from} changed since it was observed (its ${want.algorithm} is not the one observed); nothing was replaced`, "failed");
          }
          fchownSync(fd, want.uid ?? approved.uid, want.gid ?? approved.gid);
          fchmodSync(fd, want.mode ?? approved.mode & 0o7777 & (want.maxMode ?? 0o7777));
        },
        () => {
          // the entry must still be the object judged a moment ago
          const now = this.entryStat(dir, name);
          if (judged && (!now || !sameObject(identityOfStats(now), judged))) throw changedWhileRepaired(path);
        },
      );
    } catch (err) {
      throw this.explain(err, abs);
    } finally {
      if (src !== undefined) closeSync(src);
      closeSync(dir);
    }
  }

  /**
   * Writes a file of Covenant's own (a drop-in under /etc/sysctl.d or /etc/modprobe.d) with the
   * given content and mode: as `restore` does, through a new file of a random name in the same
   * directory, renamed over the target relative to the directory's descriptor, so that no link
   * is followed. A file there that is not the one observed (or one where none was) is left alone.
   */
  write(path: string, content: string, mode: number, guard: ChangeGuard): void {
    const abs = resolve(path);
    const name = basename(abs);
    const dir = this.reachChecked(dirname(abs), undefined);
    try {
      // the directory itself may be the link (/etc/sysctl.d → elsewhere): reached, not followed
      if (fstatSync(dir).isSymbolicLink()) throw new ChangeRefused(`${path} not written: ${dirname(abs)} is a symbolic link, and repairs never follow links`, "failed");
      const target = this.entryStat(dir, name);
      if (target?.isSymbolicLink()) throw new ChangeRefused(`${path} is a symbolic link; it is not written through`, "failed");
      if (target && !target.isFile()) throw new ChangeRefused(`${path} is not a regular file; it is not replaced`, "failed");
      if (target && guard.expect && !sameObject(identityOfStats(target), guard.expect)) throw changedWhileRepaired(path);
      if (target && !guard.expect) throw changedWhileRepaired(path, "it exists now, made by someone else since it was observed missing");
      if (!target && guard.expect) throw changedWhileRepaired(path, "it no longer exists");
      const bytes = Buffer.from(content, "utf8");
      replaceInDirectory(dir, name, (fd) => {
        writeAll(fd, bytes);
        fchmodSync(fd, mode);
      });
    } catch (err) {
      throw this.explain(err, abs);
    } finally {
      closeSync(dir);
    }
  }

  /**
   * Runs `change` with a descriptor of the directory holding `path` (reached without following
   * a link, and in a sandbox not leaving it) and the entry's name in it; what goes wrong is
   * explained as for every file change. For changes kept in modules of their own (line-edit.ts).
   */
  inDirectory<T>(path: string, change: (dir: number, name: string) => T): T {
    const abs = resolve(path);
    const dir = this.reachChecked(dirname(abs), undefined);
    try {
      if (fstatSync(dir).isSymbolicLink()) throw new ChangeRefused(`${path} not changed: ${dirname(abs)} is a symbolic link, and repairs never follow links`, "failed");
      return change(dir, basename(abs));
    } catch (err) {
      throw this.explain(err, abs);
    } finally {
      closeSync(dir);
    }
  }

  close(): void {
    if (this.base !== undefined) closeSync(this.base);
    this.base = undefined;
  }

  /** Runs `change` on the object at `path` once it is known to be the one observed. */
  private withObject(path: string, guard: ChangeGuard, change: (fd: number) => void): void {
    const fd = this.reachChecked(path, guard.expect);
    try {
      const st = fstatSync(fd);
      if (st.isSymbolicLink()) throw new ChangeRefused(`${path} is a symbolic link; it is not changed`, "failed");
      if (!st.isDirectory() && st.nlink > 1 && !guard.allowHardlinks) {
        throw new ChangeRefused(
          `${path} has ${st.nlink} hard links: a change would reach every other name of the file, which the policy may not name (allow_hardlinks = true permits it)`,
          "held",
        );
      }
      change(fd);
    } catch (err) {
      throw this.explain(err, path);
    } finally {
      closeSync(fd);
    }
  }

  /** A descriptor of the object at `path`, checked against the observed identity. */
  private reachChecked(path: string, expect: Identity | undefined): number {
    let fd: number;
    try {
      fd = this.reach(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT" && expect) throw changedWhileRepaired(path, "it no longer exists");
      throw this.explain(err, path);
    }
    if (expect && !sameObject(identityOfDescriptor(fd), expect)) {
      closeSync(fd);
      throw changedWhileRepaired(path);
    }
    return fd;
  }

  private reach(path: string): number {
    const native = addon();
    const abs = resolve(path);
    if (this.confineTo === undefined) return native.resolve(abs, -1, native.O_PATH);
    const root = resolve(this.confineTo);
    if (abs !== root && !abs.startsWith(root + "/")) throw new ChangeRefused(`${path} is outside the sandbox ${this.confineTo}`, "held");
    // the sandbox's own path is ours (created owner-only); below it the kernel confines the walk
    this.base ??= native.resolve(realpathSync(root), -1, native.O_PATH);
    return native.resolve(abs === root ? "." : abs.slice(root.length + 1), this.base, native.O_PATH);
  }

  /** The entry `name` of the directory `dir`, not followed (in bigint: its exact identity); undefined when there is none. */
  private entryStat(dir: number, name: string): BigIntStats | undefined {
    const native = addon();
    let fd: number;
    try {
      fd = native.openAt(dir, name, native.O_PATH, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    try {
      return fstatSync(fd, { bigint: true });
    } finally {
      closeSync(fd);
    }
  }

  /** The approved copy, opened for reading without following links or blocking: a regular file only. */
  private openApprovedCopy(from: string): number {
    const native = addon();
    const abs = resolve(from);
    const dir = this.reachChecked(dirname(abs), undefined);
    let fd: number;
    try {
      fd = native.openAt(dir, basename(abs), constants.O_RDONLY | constants.O_NONBLOCK, 0);
    } catch (err) {
      throw new ChangeRefused(`the approved copy ${from} cannot be opened: ${codeOf(err)}`, "failed");
    } finally {
      closeSync(dir);
    }
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw new ChangeRefused(`the approved copy ${from} is not a regular file`, "failed");
    }
    return fd;
  }

  /** A refusal in people's words for what the kernel said. */
  private explain(err: unknown, path: string): Error {
    if (err instanceof ChangeRefused) return err;
    const code = codeOf(err);
    if (code === "ELOOP") {
      const link = firstLink(path);
      return new ChangeRefused(
        `${path} not changed: ${link ?? "a component of its path"} is a symbolic link, and repairs never follow links (changed while being repaired, or the policy should name the real path)`,
        "failed",
      );
    }
    if (code === "EXDEV") return new ChangeRefused(`${path} not changed: its path leads outside the sandbox ${this.confineTo ?? ""}`, "held");
    if (code === "ENOTDIR") return changedWhileRepaired(path, "a component of its path is not a directory");
    return err instanceof Error ? err : new Error(String(err));
  }
}

function addon(): SafeFsAddon {
  const native = safeFs();
  if (!native) throw new ChangeRefused(`files are not changed: ${safeFsUnavailableReason()}`, "failed");
  return native;
}

export function changedWhileRepaired(path: string, detail = "it is no longer the file that was observed"): ChangeRefused {
  return new ChangeRefused(`${path} changed while being repaired (${detail}); nothing was changed`, "failed");
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}


/** Copies `from` to `to` and returns the digest of what was copied. */
function copy(from: number, to: number, algorithm: "sha256" | "sha512"): string {
  const h = createHash(algorithm);
  const buf = Buffer.allocUnsafe(1 << 16);
  for (;;) {
    const n = readSync(from, buf, 0, buf.length, null);
    if (n === 0) return h.digest("hex");
    h.update(buf.subarray(0, n));
    let off = 0;
    while (off < n) off += writeSync(to, buf, off, n - off);
  }
}

/** Makes a rename in the directory durable (its descriptor is O_PATH: fsync needs a readable one). */
/**
 * The one way a repair puts new content at a name: a new file of a random name (a short one of
 * our own: the target's name may already be as long as names can be) created exclusively in the
 * directory `dir`, filled by `fill` (content, owner, mode), flushed, and, once `beforeRename`
 * (if given) has checked that the entry is still the object judged, renamed over `name`, all
 * relative to the directory's descriptor, so that no link is followed; the directory is flushed
 * after. On any failure the new file is removed and the entry left as it was.
 */
export function replaceInDirectory(dir: number, name: string, fill: (fd: number) => void, beforeRename?: () => void): void {
  const native = addon();
  const tmp = `.covenant-${randomBytes(8).toString("hex")}`;
  let fd: number | undefined = native.openAt(dir, tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  let renamed = false;
  try {
    fill(fd);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    beforeRename?.();
    native.renameAt(dir, tmp, name);
    renamed = true;
    syncDirectory(dir);
  } finally {
    if (fd !== undefined) closeSync(fd);
    if (!renamed) {
      try {
        native.unlinkAt(dir, tmp);
      } catch {
        // already gone
      }
    }
  }
}

/** Writes all of `bytes` at the descriptor's position. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

export function syncDirectory(dir: number): void {
  let fd: number | undefined;
  try {
    fd = openSync(`/proc/self/fd/${dir}`, constants.O_RDONLY | constants.O_DIRECTORY);
    fsyncSync(fd);
  } catch {
    // without /proc the rename is made, only not yet flushed: the next sync of the file system does it
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
