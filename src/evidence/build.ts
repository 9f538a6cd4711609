// Builds an evidence pack from a store, a record at a time, into a sink (sinks.ts: memory, or
// files as write.ts makes them): the history extract for the period (a
// contiguous range of records, from the first whose time is in the period to the last), its
// public hash chain, the policy versions in force, the reports the caller adds, the manifest and
// its Ed25519 signature. Nothing secret is read: no host key, no private key (only its signature
// and fingerprint leave it), nothing from outside the store.
import { sign } from "node:crypto";
import type { Period } from "../facts/period.js";
import type { SigningKey, StateStore } from "../store/store.js";
import { publicKeyPem } from "../store/store.js";
import { CHAIN_FILE, CHAIN_LABEL, chainNext, chainStart, extractLine, HISTORY_FILE, MANIFEST_FILE, PACK_FORMAT, PACK_VERSION, policyDir, policyFileName, PUBLIC_KEY_FILE, SIGNATURE_FILE, WHAT_IT_PROVES, type Manifest, type ManifestFile, type ManifestPolicy, type RecordRef } from "./manifest.js";
import { MemoryPackSink, type PackSink } from "./sinks.js";
import type { PackFile } from "./tar.js";

export interface PackInput {
  store: StateStore;
  period: Period;
  /** the zone the days were read in, by name, and where it came from */
  timeZone: string;
  zoneFrom: Manifest["period"]["zoneFrom"];
  host: string;
  createdAt: Date;
  key: SigningKey;
  /** files the caller adds under reports/ (the period's reports, when `covenant report` makes them) */
  reports?: readonly PackFile[];
}

export interface BuiltPack {
  files: PackFile[];
  manifest: Manifest;
}

interface Extract {
  first: number | null;
  last: number | null;
  count: number;
  head: RecordRef | null;
  final: string;
  files: ManifestFile[];
}

/** The history extract and its chain, written a record at a time as the store gives them. */
function writeExtract(store: StateStore, p: Period, sink: PackSink): Extract {
  const range = store.recordRangeIn(p.startMs, p.endMs);
  const jsonl = sink.file(HISTORY_FILE);
  const chain = sink.file(CHAIN_FILE);
  let h = chainStart();
  let first: number | null = null;
  let end: RecordRef | null = null;
  let count = 0;
  if (range) {
    for (const r of store.eachRecord(range.first, range.last)) {
      const line = extractLine(r);
      h = chainNext(h, line);
      jsonl.write(line);
      jsonl.write("\n");
      chain.write(h.toString("hex"));
      chain.write("\n");
      first ??= r.seq;
      end = { seq: r.seq, mac: r.mac };
      count++;
    }
  }
  const files = [{ path: HISTORY_FILE, ...jsonl.end() }, { path: CHAIN_FILE, ...chain.end() }];
  return { first, last: end?.seq ?? null, count, head: end, final: h.toString("hex"), files };
}

/** The policy hashes in force during the period: named by a summary in it, or by the last summary before it. */
function policiesInForce(store: StateStore, p: Period): string[] {
  const hashes: string[] = [];
  let before: string | undefined;
  for (const { time, policy } of store.runPolicies()) {
    if (policy === null) continue;
    const t = Date.parse(time);
    if (t < p.startMs) before = policy;
    else if (t < p.endMs && !hashes.includes(policy)) hashes.push(policy);
  }
  if (before !== undefined && !hashes.includes(before)) hashes.unshift(before);
  return hashes;
}

function writePolicies(store: StateStore, hashes: string[], sink: PackSink): { files: ManifestFile[]; listed: ManifestPolicy[]; missing: string[] } {
  const files: ManifestFile[] = [];
  const listed: ManifestPolicy[] = [];
  const missing: string[] = [];
  for (const hash of hashes) {
    const v = store.policyVersion(hash);
    if (!v) {
      missing.push(hash);
      continue;
    }
    const dir = policyDir(hash);
    const entries = v.files.map((f) => ({ path: f.path, sha256: f.sha256, bytes: f.bytes, file: policyFileName(f.path) }));
    for (const [i, f] of v.files.entries()) files.push(writeWhole(sink, `${dir}/${entries[i]!.file}`, f.text));
    files.push(writeWhole(sink, `${dir}/policy.json`, JSON.stringify({ hash, record: v.record, run: v.run, at: v.at, files: entries }, null, 2) + "\n"));
    listed.push({ hash, dir, record: v.record, at: v.at });
  }
  return { files, listed, missing };
}

function writeWhole(sink: PackSink, path: string, data: string | Buffer): ManifestFile {
  const f = sink.file(path);
  f.write(data);
  return { path, ...f.end() };
}

/** A report's name under reports/: plain relative parts, never one that climbs out or hides. */
function reportName(name: string): string {
  const parts = name.split("/");
  if (parts.some((p) => p === "" || p === "." || p === ".." || p.startsWith(".") || /[\\\x00-\x1f\x7f]/.test(p))) throw new Error(`a report's name in a pack must be a plain relative path, not ${JSON.stringify(name)}`);
  return name;
}

/** The prune the extract reaches into, when it starts at or below a checkpoint's cut: its records there are the ones the store kept, not consecutive. */
function prunedOf(cp: { seq: number; at: string; before: string } | undefined, first: number | null): { pruned?: { cut: number; at: string; before: string } } {
  return cp && first !== null && first <= cp.seq ? { pruned: { cut: cp.seq, at: cp.at, before: cp.before } } : {};
}

/**
 * Writes the whole pack to `sink`: every file, the manifest naming each with its sha256 and size,
 * and the signature over the manifest's bytes (written last). Returns the manifest.
 */
export function writePackTo(input: PackInput, sink: PackSink): Manifest {
  const { store, period } = input;
  const reports = (input.reports ?? []).map((r) => ({ name: `reports/${reportName(r.name)}`, bytes: r.bytes }));
  const verified = store.verify();
  const extract = writeExtract(store, period, sink);
  const policies = writePolicies(store, policiesInForce(store, period), sink);
  const files: ManifestFile[] = [
    ...extract.files,
    writeWhole(sink, PUBLIC_KEY_FILE, publicKeyPem(input.key.publicKey)),
    ...policies.files,
    ...reports.map((r) => writeWhole(sink, r.name, r.bytes)),
  ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  // the head verify vouched for; a store it found tampered vouches for none, and its last record is named as it stands
  const storeHead = verified.head ?? store.lastRecord() ?? null;
  const manifest: Manifest = {
    format: PACK_FORMAT,
    version: PACK_VERSION,
    host: input.host,
    createdAt: input.createdAt.toISOString(),
    period: { from: period.from, to: period.to, timeZone: input.timeZone, zoneFrom: input.zoneFrom, start: new Date(period.startMs).toISOString(), end: new Date(period.endMs).toISOString() },
    extract: { file: HISTORY_FILE, chainFile: CHAIN_FILE, first: extract.first, last: extract.last, count: extract.count, head: extract.head, chain: { label: CHAIN_LABEL, final: extract.final }, ...prunedOf(verified.checkpoint, extract.first) },
    store: {
      head: storeHead,
      verify: { intact: verified.tampering === undefined, records: verified.records, ...(verified.tampering ? { tampering: { kind: verified.tampering.kind, seq: verified.tampering.seq, message: verified.tampering.message } } : {}) },
    },
    signingKey: { algorithm: "ed25519", fingerprint: input.key.fingerprint },
    policies: policies.listed,
    policiesNotStored: policies.missing,
    files,
    says: WHAT_IT_PROVES,
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2) + "\n", "utf8");
  const signature = sign(null, manifestBytes, input.key.privateKey).toString("base64");
  writeWhole(sink, MANIFEST_FILE, manifestBytes);
  writeWhole(sink, SIGNATURE_FILE, `${signature}\n`);
  return manifest;
}

/** The whole pack in memory: its files sorted by name, then the manifest and its signature. */
export function buildPack(input: PackInput): BuiltPack {
  const sink = new MemoryPackSink();
  const manifest = writePackTo(input, sink);
  const byName = (a: PackFile, b: PackFile) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const signed = new Set([MANIFEST_FILE, SIGNATURE_FILE]);
  const files = [...sink.files.filter((f) => !signed.has(f.name)).sort(byName), ...sink.files.filter((f) => signed.has(f.name))];
  return { files, manifest };
}
