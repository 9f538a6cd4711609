// Builds an evidence pack in memory from a store: the history extract for the period (a
// contiguous range of records, from the first whose time is in the period to the last), its
// public hash chain, the policy versions in force, the reports the caller adds, the manifest and
// its Ed25519 signature. Nothing secret is read: no host key, no private key (only its signature
// and fingerprint leave it), nothing from outside the store.
import { sign } from "node:crypto";
import type { Period } from "../facts/period.js";
import type { RunBody, SigningKey, StateStore } from "../store/store.js";
import { publicKeyPem } from "../store/store.js";
import { CHAIN_FILE, CHAIN_LABEL, chainNext, chainStart, extractLine, HISTORY_FILE, MANIFEST_FILE, PACK_FORMAT, PACK_VERSION, policyDir, policyFileName, PUBLIC_KEY_FILE, sha256Hex, SIGNATURE_FILE, WHAT_IT_PROVES, type Manifest, type ManifestPolicy, type RecordRef } from "./manifest.js";
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

/** The numbers of the first and last record whose time falls in the period (the host's clock may step back: the range is contiguous between them). */
function extractRange(times: { seq: number; time: string }[], p: Period): { first: number; last: number } | undefined {
  let first: number | undefined;
  let last: number | undefined;
  for (const r of times) {
    const t = Date.parse(r.time);
    if (!(t >= p.startMs && t < p.endMs)) continue;
    first ??= r.seq;
    last = r.seq;
  }
  return first === undefined || last === undefined ? undefined : { first, last };
}

function historyExtract(store: StateStore, p: Period): { jsonl: string; chain: string; first: number | null; last: number | null; count: number; head: RecordRef | null; final: string } {
  const range = extractRange(store.recordTimes(), p);
  const rows = range ? store.records(range.first, range.last) : [];
  let h = chainStart();
  const lines: string[] = [];
  const chain: string[] = [];
  for (const r of rows) {
    const line = extractLine(r);
    h = chainNext(h, line);
    lines.push(line);
    chain.push(h.toString("hex"));
  }
  const end = rows.at(-1);
  return { jsonl: lines.map((l) => `${l}\n`).join(""), chain: chain.map((c) => `${c}\n`).join(""), first: rows[0]?.seq ?? null, last: end?.seq ?? null, count: rows.length, head: end ? { seq: end.seq, mac: end.mac } : null, final: h.toString("hex") };
}

/** The policy hashes in force during the period: named by a summary in it, or by the last summary before it. */
function policiesInForce(store: StateStore, p: Period): string[] {
  const hashes: string[] = [];
  let before: string | undefined;
  for (const e of store.history({ kinds: ["run"] })) {
    const policy = (e.body as Partial<RunBody>).policy;
    if (typeof policy !== "string") continue;
    const t = Date.parse(e.time);
    if (t < p.startMs) before = policy;
    else if (t < p.endMs && !hashes.includes(policy)) hashes.push(policy);
  }
  if (before !== undefined && !hashes.includes(before)) hashes.unshift(before);
  return hashes;
}

function policyFiles(store: StateStore, hashes: string[]): { files: PackFile[]; listed: ManifestPolicy[]; missing: string[] } {
  const files: PackFile[] = [];
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
    for (const [i, f] of v.files.entries()) files.push({ name: `${dir}/${entries[i]!.file}`, bytes: Buffer.from(f.text, "utf8") });
    files.push({ name: `${dir}/policy.json`, bytes: Buffer.from(JSON.stringify({ hash, record: v.record, run: v.run, at: v.at, files: entries }, null, 2) + "\n") });
    listed.push({ hash, dir, record: v.record, at: v.at });
  }
  return { files, listed, missing };
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

/** The whole pack: every file, the manifest naming each with its sha256 and size, and the signature over the manifest's bytes. */
export function buildPack(input: PackInput): BuiltPack {
  const { store, period } = input;
  const verified = store.verify();
  const extract = historyExtract(store, period);
  const policies = policyFiles(store, policiesInForce(store, period));
  const reports = (input.reports ?? []).map((r) => ({ name: `reports/${reportName(r.name)}`, bytes: r.bytes }));
  const files: PackFile[] = [
    { name: HISTORY_FILE, bytes: Buffer.from(extract.jsonl, "utf8") },
    { name: CHAIN_FILE, bytes: Buffer.from(extract.chain, "utf8") },
    { name: PUBLIC_KEY_FILE, bytes: Buffer.from(publicKeyPem(input.key.publicKey), "utf8") },
    ...policies.files,
    ...reports,
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // the head verify vouched for; a store it found tampered vouches for none, and its last record is named as it stands
  const last = verified.head ? undefined : store.recordTimes().at(-1);
  const lastRow = last ? store.records(last.seq, last.seq)[0] : undefined;
  const storeHead = verified.head ?? (lastRow ? { seq: lastRow.seq, mac: lastRow.mac } : null);
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
    files: files.map((f) => ({ path: f.name, sha256: sha256Hex(f.bytes), bytes: f.bytes.length })),
    says: WHAT_IT_PROVES,
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2) + "\n", "utf8");
  const signature = sign(null, manifestBytes, input.key.privateKey).toString("base64");
  files.push({ name: MANIFEST_FILE, bytes: manifestBytes }, { name: SIGNATURE_FILE, bytes: Buffer.from(`${signature}\n`, "utf8") });
  return { files, manifest };
}
