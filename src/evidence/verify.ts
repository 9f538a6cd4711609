// Checks an evidence pack with the public key alone (never the one the pack carries): the
// manifest's signature, every file against the manifest (a missing file, a changed one and one the
// manifest does not list are each named), the history extract line by line against its public
// hash chain (the first record that differs from what was signed is named), the records' numbers
// (consecutive, from the first to the last the manifest names, but for the records a prune kept
// at or below its cut, when the manifest says the extract reaches there), the head it names, and
// each policy version's files against their listing and their version's hash. The files are
// checked as they pass (PackChecker): hashed, the extract a line at a time (extract-check.ts);
// only the manifest, its signature and the policy files are held whole.
import { createHash, verify as verifySignature, type Hash, type KeyObject } from "node:crypto";
import { hashPolicy } from "../store/policies.js";
import { fingerprintOf } from "../store/signing-key.js";
import { ExtractCheck } from "./extract-check.js";
import { CHAIN_FILE, HISTORY_FILE, MANIFEST_FILE, PACK_FORMAT, sha256Hex, SIGNATURE_FILE, type Manifest } from "./manifest.js";
import type { EntrySink, PackFile } from "./tar.js";

export interface PackProblem {
  /** the file of the pack the problem is in */
  file: string;
  /** the history record it concerns, by number */
  record?: number;
  message: string;
}

export interface PackVerdict {
  intact: boolean;
  problems: PackProblem[];
  /** the sha256 of manifest.json's exact bytes (when it could be parsed): what a prune records of the pack */
  manifestSha256?: string;
  /** the manifest as read (when it could be parsed): what the verdict is about */
  manifest?: Manifest;
  /** the fingerprint of the key the signature was checked with */
  checkedWith: string;
}

function signatureProblem(files: Map<string, Buffer>, key: KeyObject, fingerprint: string): PackProblem | undefined {
  const manifest = files.get(MANIFEST_FILE);
  const sig = files.get(SIGNATURE_FILE);
  if (!manifest) return { file: MANIFEST_FILE, message: "the manifest is missing: nothing in the pack can be vouched for" };
  if (!sig) return { file: SIGNATURE_FILE, message: "the signature is missing" };
  const text = sig.toString("utf8").trim();
  let good = false;
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    try {
      good = verifySignature(null, manifest, key, Buffer.from(text, "base64"));
    } catch {
      good = false;
    }
  }
  return good ? undefined : { file: SIGNATURE_FILE, message: `the signature over manifest.json does not verify with the given key (${fingerprint}): the manifest or its signature was changed, or the pack was signed by another key` };
}

function parseManifest(bytes: Buffer): Manifest | string {
  let m: unknown;
  try {
    m = JSON.parse(bytes.toString("utf8"));
  } catch {
    return "manifest.json is not valid JSON";
  }
  const x = m as Partial<Manifest>;
  if (typeof x !== "object" || x === null || x.format !== PACK_FORMAT) return `manifest.json is not a ${PACK_FORMAT} manifest`;
  // every field the checks below read, of the type they read it as: a manifest someone made is not trusted to be well formed
  const isNumberOrNull = (v: unknown) => v === null || typeof v === "number";
  const isRef = (v: unknown) => v === null || (typeof v === "object" && typeof (v as { seq?: unknown }).seq === "number" && typeof (v as { mac?: unknown }).mac === "string");
  const e = x.extract;
  const wellFormed =
    Array.isArray(x.files) &&
    x.files.every((f) => typeof f === "object" && f !== null && typeof f.path === "string" && typeof f.sha256 === "string" && typeof f.bytes === "number") &&
    Array.isArray(x.policies) &&
    x.policies.every((p) => typeof p === "object" && p !== null && typeof p.hash === "string" && typeof p.dir === "string" && typeof p.record === "number") &&
    typeof e === "object" && e !== null && isNumberOrNull(e.first) && isNumberOrNull(e.last) && typeof e.count === "number" && isRef(e.head) &&
    typeof e.chain === "object" && e.chain !== null && typeof e.chain.final === "string" &&
    (e.pruned === undefined || (typeof e.pruned === "object" && e.pruned !== null && Number.isSafeInteger(e.pruned.cut) && typeof e.pruned.at === "string" && typeof e.pruned.before === "string")) &&
    typeof x.signingKey === "object" && x.signingKey !== null &&
    typeof x.store === "object" && x.store !== null && typeof x.store.verify === "object" && x.store.verify !== null &&
    typeof x.period === "object" && x.period !== null && typeof x.host === "string";
  return wellFormed ? (x as Manifest) : `manifest.json does not hold the fields a ${PACK_FORMAT} manifest holds, of their types`;
}

/** A file's digest as it passed: its sha256 (hex) and size. */
interface Digest {
  sha256: string;
  bytes: number;
}

/** Each listed file against its sha256 and size; files missing, and files the manifest does not list. */
function fileProblems(files: Map<string, Digest>, manifest: Manifest): PackProblem[] {
  const problems: PackProblem[] = [];
  const listed = new Set<string>([MANIFEST_FILE, SIGNATURE_FILE]);
  for (const f of manifest.files) {
    listed.add(f.path);
    const d = files.get(f.path);
    if (!d) problems.push({ file: f.path, message: "it is listed in the manifest but missing from the pack" });
    else if (d.bytes !== f.bytes || d.sha256 !== f.sha256) problems.push({ file: f.path, message: `it was changed: ${d.bytes} bytes, sha256 ${d.sha256.slice(0, 16)}…, where the manifest says ${f.bytes} bytes, sha256 ${String(f.sha256).slice(0, 16)}…` });
  }
  for (const name of [...files.keys()].sort()) if (!listed.has(name)) problems.push({ file: name, message: "it is not listed in the manifest: it was added to the pack" });
  return problems;
}

/** policy.json as written, or undefined when it is not one (every field read below, of its type). */
function policyListing(bytes: Buffer): { hash: string; files: { path: string; sha256: string; bytes: number; file: string }[] } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
  const x = parsed as { hash?: unknown; files?: unknown };
  if (typeof x !== "object" || x === null || typeof x.hash !== "string" || !Array.isArray(x.files)) return undefined;
  const files = x.files as { path?: unknown; sha256?: unknown; bytes?: unknown; file?: unknown }[];
  if (!files.every((f) => typeof f === "object" && f !== null && typeof f.path === "string" && typeof f.sha256 === "string" && typeof f.bytes === "number" && typeof f.file === "string")) return undefined;
  return { hash: x.hash, files: files as { path: string; sha256: string; bytes: number; file: string }[] };
}

/** Each policy version's files against policy.json, and the set against the version's hash (a host's pack, and a fleet pack). */
export function policyProblems(files: Map<string, Buffer>, m: { policies: readonly { hash: string; dir: string; record: number }[] }): PackProblem[] {
  const problems: PackProblem[] = [];
  for (const p of m.policies) {
    const listing = files.get(`${p.dir}/policy.json`);
    if (!listing) continue; // said as a missing file
    const parsed = policyListing(listing);
    if (!parsed) {
      problems.push({ file: `${p.dir}/policy.json`, record: p.record, message: "it is not a policy version's listing (valid JSON with a hash and its files)" });
      continue;
    }
    const texts: { path: string; text: string }[] = [];
    for (const f of parsed.files) {
      const name = `${p.dir}/${f.file}`;
      const bytes = files.get(name);
      if (!bytes) problems.push({ file: name, message: `the policy file ${f.path} is missing` });
      else if (sha256Hex(bytes) !== f.sha256 || bytes.length !== f.bytes) problems.push({ file: name, record: p.record, message: `the policy file ${f.path} is not the text stored in record ${p.record} (its sha256 differs from policy.json's)` });
      else texts.push({ path: f.path, text: bytes.toString("utf8") });
    }
    if (texts.length === parsed.files.length && (parsed.hash !== p.hash || hashPolicy(texts) !== p.hash)) problems.push({ file: `${p.dir}/policy.json`, record: p.record, message: `its files do not make the policy version ${p.hash.slice(0, 12)} the manifest names` });
  }
  return problems;
}

/** The most bytes of the files a verdict reads whole (the manifest, its signature and the policy versions): a pack's policies are text, not data. */
export const MAX_KEPT = 64 * 1024 * 1024;

export class PackTooLargeError extends Error {}

/** Whether a file is read whole: the manifest, its signature, a policy version's files. */
function keptWhole(name: string): boolean {
  return name === MANIFEST_FILE || name === SIGNATURE_FILE || name.startsWith("policies/");
}

/**
 * The files of a pack as they pass, for a host's pack and a fleet's alike: each hashed, its size
 * counted, its bytes handed on to `inner` (the extract's checks), and the manifest, its signature
 * and the policy files kept whole, at most MAX_KEPT bytes in all.
 */
export class PackFiles {
  readonly digests = new Map<string, Digest>();
  readonly kept = new Map<string, Buffer>();
  private keptBytes = 0;

  sink(name: string, inner: EntrySink | undefined): EntrySink {
    const hash: Hash = createHash("sha256");
    let bytes = 0;
    const parts: Buffer[] = [];
    const whole = keptWhole(name);
    return {
      write: (chunk) => {
        hash.update(chunk);
        bytes += chunk.length;
        inner?.write(chunk);
        if (!whole) return;
        this.keptBytes += chunk.length;
        if (this.keptBytes > MAX_KEPT) throw new PackTooLargeError(`the pack's manifest, signature and policy files are larger than ${MAX_KEPT} bytes: not a pack Covenant makes`);
        parts.push(Buffer.from(chunk));
      },
      end: () => {
        inner?.end();
        this.digests.set(name, { sha256: hash.digest("hex"), bytes });
        if (whole) this.kept.set(name, Buffer.concat(parts));
      },
    };
  }
}

/**
 * A pack's verdict, made as its files pass (`file(name)` for each, in any order, each name once),
 * with the public key alone: each file is hashed as it passes, the extract is checked line by line
 * (extract-check.ts), and only the manifest, its signature and the policy files are kept whole.
 */
export class PackChecker {
  private readonly files = new PackFiles();
  private readonly extract: ExtractCheck;

  /** `valuesInMemory`: extract-check.ts VALUES_IN_MEMORY unless a test gives fewer. */
  constructor(
    private readonly publicKey: KeyObject,
    o: { valuesInMemory?: number } = {},
  ) {
    this.extract = new ExtractCheck(o.valuesInMemory);
  }

  /** Where the bytes of the file `name` (relative to the pack) go. */
  file(name: string): EntrySink {
    return this.files.sink(name, name === HISTORY_FILE ? this.extract.historySink() : name === CHAIN_FILE ? this.extract.chainSink() : undefined);
  }


  verdict(): PackVerdict {
    const files = this.files.kept;
    const checkedWith = fingerprintOf(this.publicKey);
    const problems: PackProblem[] = [];
    const sig = signatureProblem(files, this.publicKey, checkedWith);
    if (sig) problems.push(sig);
    const manifestBytes = files.get(MANIFEST_FILE);
    if (!manifestBytes) return { intact: false, problems, checkedWith };
    const manifest = parseManifest(manifestBytes);
    if (typeof manifest === "string") return { intact: false, problems: [...problems, { file: MANIFEST_FILE, message: manifest }], checkedWith };
    if (manifest.signingKey?.fingerprint !== checkedWith) problems.push({ file: MANIFEST_FILE, message: `it names the signing key ${String(manifest.signingKey?.fingerprint)}, not the key given (${checkedWith})` });
    problems.push(...fileProblems(this.files.digests, manifest), ...this.extract.problems(manifest), ...policyProblems(files, manifest));
    return { intact: problems.length === 0, problems, manifest, manifestSha256: createHash("sha256").update(manifestBytes).digest("hex"), checkedWith };
  }
}

/** The verdict on a pack, given its files (by relative name) in memory and the auditor's public key. */
export function verifyPack(packFiles: readonly PackFile[], publicKey: KeyObject): PackVerdict {
  const checker = new PackChecker(publicKey);
  // a name given twice counts as its last copy, as a map of the files would
  const last = new Map(packFiles.map((f) => [f.name, f.bytes]));
  for (const [name, bytes] of last) {
    const sink = checker.file(name);
    sink.write(bytes);
    sink.end();
  }
  return checker.verdict();
}
