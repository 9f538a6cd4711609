// The change gate's minimal edit of a text file (the `lines` repair): remove some lines, append
// others, keep every other byte, the mode and the owner. The edit is made only to the file that
// was observed (same device and inode, exactly: probes/file-identity.ts; same content digest),
// reached without following a link;
// the new content goes to a new file in the same directory, renamed over the old one, so a
// reader sees the old file or the new one, never half of either.
import { createHash } from "node:crypto";
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, readSync } from "node:fs";
import { safeFs, safeFsUnavailableReason, type SafeFsAddon } from "../native/safe-fs.js";
import { identityOfDescriptor, identityOfStats, sameObject, type FileIdentity } from "../probes/file-identity.js";
import { parse } from "../probes/lines.js";
import { ChangeRefused, changedWhileRepaired, replaceInDirectory, writeAll, type FileChanges, type Identity } from "./file-changes.js";

export interface LineEditChange {
  op: "edit-lines";
  path: string;
  /** the file observed, and the sha256 of its content then (`digest`: the JSON report leaves it out, as it does a restore's) */
  expect: Identity;
  digest: string;
  /** 1-based numbers of the lines to delete */
  remove: number[];
  /** lines to add at the end, without their newlines */
  append: string[];
}

/** The largest file edited: the content is held in memory twice. */
const MAX_EDIT_BYTES = 64 * 1024 * 1024;

export function describeLineEdit(c: LineEditChange): string {
  const parts: string[] = [];
  if (c.remove.length > 0) parts.push(`remove line${c.remove.length > 1 ? "s" : ""} ${c.remove.join(", ")}`);
  if (c.append.length > 0) parts.push(`append ${c.append.length} line${c.append.length > 1 ? "s" : ""}`);
  return `edit ${c.path}: ${parts.join(", ")}`;
}

/** `bytes` without the lines numbered in `remove` (each with its newline) and with `append` added at the end. */
export function editedBytes(bytes: Uint8Array, remove: readonly number[], append: readonly string[]): Buffer {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const gone = new Set(remove);
  const parts: Buffer[] = [];
  let kept = 0;
  for (const line of parse(buf).lines) {
    if (!gone.has(line.number)) continue;
    parts.push(buf.subarray(kept, line.start));
    kept = Math.min(line.end + 1, buf.length);
  }
  parts.push(buf.subarray(kept));
  let out = Buffer.concat(parts);
  if (append.length > 0) {
    const close = out.length > 0 && out[out.length - 1] !== 0x0a ? "\n" : "";
    out = Buffer.concat([out, Buffer.from(close + append.map((l) => `${l}\n`).join(""), "utf8")]);
  }
  return out;
}

export function applyLineEdit(files: FileChanges, c: LineEditChange): void {
  replaceObservedFile(files, c.path, c.expect, c.digest, (bytes) => editedBytes(bytes, c.remove, c.append));
}

/**
 * Replaces the file at `path` with `edit` of its bytes, keeping its mode and owner: only while it
 * is the file observed (`expect`) and holds the bytes observed (`digest`); shared by `edit-lines`
 * and the `config` repair's `edit`.
 */
export function replaceObservedFile(files: FileChanges, path: string, expect: Identity, digest: string, edit: (bytes: Buffer) => Buffer): void {
  const native = addon();
  files.inDirectory(path, (dir, name) => {
    const fd = native.openAt(dir, name, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY, 0);
    try {
      // in bigint, for the exact inode number
      const st = fstatSync(fd, { bigint: true });
      if (!st.isFile()) throw new ChangeRefused(`${path} is not a regular file; it is not edited`, "failed");
      const opened = identityOfStats(st);
      if (!sameObject(opened, expect)) throw changedWhileRepaired(path);
      if (st.nlink > 1n) throw new ChangeRefused(`${path} has ${st.nlink} hard links: the edit replaces the file under this name only, so it is not made`, "held");
      const bytes = readAll(fd, path);
      // no digest in the reason: it would be one of the content, which `nodiff` withholds
      if (createHash("sha256").update(bytes).digest("hex") !== digest) throw changedWhileRepaired(path, "its content changed since it was observed");
      replaceInDirectory(
        dir,
        name,
        (out) => {
          writeAll(out, edit(bytes));
          // owner first: chown clears set-id bits, which the mode then restores
          fchownSync(out, Number(st.uid), Number(st.gid));
          fchmodSync(out, Number(st.mode) & 0o7777);
        },
        () => {
          const now = entry(native, dir, name);
          if (!now || !sameObject(now, opened)) throw changedWhileRepaired(path);
        },
      );
    } finally {
      closeSync(fd);
    }
  });
}

function readAll(fd: number, path: string): Buffer {
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(1 << 16);
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) return Buffer.concat(parts);
    total += n;
    if (total > MAX_EDIT_BYTES) throw new ChangeRefused(`${path} is larger than ${MAX_EDIT_BYTES} bytes; it is not edited`, "failed");
    parts.push(buf.subarray(0, n));
  }
}

function entry(native: SafeFsAddon, dir: number, name: string): FileIdentity | undefined {
  let fd: number;
  try {
    fd = native.openAt(dir, name, native.O_PATH, 0);
  } catch {
    return undefined;
  }
  try {
    return identityOfDescriptor(fd);
  } finally {
    closeSync(fd);
  }
}

function addon(): SafeFsAddon {
  const native = safeFs();
  if (!native) throw new ChangeRefused(`files are not changed: ${safeFsUnavailableReason()}`, "failed");
  return native;
}
