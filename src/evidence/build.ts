// Builds an evidence pack from a store, a record at a time, into a sink (sinks.ts: memory, or
// files as write.ts makes them): the history extract for the period (a
// contiguous range of records, from the first whose time is in the period to the last), its
// public hash chain, the policy versions in force, the reports the caller adds, the manifest and
// its Ed25519 signature. Nothing secret is read: no host key, no private key (only its signature
// and fingerprint leave it), nothing from outside the store.
import { sign } from "node:crypto";
import type { Period } from "../facts/period.js";
import type { ScannedRecord, ScanOutcome, SigningKey, StateStore } from "../store/store.js";
import { publicKeyPem } from "../store/store.js";
import { CHAIN_FILE, CHAIN_LABEL, chainStart, HISTORY_FILE, MANIFEST_FILE, PACK_FORMAT, PACK_VERSION, policyDir, policyFileName, PUBLIC_KEY_FILE, SIGNATURE_FILE, WHAT_IT_PROVES, writeExtractLine, type Manifest, type ManifestFile, type ManifestPolicy, type RecordRef } from "./manifest.js";
import { MemoryPackSink, type LinesSink, type PackSink } from "./sinks.js";
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
  /** files the caller adds under reports/ as they are */
  reports?: readonly PackFile[];
  /**
   * or the period's reports built from the pack's own walk of the store: each record as it is
   * read, then the files from what the walk vouched for (`covenant evidence` builds its reports so)
   */
  reportPass?: { visit: (r: ScannedRecord) => void; files: (scan: ScanOutcome) => Iterable<ReportPieces> };
  /** called after every COLLECT_EVERY records of the walk (the CLI collects garbage there: commands/evidence.ts) */
  collect?: () => void;
}

/** How many records of the walk pass between two calls of `collect`. */
const COLLECT_EVERY = 16_384;

/** A report written a piece at a time (a year's HTML report is ~8 MB: never joined whole). */
export interface ReportPieces {
  name: string;
  pieces: Iterable<string | Buffer>;
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

/**
 * The history extract, written a record at a time as the walk of the store gives them (records
 * from `range.first` to `range.last`); its chain is made from its bytes by the sink (line-chain.ts).
 */
class ExtractWriter {
  private readonly lines: LinesSink;
  private readonly write = (text: string) => this.lines.write(text);
  private first: number | null = null;
  /** the last record written (its number and MAC, kept as fields: this sees every record of the period) */
  private headSeq = 0;
  private headMac = "";
  private count = 0;

  constructor(
    sink: PackSink,
    private readonly range: { first: number; last: number } | undefined,
  ) {
    this.lines = sink.lines(HISTORY_FILE, CHAIN_FILE, chainStart());
  }

  visit(r: ScannedRecord): void {
    if (!this.range || r.seq < this.range.first || r.seq > this.range.last) return;
    const mac = r.mac ? r.mac.toString("hex") : "";
    writeExtractLine({ seq: r.seq, kind: r.kind, run: r.run, time: r.time, body: r.text, mac }, r.body, this.write, "\n");
    this.first ??= r.seq;
    this.headSeq = r.seq;
    this.headMac = mac;
    this.count++;
  }

  end(): Extract {
    const made = this.lines.end();
    // each record is one line of JSON, which holds no newline: one chain value a record
    if (made.count !== this.count) throw new Error(`the extract's chain has ${made.count} values for ${this.count} records`);
    const files = [{ path: HISTORY_FILE, ...made.lines }, { path: CHAIN_FILE, ...made.chain }];
    const head: RecordRef | null = this.count > 0 ? { seq: this.headSeq, mac: this.headMac } : null;
    return { first: this.first, last: head?.seq ?? null, count: this.count, head, final: made.final, files };
  }
}

/**
 * The policy hashes in force during the period, from the run summaries as the walk gives them:
 * named by a summary in the period, or by the last summary before it.
 */
class PoliciesInForce {
  private readonly hashes: string[] = [];
  private before: string | undefined;

  constructor(private readonly p: Period) {}

  visit(r: ScannedRecord): void {
    if (r.kind !== "run") return;
    const policy = r.body?.["policy"];
    if (typeof policy !== "string") return;
    const t = Date.parse(r.time);
    if (t < this.p.startMs) this.before = policy;
    else if (t < this.p.endMs && !this.hashes.includes(policy)) this.hashes.push(policy);
  }

  list(): string[] {
    const { hashes, before } = this;
    return before !== undefined && !hashes.includes(before) ? [before, ...hashes] : hashes;
  }
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

/** Each report under reports/, its pieces written as they are made. */
function writeReports(sink: PackSink, reports: Iterable<ReportPieces>): ManifestFile[] {
  const files: ManifestFile[] = [];
  for (const r of reports) {
    const path = `reports/${reportName(r.name)}`;
    const f = sink.file(path);
    for (const piece of r.pieces) f.write(piece);
    files.push({ path, ...f.end() });
  }
  return files;
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
  // one walk of the store: its verification, the extract, and the period's report as it reads
  const writer = new ExtractWriter(sink, store.recordRangeIn(period.startMs, period.endMs));
  const inForce = new PoliciesInForce(period);
  let walked = 0;
  const { verified, scan } = store.verifyAndScan({}, (r) => {
    writer.visit(r);
    inForce.visit(r);
    input.reportPass?.visit(r);
    if (input.collect && ++walked % COLLECT_EVERY === 0) input.collect();
  });
  const extract = writer.end();
  input.collect?.();
  const made: Iterable<ReportPieces> = input.reports?.map((r) => ({ name: r.name, pieces: [r.bytes] })) ?? input.reportPass?.files(scan) ?? [];
  const reports = writeReports(sink, made);
  const policies = writePolicies(store, inForce.list(), sink);
  const files: ManifestFile[] = [
    ...extract.files,
    writeWhole(sink, PUBLIC_KEY_FILE, publicKeyPem(input.key.publicKey)),
    ...policies.files,
    ...reports,
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
