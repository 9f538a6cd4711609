// The observed state of one watched path, in AIDE's attributes p+i+n+u+g+s+m+l+ftype+sha256:
// permissions, inode, link count, uid, gid, size, mtime, link target, file type, and the sha256
// of a regular file's content. What a finding compares is two of these (file-change.ts).
//
// The path itself is observed, never what a final symbolic link points at, and no link on the
// way is followed either (probes/files.ts reaches files as the change gate does): a watcher
// running as root must not be led to read /etc/shadow or /dev/zero by a link a user planted.
import { join, resolve as resolvePath } from "node:path";
import { hash, sizeText, stat, type FileStat, type FileType } from "../probes/files.js";
import type { ProbeError } from "../probes/result.js";
import { identityOf, sameObject } from "../probes/file-identity.js";

export type { FileType };

/**
 * A path that is there: the probe's metadata of the path itself (FileStat: type, permission
 * bits, owner, group, size (a link's: its target's length, as lstat and AIDE give it), mtime
 * with lstat's fraction, device and inode (another pair at the path is a replacement; the inode
 * number's exact text too at 2^53 and above, file-identity.ts), link
 * count, a link's target, never followed), with `path` as the policy names it (not the host path
 * under an injected root), and the content's digest.
 */
export interface PresentState extends FileStat {
  status: "present";
  /** regular files only: hex sha256 of the content, or its HMAC when `sha256Keyed` (nodiff) */
  sha256?: string;
  /** `sha256` is a keyed digest (an HMAC under the host key): a digest of a secret is never kept */
  sha256Keyed?: true;
  /** regular files only, instead of `sha256`: why the content was not hashed */
  hashSkipped?: string;
}

export interface AbsentState {
  status: "absent";
  path: string;
}

export interface UnreadableState {
  status: "unreadable";
  path: string;
  /** the errno that stopped the observation: EACCES, ELOOP (a link on the way), EIO... */
  code: string;
  reason: string;
}

export type FileState = PresentState | AbsentState | UnreadableState;

/** Files larger than this are described without a content hash unless the caller says otherwise. */
export const DEFAULT_MAX_HASH_BYTES = 256 * 1024 * 1024;

export interface ReadStateOptions {
  /** where the host's file system is: `/` by default; a fixture tree in tests, `/host` in a container */
  root?: string;
  /** a regular file larger than this is not hashed (`hashSkipped` says so); DEFAULT_MAX_HASH_BYTES */
  maxHashBytes?: number;
  /** stops a hash in progress (the state then says the content was not hashed) */
  /** stop reading when aborted (the promise's timeout): an AbortSignal or anything with its `aborted` */
  signal?: { readonly aborted: boolean };
  /** nodiff: the digest kept is this function of the sha256 (an HMAC under the host key), never the sha256 */
  keyDigest?: (sha256: string) => string;
}

// A file replaced between its lstat and the opening of its content is observed again, this
// many times at most, so that metadata and hash describe the same object.
const ATTEMPTS = 3;

/**
 * The state of `path` (under `options.root`). Never throws: a path that does not exist is
 * `absent`, one that cannot be observed is `unreadable` with the errno and the reason.
 */
export async function readFileState(path: string, options: ReadStateOptions = {}): Promise<FileState> {
  return (await readFileStateAndContent(path, options)).state;
}

/**
 * The state, as readFileState gives it, and for a regular file of at most `keepUpTo` bytes the
 * content its digest is of (read once, through the same descriptor): what a copy of the file is
 * made from without reading it again, when it could have changed in between.
 */
export async function readFileStateAndContent(path: string, options: ReadStateOptions & { keepUpTo?: number } = {}): Promise<{ state: FileState; content?: Buffer }> {
  try {
    return await observe(path, options);
  } catch (err) {
    // the probes report their failures rather than throw; this is for what they did not foresee
    const code = (err as NodeJS.ErrnoException).code;
    return { state: { status: "unreadable", path, code: typeof code === "string" ? code : "EIO", reason: `cannot observe ${path}: ${(err as Error).message}` } };
  }
}

async function observe(path: string, options: ReadStateOptions & { keepUpTo?: number }): Promise<{ state: FileState; content?: Buffer }> {
  // normalized first, so that no ".." in the policy's path climbs out of the root
  const hostPath = options.root === undefined ? path : join(options.root, resolvePath("/", path));
  let last: FileState = { status: "absent", path };
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const st = stat(hostPath);
    if (!st.ok) return { state: stateOfError(path, st.error) };
    const s = st.value;
    const state: PresentState = { status: "present", path, type: s.type, mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, mtimeMs: s.mtimeMs, dev: s.dev, inode: s.inode, nlink: s.nlink };
    if (s.inodeExact !== undefined) state.inodeExact = s.inodeExact;
    if (s.linkTarget !== undefined) state.linkTarget = s.linkTarget;
    if (s.type !== "file") return { state };
    const limit = options.maxHashBytes ?? DEFAULT_MAX_HASH_BYTES;
    if (s.size > limit) return { state: { ...state, hashSkipped: `${sizeText(s.size)}, larger than the ${sizeText(limit)} hashed` } };
    const h = await hash(hostPath, "sha256", { maxBytes: limit, expect: identityOf(s), ...(options.signal ? { signal: options.signal } : {}), ...(options.keepUpTo !== undefined ? { keepUpTo: options.keepUpTo } : {}) });
    if (h.ok) {
      const content = h.value.content ? { content: h.value.content } : {};
      if (!options.keyDigest) return { state: { ...state, sha256: h.value.digest }, ...content };
      return { state: { ...state, sha256: options.keyDigest(h.value.digest), sha256Keyed: true }, ...content };
    }
    last = { ...state, hashSkipped: h.error.message };
    // the object went away or was replaced while it was read: observe what is there now
    if (!replacedSince(hostPath, s)) return { state: last };
  }
  return { state: last };
}

function replacedSince(hostPath: string, before: FileStat): boolean {
  const now = stat(hostPath);
  return !now.ok || !sameObject(identityOf(now.value), identityOf(before));
}

/**
 * probes/files.ts says why it could not observe in words and a coarse code; the errno is put
 * back from them: `denied` is EACCES or EPERM (lstat gives only EACCES), a link on the path is
 * ELOOP, and any other failure carries Node's "ECODE: ..." message.
 */
export function stateOfError(path: string, error: ProbeError): AbsentState | UnreadableState {
  if (error.code === "not-found") return { status: "absent", path };
  if (error.code === "denied") return { status: "unreadable", path, code: "EACCES", reason: error.message };
  if (/is a symbolic link, and Covenant never reads or changes a file through a link/.test(error.message)) {
    return { status: "unreadable", path, code: "ELOOP", reason: error.message };
  }
  const errno = /: (E[A-Z0-9]+)\b/.exec(error.message)?.[1] ?? "EIO";
  return { status: "unreadable", path, code: errno, reason: error.message };
}

/** `absent`, `unreadable (EACCES)`, `present` */
export function statusText(state: FileState | undefined): string {
  if (state === undefined || state.status === "absent") return "absent";
  return state.status === "unreadable" ? `unreadable (${state.code})` : "present";
}
