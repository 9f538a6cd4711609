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
// The file (cache-file.ts): its header says the key of the command's arguments and the files;
// its payload is the Policy as V8 serializes it (Maps, shared AST nodes and all, plain strings
// tagged, each declaration's span cut to its file, start and end: policy-wire.ts; JSON cannot keep
// shared nodes). Anything not whole and this build's is passed over: the policy is checked in
// full and the cache written again.
import { DEFAULT_MAX_FILE_SIZE } from "../checker/policy-file.js";
import type { Policy } from "../checker/policy.js";
import type { ImportDecl } from "../parser/ast.js";
import { deserialize, serialize } from "node:v8";
import { readCacheFile, sha256, writeCacheFile, type CacheHeader, type CacheIdentity, type CacheKind } from "./cache-file.js";
import { fromWire, slimPolicy, toWire } from "./policy-wire.js";

export { sha256, type CacheIdentity };

export const POLICY_CACHE_FILE = "policy.cache";
/** the layout of the file and of the Policy in it: a change to either is a new schema */
export const POLICY_CACHE_SCHEMA = 2;
// larger than any policy's (a 20,000-promise policy caches in ~25 MB): a file beyond it was not written by Covenant
const POLICY_CACHE: CacheKind = { file: POLICY_CACHE_FILE, magic: "covenant policy cache\n", schema: POLICY_CACHE_SCHEMA, what: "the policy cache", maxBytes: 512 * 1024 * 1024, lists: ["files"] };

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

function keyDigest(key: CacheKey): string {
  // paths are shown relative to the working directory: another directory shows them otherwise
  return sha256(JSON.stringify({ cwd: process.cwd(), paths: key.paths, include: key.include, maxFileSize: key.maxFileSize ?? null, rootOnly: key.rootOnly }));
}

/** The cache in `dir` for this key and identity, or why there is none to use. */
export function readPolicyCache(dir: string, key: CacheKey, identity: CacheIdentity): FoundCache | { why: string } {
  const found = readCacheFile(dir, POLICY_CACHE, identity, (h: CacheHeader) => (h["key"] !== keyDigest(key) ? "written for other paths or options" : undefined));
  if ("why" in found) return found;
  return { files: found.header["files"] as CachedFile[], payload: found.payload };
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
  writeCacheFile(dir, POLICY_CACHE, identity, { key: keyDigest(key), files: plain }, payload);
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
