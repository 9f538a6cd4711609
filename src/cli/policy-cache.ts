// The policy cache: `run` and `watch` keep the checked policy in the state directory
// (policy.cache), keyed by the text of every policy file read and by this build of Covenant,
// and use it instead of parsing and checking again when nothing changed (as cf-agent skips
// validating a policy whose cf_promises_validated is newer than its files).
//
// What is cached is only what follows from the files' text: the Policy the checker made. The
// files are still found, resolved, judged (as root: root's alone, checker/policy-trust.ts) and
// read each time, through the loader itself with their parse replaced by the import statements
// the cache holds for that exact text (LoadOptions.known); the policy is used only when the files
// read are the cache's, in the same order, from the same real paths, with the same SHA-256. Facts,
// the date (waiver expiry, judged by the evaluator) and the host are never cached.
//
// The file: a line naming it, a JSON header (schema, Covenant's version and build, node's, the
// key of the command's arguments, the files), then the Policy as V8 serializes it (Maps, shared
// AST nodes and all, plain strings tagged, each declaration's span cut to its file, start and end:
// policy-wire.ts; JSON cannot keep shared nodes), its length and SHA-256 in the header. Read without following links, as a regular file of the state
// directory's owner that no one else can write; anything else (missing, damaged, truncated,
// another version's, another user's, a link) is passed over: the policy is checked in full and
// the cache written again, atomically, by rename over whatever was there.
import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { join } from "node:path";
import { deserialize, serialize } from "node:v8";
import { DEFAULT_MAX_FILE_SIZE } from "../checker/policy-file.js";
import type { Policy } from "../checker/policy.js";
import type { ImportDecl } from "../parser/ast.js";
import { readRegularBytes, replaceFile } from "../store/safe-files.js";
import { fromWire, slimPolicy, toWire } from "./policy-wire.js";

export const POLICY_CACHE_FILE = "policy.cache";
const MAGIC = "covenant policy cache\n";
/** the layout of the file and of the Policy in it: a change to either is a new schema */
export const POLICY_CACHE_SCHEMA = 2;
/** larger than any policy's (a 20,000-promise policy caches in ~25 MB); a file beyond it was not written by Covenant */
const MAX_CACHE_BYTES = 512 * 1024 * 1024;

/** What makes a cache this process may trust: the same Covenant, built the same, on the same node. */
export interface CacheIdentity {
  version: string;
  /** the bundle's build (scripts/bundle-options.mjs: a digest of the sources it was built from) */
  build: string;
}

/** The command's arguments that decide what is read and how paths are shown. */
export interface CacheKey {
  paths: string[];
  include: string[];
  maxFileSize?: number;
  rootOnly: boolean;
}

/** One policy file as it was read: its shown path (the spans' `file`), real path, text's SHA-256, and import statements. */
export interface CachedFile {
  path: string;
  real: string;
  sha256: string;
  imports: ImportDecl[];
}

interface Header {
  schema: number;
  covenant: string;
  build: string;
  node: string;
  key: string;
  files: CachedFile[];
  bytes: number;
  sha256: string;
}

/** A cache found and whole, the policy not yet decoded. */
export interface FoundCache {
  files: CachedFile[];
  payload: Buffer;
}

/** The key of a load with these paths (the current directory when none) and options. */
export function cacheKey(named: string[], load: { include?: string[]; maxFileSize?: number; rootOnly?: boolean }): CacheKey {
  // the default limit written out: `run` gives it, `watch` leaves it to the loader, and both may share the cache
  return { paths: named, include: load.include ?? [], rootOnly: load.rootOnly === true, maxFileSize: load.maxFileSize ?? DEFAULT_MAX_FILE_SIZE };
}

export const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

/** The node this runs on: V8's serialization and ICU's time zones (checked by the checker) are its. */
const runtime = (): string => `${process.version} ${process.arch}`;

function keyDigest(key: CacheKey): string {
  // paths are shown relative to the working directory: another directory shows them otherwise
  return sha256(JSON.stringify({ cwd: process.cwd(), paths: key.paths, include: key.include, maxFileSize: key.maxFileSize ?? null, rootOnly: key.rootOnly }));
}

/**
 * Why the cache file, opened as `st`, is not used: it must be its reader's own (root's, as root)
 * and writable by no one else, as the state directory's other files are (store/trust.ts).
 */
function refusal(st: Stats): string | undefined {
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== uid) return `it is owned by uid ${st.uid}, not ${uid === 0 ? "root" : `uid ${uid}`}`;
  if (st.mode & 0o022) return `it is writable by ${st.mode & 0o002 ? "others" : "its group"} (mode 0${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

/** The cache in `dir` for this key and identity, or why there is none to use. */
export function readPolicyCache(dir: string, key: CacheKey, identity: CacheIdentity): FoundCache | { why: string } {
  let bytes: Buffer | undefined;
  try {
    bytes = readRegularBytes(join(dir, POLICY_CACHE_FILE), "the policy cache", MAX_CACHE_BYTES, (st) => {
      const why = refusal(st);
      return why && `refused: ${why}`;
    });
  } catch (err) {
    return { why: (err as Error).message.replace(/^the policy cache \S+ /, "") };
  }
  if (bytes === undefined) return { why: "none yet" };
  const header = headerOf(bytes);
  if (typeof header === "string") return { why: header };
  if (header.h.covenant !== identity.version || header.h.build !== identity.build || header.h.node !== runtime()) return { why: "written by another version of Covenant or node" };
  if (header.h.key !== keyDigest(key)) return { why: "written for other paths or options" };
  const payload = bytes.subarray(header.end);
  if (payload.length !== header.h.bytes || sha256(payload) !== header.h.sha256) return { why: "damaged (its content does not match its digest)" };
  return { files: header.h.files, payload };
}

/** The header and where the payload starts, or why the file is not a cache of this schema. */
function headerOf(bytes: Buffer): { h: Header; end: number } | string {
  if (bytes.subarray(0, MAGIC.length).toString("latin1") !== MAGIC) return "not a policy cache";
  const nl = bytes.indexOf(10, MAGIC.length);
  if (nl < 0) return "damaged (no header)";
  let h: Header;
  try {
    h = JSON.parse(bytes.subarray(MAGIC.length, nl).toString("utf8")) as Header;
  } catch {
    return "damaged (its header is not JSON)";
  }
  if (h === null || typeof h !== "object" || h.schema !== POLICY_CACHE_SCHEMA) return "written by another version of Covenant (another schema)";
  if (!Array.isArray(h.files) || typeof h.bytes !== "number" || typeof h.sha256 !== "string") return "damaged (its header is incomplete)";
  return { h, end: nl + 1 };
}

/** The policy in a cache found, or undefined when it cannot be decoded (the digest matched: only another node's V8 would do that). */
export function decodePolicy(found: FoundCache): Policy | undefined {
  try {
    const policy = fromWire(deserialize(found.payload)) as Policy;
    return policy !== null && typeof policy === "object" && Array.isArray(policy.controls) && policy.contexts instanceof Map ? policy : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the cache of `policy`, checked from `files`, into `dir` (which exists and is trusted: ensureStateDir), atomically. */
export function writePolicyCache(dir: string, key: CacheKey, identity: CacheIdentity, files: CachedFile[], policy: Policy): void {
  const payload = serialize(toWire(slimPolicy(policy)));
  // import statements as plain records (a plain string's parts are on its prototype, which JSON drops)
  const plain = files.map((f) => ({ ...f, imports: f.imports.map((d) => ({ kind: d.kind, path: { kind: "string" as const, raw: d.path.raw, parts: d.path.parts, file: d.path.file, start: d.path.start, end: d.path.end }, file: d.file, start: d.start, end: d.end })) }));
  const header: Header = { schema: POLICY_CACHE_SCHEMA, covenant: identity.version, build: identity.build, node: runtime(), key: keyDigest(key), files: plain, bytes: payload.length, sha256: sha256(payload) };
  // 0600, as the store: the policy names what is watched and who is told; renamed over a link, never through it
  replaceFile(join(dir, POLICY_CACHE_FILE), Buffer.concat([Buffer.from(`${MAGIC}${JSON.stringify(header)}\n`, "utf8"), payload]), { mode: 0o600 });
}

/** Whether the files read now are those the cache was made from: same order, shown and real paths, and text. */
export function sameFiles(read: Omit<CachedFile, "imports">[], cached: CachedFile[]): boolean {
  return read.length === cached.length && read.every((f, i) => f.path === cached[i]!.path && f.real === cached[i]!.real && f.sha256 === cached[i]!.sha256);
}

declare const COVENANT_VERSION: string;
declare const COVENANT_BUILD: string;

/**
 * This build's identity, or undefined when Covenant runs from its sources (tests, tsx): they can
 * change without a new build, so no cache is trusted then.
 */
export function bundleIdentity(): CacheIdentity | undefined {
  if (typeof COVENANT_VERSION !== "string" || typeof COVENANT_BUILD !== "string") return undefined;
  return { version: COVENANT_VERSION, build: COVENANT_BUILD };
}
