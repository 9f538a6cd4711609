// What an evidence pack's manifest says, and the public hash chain over its history extract: the
// records' MACs need the host key, which an auditor does not have, so the extract is chained
// again with sha256 alone (h0 = sha256 of a fixed label, h_i = sha256(h_{i-1} || line i)), each
// value kept in `history.chain` and the last one in the signed manifest.
import { createHash } from "node:crypto";
import { isCanonicalJson } from "./canonical-json.js";
import { hexDigest } from "../text/digest.js";

export const PACK_FORMAT = "covenant-evidence-pack";
export const PACK_VERSION = 1;
export const CHAIN_LABEL = "covenant evidence chain v1";

/** The files every pack holds besides its policies and reports. */
export const HISTORY_FILE = "history.jsonl";
export const CHAIN_FILE = "history.chain";
export const MANIFEST_FILE = "manifest.json";
export const SIGNATURE_FILE = "manifest.sig";
export const PUBLIC_KEY_FILE = "public-key.pem";

/** What a pack proves, in the manifest itself and in docs/evidence.md. */
export const WHAT_IT_PROVES =
  "This pack holds exactly what the host recorded for the period and signed with its signing key. It does not prove that the host recorded the truth: a host whose root was compromised could sign a lie, which only an independent copy of the history (the hub) can catch.";

export interface RecordRef {
  seq: number;
  mac: string;
}

export interface ManifestFile {
  path: string;
  sha256: string;
  bytes: number;
}

export interface ManifestPolicy {
  hash: string;
  /** the directory under the pack: policies/<first 12 hex of the hash> */
  dir: string;
  /** the history record that holds this version's text */
  record: number;
  /** when the run that first used it began */
  at: string;
}

export interface Manifest {
  format: typeof PACK_FORMAT;
  version: typeof PACK_VERSION;
  host: string;
  createdAt: string;
  period: { from: string; to: string; timeZone: string; zoneFrom: "--tz" | "policy calendar" | "host"; start: string; end: string };
  extract: {
    file: string;
    chainFile: string;
    first: number | null;
    last: number | null;
    count: number;
    head: RecordRef | null;
    chain: { label: string; final: string };
    /**
     * present when the extract starts at or below a prune's cut: the history up to record `cut` was
     * pruned (on `at`, before `before`), and the records at or below it that the store kept (later
     * records name them) are not consecutive; from `cut` + 1 on, they are
     */
    pruned?: { cut: number; at: string; before: string };
  };
  store: { head: RecordRef | null; verify: { intact: boolean; records: number; tampering?: { kind: string; seq: number; message: string } } };
  signingKey: { algorithm: "ed25519"; fingerprint: string };
  policies: ManifestPolicy[];
  /** policy hashes named by a summary in force in the period whose text the store does not hold (written before policy versions were kept) */
  policiesNotStored: string[];
  /** every file of the pack but the manifest and its signature */
  files: ManifestFile[];
  says: string;
}

export function sha256Hex(bytes: Buffer | string): string {
  return hexDigest("sha256", bytes);
}

export function chainStart(): Buffer {
  return createHash("sha256").update(CHAIN_LABEL).digest();
}

/**
 * One record as the extract holds it: one line of JSON, its body parsed. A body Covenant wrote
 * serializes back to the exact text its MAC covers (whoever holds the host key can check it);
 * one that does not (edited, or not JSON) also carries that text as `bodyText`.
 */
export function extractLine(r: ExtractRecord, parsed?: Record<string, unknown>): string {
  let line = "";
  writeExtractLine(r, parsed, (text) => (line += text));
  return line;
}

export interface ExtractRecord {
  seq: number;
  kind: string;
  run: number;
  time: string;
  body: string;
  mac: string;
}

/**
 * extractLine given to `write` in pieces, then `after`: the body's text is written as it is
 * stored, never joined into a line first (a year's extract is ~150 MB of lines that would be
 * garbage at once).
 */
export function writeExtractLine(r: ExtractRecord, parsed: Record<string, unknown> | undefined, write: (text: string) => void, after = ""): void {
  let body: unknown = parsed;
  if (body === undefined) {
    try {
      body = JSON.parse(r.body);
    } catch {
      body = { unreadable: true };
    }
  }
  // most bodies are known to be JSON.stringify's own in one pass over their text; the rest are written again to compare
  const exact = (parsed !== undefined && isCanonicalJson(r.body)) || JSON.stringify(body) === r.body;
  if (!exact) return write(JSON.stringify({ seq: r.seq, kind: r.kind, run: r.run, time: r.time, body, bodyText: r.body, mac: r.mac }) + after);
  // the body's text is what JSON.stringify would write for it: spliced in, not serialized again
  write(`{"seq":${JSON.stringify(r.seq)},"kind":${JSON.stringify(r.kind)},"run":${JSON.stringify(r.run)},"time":${JSON.stringify(r.time)},"body":`);
  write(r.body);
  write(`,"mac":${JSON.stringify(r.mac)}}${after}`);
}

/** Where a policy version's files go in the pack. */
export function policyDir(hash: string): string {
  return `policies/${hash.slice(0, 12)}`;
}

/** A policy file's absolute path as a name under its version's directory: `files/` and the path without its leading slash. */
export function policyFileName(path: string): string {
  const parts = path.split("/").filter((p) => p !== "");
  if (parts.some((p) => p === "." || p === "..")) throw new Error(`the policy path ${JSON.stringify(path)} is not a plain absolute path`);
  return `files/${parts.join("/")}`;
}
