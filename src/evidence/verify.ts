// Checks an evidence pack with the public key alone (never the one the pack carries): the
// manifest's signature, every file against the manifest (a missing file, a changed one and one the
// manifest does not list are each named), the history extract line by line against its public
// hash chain (the first record that differs from what was signed is named), the records' numbers
// (consecutive, from the first to the last the manifest names, but for the records a prune kept
// at or below its cut, when the manifest says the extract reaches there), the head it names, and each policy
// version's files against their listing and their version's hash.
import { verify as verifySignature, type KeyObject } from "node:crypto";
import { hashPolicy } from "../store/policies.js";
import { fingerprintOf } from "../store/signing-key.js";
import { CHAIN_FILE, chainNext, chainStart, HISTORY_FILE, MANIFEST_FILE, PACK_FORMAT, sha256Hex, SIGNATURE_FILE, type Manifest } from "./manifest.js";
import type { PackFile } from "./tar.js";

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

/** Each listed file against its sha256 and size; files missing, and files the manifest does not list. */
function fileProblems(files: Map<string, Buffer>, manifest: Manifest): PackProblem[] {
  const problems: PackProblem[] = [];
  const listed = new Set<string>([MANIFEST_FILE, SIGNATURE_FILE]);
  for (const f of manifest.files) {
    listed.add(f.path);
    const bytes = files.get(f.path);
    if (!bytes) problems.push({ file: f.path, message: "it is listed in the manifest but missing from the pack" });
    else if (bytes.length !== f.bytes || sha256Hex(bytes) !== f.sha256) problems.push({ file: f.path, message: `it was changed: ${bytes.length} bytes, sha256 ${sha256Hex(bytes).slice(0, 16)}…, where the manifest says ${f.bytes} bytes, sha256 ${String(f.sha256).slice(0, 16)}…` });
  }
  for (const name of [...files.keys()].sort()) if (!listed.has(name)) problems.push({ file: name, message: "it is not listed in the manifest: it was added to the pack" });
  return problems;
}

/** The extract, line by line, against its chain and the manifest: numbers consecutive, first, last, count, head. */
function extractProblems(files: Map<string, Buffer>, m: Manifest): PackProblem[] {
  const problems: PackProblem[] = [];
  const text = files.get(HISTORY_FILE)?.toString("utf8");
  if (text === undefined) return problems; // said as a missing file
  const lines = text === "" ? [] : text.replace(/\n$/, "").split("\n");
  const signedChain = (files.get(CHAIN_FILE)?.toString("utf8") ?? "").split("\n").filter((l) => l !== "");
  let h = chainStart();
  let chainBroken = false;
  let expected: number | null = null;
  let firstSeq: number | undefined;
  let lastRecord: { seq: number; mac: string } | undefined;
  const cut = m.extract.pruned?.cut;
  lines.forEach((line, i) => {
    let rec: { seq?: unknown; mac?: unknown } | undefined;
    try {
      rec = JSON.parse(line) as { seq?: unknown; mac?: unknown };
    } catch {
      rec = undefined;
    }
    const seq = typeof rec?.seq === "number" ? rec.seq : undefined;
    const where = seq !== undefined ? `record ${seq} (line ${i + 1})` : `line ${i + 1}`;
    h = chainNext(h, line);
    if (!chainBroken && signedChain[i] !== h.toString("hex")) {
      chainBroken = true;
      problems.push({ file: HISTORY_FILE, ...(seq !== undefined ? { record: seq } : {}), message: `${where} is not the one that was signed: from here the extract's hash chain differs from history.chain (the record was changed, or records before it were removed, added or reordered)` });
    }
    if (rec === undefined) problems.push({ file: HISTORY_FILE, message: `${where} is not valid JSON` });
    else if (seq === undefined || typeof rec.mac !== "string") problems.push({ file: HISTORY_FILE, message: `${where} carries no record number or MAC` });
    else {
      // at or below a prune's cut (the manifest signs it), the records kept skip the ones removed; from the cut on, none is skipped
      const skipAllowed = cut !== undefined && expected !== null && seq > expected - 1 && seq <= cut + 1;
      if (expected !== null && seq !== expected && !skipAllowed) problems.push({ file: HISTORY_FILE, record: seq, message: `${where} follows record ${expected - 1}: record numbers must be consecutive (expected ${expected})` });
      if (i === 0) firstSeq = seq;
      expected = seq + 1;
      lastRecord = { seq, mac: rec.mac };
    }
  });
  if (lines.length !== m.extract.count) problems.push({ file: HISTORY_FILE, message: `the extract holds ${lines.length} records; the manifest says ${m.extract.count}` });
  if (h.toString("hex") !== m.extract.chain?.final) problems.push({ file: HISTORY_FILE, message: "the extract's hash chain does not end at the value the manifest signs" });
  if (signedChain.length !== lines.length && !chainBroken) problems.push({ file: CHAIN_FILE, message: `it holds ${signedChain.length} chain values for ${lines.length} records` });
  if (firstSeq !== undefined && firstSeq !== m.extract.first) problems.push({ file: HISTORY_FILE, message: `the extract starts at record ${String(firstSeq)}; the manifest says ${String(m.extract.first)}` });
  if (lastRecord && m.extract.last !== lastRecord.seq) problems.push({ file: HISTORY_FILE, record: lastRecord.seq, message: `the extract ends at record ${lastRecord.seq}; the manifest says ${String(m.extract.last)}` });
  const head = m.extract.head;
  if (lastRecord && (!head || head.seq !== lastRecord.seq || head.mac !== lastRecord.mac)) problems.push({ file: HISTORY_FILE, record: lastRecord.seq, message: `its last record is not the head the manifest names (${head ? `record ${head.seq}, MAC ${String(head.mac).slice(0, 16)}…` : "none"})` });
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

/** Each policy version's files against policy.json, and the set against the version's hash. */
function policyProblems(files: Map<string, Buffer>, m: Manifest): PackProblem[] {
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

/** The verdict on a pack, given its files (by relative name) and the auditor's public key. */
export function verifyPack(packFiles: readonly PackFile[], publicKey: KeyObject): PackVerdict {
  const files = new Map(packFiles.map((f) => [f.name, f.bytes]));
  const checkedWith = fingerprintOf(publicKey);
  const problems: PackProblem[] = [];
  const sig = signatureProblem(files, publicKey, checkedWith);
  if (sig) problems.push(sig);
  const manifestBytes = files.get(MANIFEST_FILE);
  if (!manifestBytes) return { intact: false, problems, checkedWith };
  const manifest = parseManifest(manifestBytes);
  if (typeof manifest === "string") return { intact: false, problems: [...problems, { file: MANIFEST_FILE, message: manifest }], checkedWith };
  if (manifest.signingKey?.fingerprint !== checkedWith) problems.push({ file: MANIFEST_FILE, message: `it names the signing key ${String(manifest.signingKey?.fingerprint)}, not the key given (${checkedWith})` });
  problems.push(...fileProblems(files, manifest), ...extractProblems(files, manifest), ...policyProblems(files, manifest));
  return { intact: problems.length === 0, problems, manifest, checkedWith };
}
