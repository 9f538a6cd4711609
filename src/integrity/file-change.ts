// What changed at a watched path, in AIDE's terms: an entry added (created) or removed
// (deleted), or changed in one or more of the attributes p+i+n+u+g+s+m+l+ftype+sha256, each
// difference with its old and new value. Checked against AIDE 0.18 itself (test/watch/file-change
// .test.ts runs `aide --init` and `aide --check` on the same changes when aide is installed).
//
// Where this differs from AIDE, on purpose:
// - AIDE's `s` (size) and `sha256` are one difference here, `content`, holding both.
// - AIDE's `p` is the whole st_mode, type bits included: a directory replaced by a file with the
//   same permission bits is a Perm change there. Here `mode` is the permission, set-id and sticky
//   bits only, and the type is `type` alone (never reported twice).
// - AIDE keeps whole seconds of mtime: two writes in one second show no Mtime change there. Here
//   mtime is compared to lstat's full precision.
// - `inode` compares the device too: the same inode number on another file system (a mount over
//   the path) is another object. AIDE's `i` is the number alone. Inode numbers are compared
//   exactly above 2^53 as well (file-identity.ts), but for a state approved before the exact text
//   was kept, which is compared by the number it kept.
// - AIDE skips, with a warning, a path it cannot lstat, so that an entry that became unreadable is
//   reported as removed. Here it is a `status` change (present → unreadable (EACCES)), never a
//   deletion that did not happen.
// - A file whose content was not hashed on both sides (over the size cap, unreadable) with the
//   same size shows no content difference: none can be told. One hashed and one not is a content
//   difference (AIDE: the sha256 attribute added or removed).
import { inodeText, sameStoredObject } from "../probes/file-identity.js";
import { modeText, sizeText } from "../probes/files.js";
import { statusText, type FileState, type FileType, type PresentState } from "./file-state.js";

/** The content attributes (AIDE's s and sha256) of one side. */
export interface ContentValue {
  size: number;
  sha256?: string;
  sha256Keyed?: true;
  hashSkipped?: string;
}

/** An object's identity: a different pair at the same path is a replacement. */
export interface InodeValue {
  dev: number;
  inode: number;
  /** at 2^53 and above: the inode number's exact decimal text (file-identity.ts) */
  inodeExact?: string;
}

interface Values {
  created: PresentState;
  deleted: PresentState;
  status: string;
  type: FileType;
  "link-target": string | undefined;
  content: ContentValue;
  mode: number;
  owner: number;
  group: number;
  mtime: number;
  inode: InodeValue;
  "link-count": number;
}

export type ChangeKind = keyof Values;

/** One difference: the old value (undefined for `created`), the new (undefined for `deleted`), and one line saying it. */
export type Difference = { [K in ChangeKind]: { kind: K; old: K extends "created" ? undefined : Values[K]; new: K extends "deleted" ? undefined : Values[K]; text: string } }[ChangeKind];

/** The order differences are listed in: AIDE's order of attributes in its detailed report. */
export const CHANGE_ORDER: readonly ChangeKind[] = ["created", "deleted", "status", "type", "link-target", "content", "mode", "owner", "group", "mtime", "inode", "link-count"];

/**
 * The differences between two states of one path, in CHANGE_ORDER; empty when nothing changed.
 * `undefined` is a path never observed, which is as good as absent: its appearance is `created`.
 */
export function describeChange(before: FileState | undefined, after: FileState | undefined): Difference[] {
  const b = before?.status === "absent" ? undefined : before;
  const a = after?.status === "absent" ? undefined : after;
  if (b === undefined && a === undefined) return [];
  if (b?.status === "present" && a === undefined) return [{ kind: "deleted", old: b, new: undefined, text: `deleted (was ${stateText(b)})` }];
  if (b === undefined && a?.status === "present") return [{ kind: "created", old: undefined, new: a, text: `created (${stateText(a)})` }];
  if (b?.status !== "present" || a?.status !== "present") {
    const [from, to] = [statusText(b), statusText(a)];
    if (from === to) return [];
    return [{ kind: "status", old: from, new: to, text: to === "present" ? `observable again (was ${from})` : `${to} (was ${from})` }];
  }
  return attributeChanges(b, a);
}

function attributeChanges(b: PresentState, a: PresentState): Difference[] {
  const out: Difference[] = [];
  if (b.type !== a.type) out.push({ kind: "type", old: b.type, new: a.type, text: `file type ${b.type} → ${a.type}` });
  if (b.linkTarget !== a.linkTarget) {
    out.push({ kind: "link-target", old: b.linkTarget, new: a.linkTarget, text: `link target ${quoteTarget(b.linkTarget)} → ${quoteTarget(a.linkTarget)}` });
  }
  const [bc, ac] = [contentOf(b), contentOf(a)];
  if (bc.size !== ac.size || bc.sha256 !== ac.sha256 || bc.sha256Keyed !== ac.sha256Keyed) out.push({ kind: "content", old: bc, new: ac, text: contentText(b, a) });
  if (b.mode !== a.mode) out.push({ kind: "mode", old: b.mode, new: a.mode, text: `mode ${modeText(b.mode)} → ${modeText(a.mode)}` });
  if (b.uid !== a.uid) out.push({ kind: "owner", old: b.uid, new: a.uid, text: `owner uid ${b.uid} → ${a.uid}` });
  if (b.gid !== a.gid) out.push({ kind: "group", old: b.gid, new: a.gid, text: `group gid ${b.gid} → ${a.gid}` });
  if (b.mtimeMs !== a.mtimeMs) out.push({ kind: "mtime", old: b.mtimeMs, new: a.mtimeMs, text: `mtime ${timeText(b.mtimeMs)} → ${timeText(a.mtimeMs)}` });
  if (!sameStoredObject(b, a)) {
    const dev = b.dev !== a.dev ? `, device ${b.dev} → ${a.dev}` : "";
    out.push({ kind: "inode", old: inodeValue(b), new: inodeValue(a), text: `replaced: inode ${inodeText(b)} → ${inodeText(a)}${dev} (renamed over or re-created)` });
  }
  if (b.nlink !== a.nlink) out.push({ kind: "link-count", old: b.nlink, new: a.nlink, text: `link count ${b.nlink} → ${a.nlink}` });
  return out;
}

function inodeValue(s: PresentState): InodeValue {
  return s.inodeExact === undefined ? { dev: s.dev, inode: s.inode } : { dev: s.dev, inode: s.inode, inodeExact: s.inodeExact };
}

function contentOf(s: PresentState): ContentValue {
  const c: ContentValue = { size: s.size };
  if (s.sha256 !== undefined) c.sha256 = s.sha256;
  if (s.sha256Keyed) c.sha256Keyed = true;
  if (s.hashSkipped !== undefined) c.hashSkipped = s.hashSkipped;
  return c;
}

/** `content sha256 87428fc522803d31… → 0263829989b6fd95…, size 2 bytes → 3 bytes` */
function contentText(b: PresentState, a: PresentState): string {
  const size = `size ${sizeChangeText(b.size, a.size)}`;
  if (b.type !== "file" && a.type !== "file") return size;
  if (b.sha256Keyed || a.sha256Keyed) return `content changed (digests withheld: nodiff), ${size}`;
  return `content sha256 ${digestText(b)} → ${digestText(a)}, ${size}`;
}

/** `2 bytes (unchanged)`, `1.5 KiB → 2.0 MiB`, or exact bytes where the short forms are equal: `4096 → 4097 bytes` */
function sizeChangeText(from: number, to: number): string {
  if (from === to) return `${sizeText(to)} (unchanged)`;
  const [f, t] = [sizeText(from), sizeText(to)];
  return f === t ? `${from} → ${to} bytes` : `${f} → ${t}`;
}

function digestText(s: PresentState): string {
  if (s.sha256 !== undefined) return `${s.sha256.slice(0, 16)}…`;
  if (s.hashSkipped !== undefined) return `(not hashed: ${s.hashSkipped})`;
  return `(none: ${s.type === "symlink" ? "a symbolic link" : `a ${s.type}`})`;
}

function quoteTarget(target: string | undefined): string {
  return target === undefined ? "(none)" : JSON.stringify(target);
}

function timeText(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** `file, 4 bytes, mode 0644, uid 0, gid 0, sha256 7aa7a5359173d05b…` */
function stateText(s: PresentState): string {
  const parts = [s.type, sizeText(s.size), `mode ${modeText(s.mode)}`, `uid ${s.uid}`, `gid ${s.gid}`];
  if (s.linkTarget !== undefined) parts.push(`→ ${JSON.stringify(s.linkTarget)}`);
  if (s.type === "file") parts.push(s.sha256Keyed ? "digest withheld: nodiff" : `sha256 ${digestText(s)}`);
  return parts.join(", ");
}

/** The whole change in one line: `/etc/sudoers: mode 0440 → 0644; owner uid 0 → 1000`, or `... unchanged`. */
export function summarizeChange(path: string, differences: readonly Difference[]): string {
  return `${path}: ${differences.length === 0 ? "unchanged" : differences.map((d) => d.text).join("; ")}`;
}
