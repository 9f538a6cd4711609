// Checks a fleet evidence pack (fleet-manifest.ts) with the hub's public key alone: the signature
// over the manifest, every file against its sha256 and size (missing, changed and added files
// named), each host's records against the hub's chain beside them (chain.jsonl: the value before
// the first, then after each record), from the value the manifest signs before the first to the
// one it signs after the last, with record numbers that only go up (consecutive but below a
// prune's cut), and the policy versions' files against their hash. A host's records are checked
// as they pass; its chain values are kept (a few dozen bytes a record), and its lines only when an
// archive gives them before their chain (never in the order Covenant writes).
import { verify as verifySignature, type KeyObject } from "node:crypto";
import { fingerprintOf } from "../store/signing-key.js";
import { LineSplitter, MAX_LINE } from "./extract-check.js";
import { FLEET_PACK_FORMAT, HOST_CHAIN, HOST_HISTORY, type FleetManifest, type FleetManifestHost } from "./fleet-manifest.js";
import { hubChainNext } from "../store/hub-chain.js";
import { MANIFEST_FILE, SIGNATURE_FILE } from "./manifest.js";
import type { EntrySink } from "./tar.js";
import { PackFiles, PackTooLargeError, policyProblems, type PackProblem } from "./verify.js";

export interface FleetVerdict {
  intact: boolean;
  problems: PackProblem[];
  manifest?: FleetManifest;
  checkedWith: string;
}

/** One host's chain file and records as they pass. */
class HostFiles {
  before: string | null | undefined;
  /** after each record: its number and the chain value the hub holds */
  readonly values: { seq: number; chain: string }[] = [];
  chainProblem: PackProblem | undefined;
  chainRead = false;
  /** the records' lines kept until the chain is read (only when the archive gives them first) */
  readonly waiting: string[] = [];
  historyProblem: PackProblem | undefined;
  lines = 0;
  private prev: Buffer | undefined;

  constructor(readonly dir: string) {}

  chainLine(text: string): void {
    if (this.chainProblem) return;
    try {
      const v = JSON.parse(text) as { before?: unknown; seq?: unknown; chain?: unknown };
      if (this.before === undefined) {
        if (v.before !== null && typeof v.before !== "string") throw new Error();
        this.before = v.before as string | null;
      } else {
        if (typeof v.seq !== "number" || typeof v.chain !== "string") throw new Error();
        this.values.push({ seq: v.seq, chain: v.chain });
      }
    } catch {
      this.chainProblem = { file: `${this.dir}/${HOST_CHAIN}`, message: `line ${this.values.length + 1} is not a chain entry ({before} first, then {seq, receivedAt, chain})` };
    }
  }

  /** A record's line: checked at once when the chain is known, else kept. */
  historyLine(text: string): void {
    if (!this.chainRead) return void this.waiting.push(text);
    this.link(text);
  }

  chainEnded(): void {
    this.chainRead = true;
    for (const l of this.waiting.splice(0)) this.link(l);
  }

  private link(text: string): void {
    const i = this.lines++;
    if (this.historyProblem || this.chainProblem) return;
    this.prev ??= Buffer.from(this.before ?? "", "hex");
    const value = this.values[i];
    const next = hubChainNext(this.prev, text);
    let seq: number | undefined;
    try {
      seq = (JSON.parse(text) as { seq?: number }).seq;
    } catch {
      seq = undefined;
    }
    if (!value || next.toString("hex") !== value.chain || seq !== value.seq) {
      this.historyProblem = { file: `${this.dir}/${HOST_HISTORY}`, ...(seq !== undefined ? { record: seq } : {}), message: `line ${i + 1}${seq !== undefined ? ` (record ${seq})` : ""} is not the record the hub chained there: from here the host's records differ from the hub's chain (changed, or records removed, added or reordered)` };
      return;
    }
    this.prev = next;
  }

  problems(m: FleetManifestHost): PackProblem[] {
    if (this.chainProblem) return [this.chainProblem];
    if (this.historyProblem) return [this.historyProblem];
    const e = m.extract;
    const file = `${this.dir}/${HOST_HISTORY}`;
    const out: PackProblem[] = [];
    if ((this.before ?? "") !== e.before) out.push({ file: `${this.dir}/${HOST_CHAIN}`, message: "the chain value before the first record is not the one the manifest signs" });
    if (this.lines !== this.values.length) out.push({ file, message: `it holds ${this.lines} records where the hub's chain beside it holds ${this.values.length}` });
    if (this.lines !== e.count) out.push({ file, message: `it holds ${this.lines} records where the manifest says ${e.count}` });
    const last = this.values.at(-1);
    if ((last?.chain ?? e.before) !== e.final) out.push({ file, message: "the hub's chain does not end at the value the manifest signs: records at the end were removed or added" });
    if ((this.values[0]?.seq ?? null) !== e.first || (last?.seq ?? null) !== e.last) out.push({ file, message: `its records run from ${this.values[0]?.seq ?? "none"} to ${last?.seq ?? "none"}, not ${e.first} to ${e.last} as the manifest says` });
    for (let i = 1; i < this.values.length; i++) {
      const a = this.values[i - 1]!.seq;
      const b = this.values[i]!.seq;
      if (b === a + 1 || (b > a && e.prunedTo !== null && b <= e.prunedTo + 1)) continue;
      out.push({ file, record: b, message: `record ${b} follows record ${a}: the records are not consecutive` });
      break;
    }
    return out;
  }
}

export class FleetPackChecker {
  private readonly files = new PackFiles();
  private readonly hosts = new Map<string, HostFiles>();

  constructor(private readonly publicKey: KeyObject) {}

  private host(dir: string): HostFiles {
    let h = this.hosts.get(dir);
    if (!h) this.hosts.set(dir, (h = new HostFiles(dir)));
    return h;
  }

  file(name: string): EntrySink {
    const m = /^(hosts\/[^/]+)\/(history\.jsonl|chain\.jsonl)$/.exec(name);
    return this.files.sink(name, m ? this.lineSink(this.host(m[1]!), m[2] === HOST_CHAIN) : undefined);
  }


  private lineSink(h: HostFiles, isChain: boolean): EntrySink {
    let pieces: Buffer[] = [];
    let size = 0;
    const splitter = new LineSplitter(
      (piece, lasting) => {
        size += piece.length;
        if (size > MAX_LINE) throw new PackTooLargeError(`a line of ${h.dir} is longer than ${MAX_LINE} bytes: not a pack Covenant makes`);
        pieces.push(lasting ? Buffer.from(piece) : piece);
      },
      () => {
        const text = Buffer.concat(pieces).toString("utf8");
        pieces = [];
        size = 0;
        if (isChain) h.chainLine(text);
        else h.historyLine(text);
      },
    );
    return { write: (c) => splitter.write(c), end: () => (splitter.end(), isChain ? h.chainEnded() : undefined) };
  }

  /** The manifest when the pack has one that says it is a fleet pack (the verify command's choice of checker). */
  isFleet(): boolean {
    const m = this.files.kept.get(MANIFEST_FILE);
    if (!m) return false;
    try {
      return (JSON.parse(m.toString("utf8")) as { format?: unknown }).format === FLEET_PACK_FORMAT;
    } catch {
      return false;
    }
  }

  verdict(): FleetVerdict {
    const checkedWith = fingerprintOf(this.publicKey);
    const problems: PackProblem[] = [];
    const manifestBytes = this.files.kept.get(MANIFEST_FILE);
    const sig = this.files.kept.get(SIGNATURE_FILE);
    if (!manifestBytes) return { intact: false, problems: [{ file: MANIFEST_FILE, message: "the manifest is missing" }], checkedWith };
    if (!signatureHolds(manifestBytes, sig, this.publicKey)) problems.push({ file: SIGNATURE_FILE, message: `the signature over manifest.json does not verify with the given key (${checkedWith}): the manifest or its signature was changed, or the pack was signed by another key` });
    const manifest = parseManifest(manifestBytes);
    if (typeof manifest === "string") return { intact: false, problems: [...problems, { file: MANIFEST_FILE, message: manifest }], checkedWith };
    if (manifest.signingKey.fingerprint !== checkedWith) problems.push({ file: MANIFEST_FILE, message: `it names the signing key ${String(manifest.signingKey.fingerprint)}, not the key given (${checkedWith})` });
    problems.push(...this.fileProblems(manifest));
    for (const h of manifest.hosts) problems.push(...this.host(`hosts/${h.id}`).problems(h));
    problems.push(...policyProblems(this.files.kept, { policies: manifest.policies }));
    return { intact: problems.length === 0, problems, manifest, checkedWith };
  }

  private fileProblems(m: FleetManifest): PackProblem[] {
    const problems: PackProblem[] = [];
    const listed = new Set([MANIFEST_FILE, SIGNATURE_FILE]);
    for (const f of m.files) {
      listed.add(f.path);
      const d = this.files.digests.get(f.path);
      if (!d) problems.push({ file: f.path, message: "it is listed in the manifest but missing from the pack" });
      else if (d.sha256 !== f.sha256 || d.bytes !== f.bytes) problems.push({ file: f.path, message: `it was changed: ${d.bytes} bytes, sha256 ${d.sha256.slice(0, 16)}…, where the manifest says ${f.bytes} bytes, sha256 ${String(f.sha256).slice(0, 16)}…` });
    }
    for (const name of [...this.files.digests.keys()].sort()) if (!listed.has(name)) problems.push({ file: name, message: "it is not listed in the manifest: it was added to the pack" });
    return problems;
  }
}

function signatureHolds(manifest: Buffer, sig: Buffer | undefined, key: KeyObject): boolean {
  const text = sig?.toString("utf8").trim() ?? "";
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return false;
  try {
    return verifySignature(null, manifest, key, Buffer.from(text, "base64"));
  } catch {
    return false;
  }
}

/** The manifest, every field the checks read of its type, or what is wrong with it. */
function parseManifest(bytes: Buffer): FleetManifest | string {
  let x: Partial<FleetManifest>;
  try {
    x = JSON.parse(bytes.toString("utf8")) as Partial<FleetManifest>;
  } catch {
    return "manifest.json is not valid JSON";
  }
  const str = (v: unknown) => typeof v === "string";
  const numOrNull = (v: unknown) => v === null || typeof v === "number";
  const ok =
    typeof x === "object" && x !== null && x.format === FLEET_PACK_FORMAT &&
    Array.isArray(x.files) && x.files.every((f) => typeof f === "object" && f !== null && str(f.path) && str(f.sha256) && typeof f.bytes === "number") &&
    Array.isArray(x.hosts) && x.hosts.every((h) => typeof h === "object" && h !== null && str(h.id) && /^[0-9a-f-]{36}$/.test(h.id) && typeof h.extract === "object" && h.extract !== null && numOrNull(h.extract.first) && numOrNull(h.extract.last) && typeof h.extract.count === "number" && str(h.extract.before) && str(h.extract.final) && numOrNull(h.extract.prunedTo)) &&
    Array.isArray(x.policies) && x.policies.every((p) => typeof p === "object" && p !== null && str(p.hash) && str(p.dir) && typeof p.record === "number") &&
    typeof x.signingKey === "object" && x.signingKey !== null && typeof x.period === "object" && x.period !== null;
  return ok ? (x as FleetManifest) : `manifest.json is not a ${FLEET_PACK_FORMAT} manifest with the fields it holds, of their types`;
}
