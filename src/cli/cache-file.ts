// The file a cache of `run` and `watch` is kept in, in the state directory: the policy cache
// (policy-cache.ts) and the configuration cache (config-cache.ts). A line naming the cache, a JSON
// header (the layout's schema, Covenant's version and build, node's, what the cache says it was
// made from, the payload's length and SHA-256), then the payload as V8 serializes it.
//
// Read without following links, as a regular file of the reader's own (root's, as root) that no
// one else can write, as the state directory's other files are (store/trust.ts); anything else
// (missing, damaged, truncated, another version's, another user's, a link) is passed over with
// why, and the caller does the work in full and writes the cache again: atomically, mode 0600,
// renamed over whatever was at its name.
import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { join } from "node:path";
import { readRegularBytes, replaceFile } from "../store/safe-files.js";

/** What makes a cache this process may trust: the same Covenant, built the same (and the same node: `runtime`). */
export interface CacheIdentity {
  version: string;
  /** the bundle's build (scripts/bundle-options.mjs: a digest of the sources it was built from) */
  build: string;
}

/** Which cache: its file in the state directory, the line that opens it, the layout's schema, its name in messages. */
export interface CacheKind {
  file: string;
  magic: string;
  schema: number;
  what: string;
  /** the most a cache of this kind may be: Covenant writes none larger, so a file beyond it was not written by Covenant */
  maxBytes: number;
  /** the header's fields that must be lists (what the cache was made from) */
  lists?: string[];
}

/** The header every cache has; each kind adds what it was made from. */
export interface CacheHeader {
  schema: number;
  covenant: string;
  build: string;
  node: string;
  bytes: number;
  sha256: string;
  [made: string]: unknown;
}

export const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

/** The node this runs on: V8's serialization and ICU's time zones (checked by the checkers) are its. */
export const runtime = (): string => `${process.version} ${process.arch}`;

/** Why a cache file, opened as `st`, is not used: it must be its reader's own and writable by no one else. */
function refusal(st: Stats): string | undefined {
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== uid) return `it is owned by uid ${st.uid}, not ${uid === 0 ? "root" : `uid ${uid}`}`;
  if (st.mode & 0o022) return `it is writable by ${st.mode & 0o002 ? "others" : "its group"} (mode 0${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

/**
 * The cache of `kind` in `dir` written by this identity, or why there is none to use. `made` says
 * why a whole cache was made from something else (other files, paths or options), and is asked
 * before its payload is checked against its digest.
 */
export function readCacheFile(dir: string, kind: CacheKind, identity: CacheIdentity, made: (h: CacheHeader) => string | undefined): { header: CacheHeader; payload: Buffer } | { why: string } {
  let bytes: Buffer | undefined;
  try {
    bytes = readRegularBytes(join(dir, kind.file), kind.what, kind.maxBytes, (st) => {
      const why = refusal(st);
      return why && `refused: ${why}`;
    });
  } catch (err) {
    return { why: (err as Error).message.replace(new RegExp(`^${kind.what} \\S+ `), "") };
  }
  if (bytes === undefined) return { why: "none yet" };
  const header = headerOf(bytes, kind);
  if (typeof header === "string") return { why: header };
  const h = header.h;
  if (h.covenant !== identity.version || h.build !== identity.build || h.node !== runtime()) return { why: "written by another version of Covenant or node" };
  const other = made(h);
  if (other !== undefined) return { why: other };
  const payload = bytes.subarray(header.end);
  if (payload.length !== h.bytes || sha256(payload) !== h.sha256) return { why: "damaged (its content does not match its digest)" };
  return { header: h, payload };
}

/** The header and where the payload starts, or why the file is not a cache of this kind and schema. */
function headerOf(bytes: Buffer, kind: CacheKind): { h: CacheHeader; end: number } | string {
  if (bytes.subarray(0, kind.magic.length).toString("latin1") !== kind.magic) return `not a ${kind.what.replace(/^the /, "")}`;
  const nl = bytes.indexOf(10, kind.magic.length);
  if (nl < 0) return "damaged (no header)";
  let h: CacheHeader;
  try {
    h = JSON.parse(bytes.subarray(kind.magic.length, nl).toString("utf8")) as CacheHeader;
  } catch {
    return "damaged (its header is not JSON)";
  }
  if (h === null || typeof h !== "object" || h.schema !== kind.schema) return "written by another version of Covenant (another schema)";
  if (typeof h.bytes !== "number" || typeof h.sha256 !== "string" || (kind.lists ?? []).some((f) => !Array.isArray(h[f]))) return "damaged (its header is incomplete)";
  return { h, end: nl + 1 };
}

/**
 * Writes a cache of `kind` into `dir` (which exists and is trusted: ensureStateDir), atomically,
 * mode 0600. One larger than the kind's limit is not written (it could not be read back): throws
 * CacheTooLarge, and the command goes on without it, saying so.
 */
export function writeCacheFile(dir: string, kind: CacheKind, identity: CacheIdentity, made: Record<string, unknown>, payload: Buffer): void {
  const header: CacheHeader = { ...made, schema: kind.schema, covenant: identity.version, build: identity.build, node: runtime(), bytes: payload.length, sha256: sha256(payload) };
  const bytes = Buffer.concat([Buffer.from(`${kind.magic}${JSON.stringify(header)}\n`, "utf8"), payload]);
  if (bytes.length > kind.maxBytes) throw new CacheTooLarge(`${kind.what} would be ${bytes.length} bytes, more than the ${kind.maxBytes} it may be: not written`);
  // 0600, as the store: a cache says what is watched and who is told; renamed over a link, never through it
  replaceFile(join(dir, kind.file), bytes, { mode: 0o600 });
}

/** A cache too large to keep: not written. */
export class CacheTooLarge extends Error {}
