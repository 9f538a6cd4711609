// Checks a fleet evidence pack (fleet-manifest.ts) with the hub's public key alone: the signature
// over the manifest, every file against its sha256 and size (missing, changed and added files
// named), each host's records against the hub's chain beside them (chain.jsonl: the value before
// the first, then after each record), from the value the manifest signs before the first to the
// one it signs after the last, with record numbers that only go up (consecutive but below a
// prune's cut), and the policy versions' files against their hash. Of a host's two files, the
// first an archive gives is spilled to a temporary file as it passes and the second is checked
// against it line by line: memory holds no line and no chain value beyond the first and last,
// whatever the order of the entries (Covenant writes the chain first).
import { verify as verifySignature, type KeyObject } from "node:crypto";
import { fingerprintOf } from "../store/signing-key.js";
import { LineSplitter, MAX_LINE } from "./extract-check.js";
import { FLEET_PACK_FORMAT, HOST_CHAIN, HOST_HISTORY, type FleetManifest, type FleetManifestHost } from "./fleet-manifest.js";
import { hubChainNext } from "../store/hub-chain.js";
import { MANIFEST_FILE, SIGNATURE_FILE } from "./manifest.js";
import type { EntrySink } from "./tar.js";
import { SpillFile, type SpillLines, type Spilled } from "./spill.js";
import { PackFiles, PackTooLargeError, policyProblems, type PackProblem } from "./verify.js";

export interface FleetVerdict {
  intact: boolean;
  problems: PackProblem[];
  manifest?: FleetManifest;
  checkedWith: string;
}

interface ChainEntry {
  seq: number;
  chain: string;
}

/**
 * One host's chain file and records, checked line against line. The first of the two an archive
 * gives is spilled to disk (spill.ts) as it passes; the second is checked as it passes, each of its
 * lines against the spilled file's next: whatever the order of entries, no line is held in memory,
 * and of the chain only what the checks need (its first and last entry, its count, and where its
 * record numbers jump).
 */
class HostFiles {
  before: string | null | undefined;
  chainProblem: PackProblem | undefined;
  historyProblem: PackProblem | undefined;
  /** the first of the two files, spilled, and which it was */
  private first: { chain: boolean; spilled: Spilled } | undefined;
  private reader: SpillLines | undefined;
  private done = false;
  lines = 0;
  entries = 0;
  firstEntry: ChainEntry | undefined;
  lastEntry: ChainEntry | undefined;
  /**
   * a record number not above the one before it (never right), and forward jumps (right only below
   * a prune's cut), by entry: three numbers each (from, to, entry), and only those before a backward
   * step (a later one cannot be the first wrong step), so their record numbers only go up
   */
  backward: { a: number; b: number; i: number } | undefined;
  private jumps = new Float64Array(0);
  private jumpCount = 0;
  private prev: Buffer | undefined;

  constructor(
    readonly dir: string,
    private readonly spill: SpillFile,
  ) {}

  /** Where one of the host's two files goes as it passes. */
  sink(isChain: boolean): EntrySink {
    if (!this.first) {
      const region = this.spill.region();
      this.first = { chain: isChain, spilled: region.spilled };
      return { write: (c) => region.write(c), end: () => undefined };
    }
    if (this.first.chain === isChain || this.done) return { write: () => undefined, end: () => undefined };
    this.reader = this.spill.lines(this.first.spilled, MAX_LINE);
    const splitter = lineSplitter(this.dir, (text) => (isChain ? this.chainLine(text, () => this.reader!.next()) : this.historyLine(text, () => this.reader!.next())));
    return { write: (c) => splitter.write(c), end: () => (splitter.end(), this.finish()) };
  }

  /** After the second file, or at the verdict when it never came: what is left of the first is read and counted. */
  finish(): void {
    if (this.done || !this.first) return;
    this.done = true;
    const reader = this.reader ?? this.spill.lines(this.first.spilled, MAX_LINE);
    if (this.first.chain) reader.rest((l) => this.chainEntry(l));
    else reader.rest(() => this.lines++);
    this.spill.release(this.first.spilled);
  }

  /** A chain line of the second file: the header, or an entry and the record it vouches for, read from the spill. */
  private chainLine(text: string, history: () => string | undefined): void {
    if (this.before === undefined && !this.chainProblem) return this.chainEntry(text);
    this.chainEntry(text);
    const line = history();
    if (line !== undefined) this.link(line);
  }

  /** A record of the second file: the chain's header (at the first) and the entry beside it, from the spill. */
  private historyLine(text: string, chain: () => string | undefined): void {
    if (this.before === undefined && !this.chainProblem) {
      const header = chain();
      if (header !== undefined) this.chainEntry(header);
    }
    const entry = chain();
    if (entry !== undefined) this.chainEntry(entry);
    this.link(text);
  }

  private chainEntry(text: string): void {
    if (this.chainProblem) return;
    try {
      const v = JSON.parse(text) as { before?: unknown; seq?: unknown; chain?: unknown };
      if (this.before === undefined) {
        if (v.before !== null && typeof v.before !== "string") throw new Error();
        this.before = v.before as string | null;
        return;
      }
      if (typeof v.seq !== "number" || typeof v.chain !== "string") throw new Error();
      const e = { seq: v.seq, chain: v.chain };
      const i = this.entries++;
      if (this.lastEntry && e.seq !== this.lastEntry.seq + 1) {
        if (e.seq <= this.lastEntry.seq) this.backward ??= { a: this.lastEntry.seq, b: e.seq, i };
        else if (!this.backward) this.noteJump(this.lastEntry.seq, e.seq, i);
      }
      this.firstEntry ??= e;
      this.lastEntry = e;
    } catch {
      this.chainProblem = { file: `${this.dir}/${HOST_CHAIN}`, message: `line ${this.entries + 1} is not a chain entry ({before} first, then {seq, receivedAt, chain})` };
    }
  }

  private noteJump(a: number, b: number, i: number): void {
    if ((this.jumpCount + 1) * 3 > this.jumps.length) {
      const grown = new Float64Array(Math.max(384, this.jumps.length * 2));
      grown.set(this.jumps);
      this.jumps = grown;
    }
    this.jumps.set([a, b, i], this.jumpCount * 3);
    this.jumpCount++;
  }

  /** The first forward jump past the record after a prune's cut (every jump, when there was no prune). */
  private wrongJump(prunedTo: number | null): { a: number; b: number; i: number } | undefined {
    for (let j = 0; j < this.jumpCount; j++) {
      const b = this.jumps[j * 3 + 1]!;
      if (prunedTo === null || b > prunedTo + 1) return { a: this.jumps[j * 3]!, b, i: this.jumps[j * 3 + 2]! };
    }
    return undefined;
  }

  /** The record `text` against the chain entry read beside it (the last one read, when the two files are in step). */
  private link(text: string): void {
    const i = this.lines++;
    if (this.historyProblem || this.chainProblem) return;
    this.prev ??= Buffer.from(this.before ?? "", "hex");
    const value = this.entries === i + 1 ? this.lastEntry : undefined;
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
    this.finish();
    if (this.chainProblem) return [this.chainProblem];
    if (this.historyProblem) return [this.historyProblem];
    const e = m.extract;
    const file = `${this.dir}/${HOST_HISTORY}`;
    const out: PackProblem[] = [];
    if ((this.before ?? "") !== e.before) out.push({ file: `${this.dir}/${HOST_CHAIN}`, message: "the chain value before the first record is not the one the manifest signs" });
    if (this.lines !== this.entries) out.push({ file, message: `it holds ${this.lines} records where the hub's chain beside it holds ${this.entries}` });
    if (this.lines !== e.count) out.push({ file, message: `it holds ${this.lines} records where the manifest says ${e.count}` });
    const last = this.lastEntry;
    if ((last?.chain ?? e.before) !== e.final) out.push({ file, message: "the hub's chain does not end at the value the manifest signs: records at the end were removed or added" });
    if ((this.firstEntry?.seq ?? null) !== e.first || (last?.seq ?? null) !== e.last) out.push({ file, message: `its records run from ${this.firstEntry?.seq ?? "none"} to ${last?.seq ?? "none"}, not ${e.first} to ${e.last} as the manifest says` });
    // a jump is right only to at most the record after a prune's cut; the first wrong step is named
    const jump = this.wrongJump(e.prunedTo);
    const wrong = [this.backward, jump].filter((x) => x !== undefined).sort((x, y) => x.i - y.i)[0];
    if (wrong) out.push({ file, record: wrong.b, message: `record ${wrong.b} follows record ${wrong.a}: the records are not consecutive` });
    return out;
  }
}

/** A line splitter for one of a host's files, each line whole (at most MAX_LINE bytes) to `line`. */
function lineSplitter(dir: string, line: (text: string) => void): LineSplitter {
  let pieces: Buffer[] = [];
  let size = 0;
  return new LineSplitter(
    (piece, lasting) => {
      size += piece.length;
      if (size > MAX_LINE) throw new PackTooLargeError(`a line of ${dir} is longer than ${MAX_LINE} bytes: not a pack Covenant makes`);
      pieces.push(lasting ? Buffer.from(piece) : piece);
    },
    () => {
      const text = Buffer.concat(pieces).toString("utf8");
      pieces = [];
      size = 0;
      line(text);
    },
  );
}

/** The most problems a fleet verdict lists (the rest are counted). */
export const MAX_LISTED_PROBLEMS = 1000;

export class FleetPackChecker {
  private readonly files = new PackFiles();
  private readonly hosts = new Map<string, HostFiles>();
  private readonly spill: SpillFile;

  /** `maxSpill`: the most the spill file holds at once (spill.ts MAX_SPILL; tests give less). */
  constructor(
    private readonly publicKey: KeyObject,
    o: { maxSpill?: number } = {},
  ) {
    this.spill = new SpillFile(o.maxSpill);
  }

  private host(dir: string): HostFiles {
    let h = this.hosts.get(dir);
    if (!h) this.hosts.set(dir, (h = new HostFiles(dir, this.spill)));
    return h;
  }

  file(name: string): EntrySink {
    const m = /^(hosts\/[^/]+)\/(history\.jsonl|chain\.jsonl)$/.exec(name);
    return this.files.sink(name, m ? this.host(m[1]!).sink(m[2] === HOST_CHAIN) : undefined);
  }

  /** Closes the spill file (the verdict does; a checker whose verdict is not asked for may). */
  close(): void {
    this.spill.close();
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
    try {
      return this.judge();
    } finally {
      this.spill.close();
    }
  }

  private judge(): FleetVerdict {
    const checkedWith = fingerprintOf(this.publicKey);
    const problems: PackProblem[] = [];
    const manifestBytes = this.files.kept.get(MANIFEST_FILE);
    const sig = this.files.kept.get(SIGNATURE_FILE);
    if (!manifestBytes) return { intact: false, problems: [{ file: MANIFEST_FILE, message: "the manifest is missing" }], checkedWith };
    if (!signatureHolds(manifestBytes, sig, this.publicKey)) problems.push({ file: SIGNATURE_FILE, message: `the signature over manifest.json does not verify with the given key (${checkedWith}): the manifest or its signature was changed, or the pack was signed by another key` });
    const manifest = parseManifest(manifestBytes);
    if (typeof manifest === "string") return { intact: false, problems: [...problems, { file: MANIFEST_FILE, message: manifest }], checkedWith };
    if (manifest.signingKey.fingerprint !== checkedWith) problems.push({ file: MANIFEST_FILE, message: `it names the signing key ${String(manifest.signingKey.fingerprint)}, not the key given (${checkedWith})` });
    // a manifest of hundreds of thousands of hosts and files (64 MiB of it may be read) is judged
    // whole, its problems listed to MAX_LISTED_PROBLEMS and the rest counted
    let omitted = 0;
    const add = (ps: readonly PackProblem[]) => {
      for (const p of ps) if (problems.length < MAX_LISTED_PROBLEMS) problems.push(p);
      else omitted++;
    };
    add(this.fileProblems(manifest));
    // a host the pack holds no file of is judged by a checker made for it and dropped
    for (const h of manifest.hosts) add((this.hosts.get(`hosts/${h.id}`) ?? new HostFiles(`hosts/${h.id}`, this.spill)).problems(h));
    add(policyProblems(this.files.kept, { policies: manifest.policies }));
    if (omitted > 0) problems.push({ file: MANIFEST_FILE, message: `and ${omitted} more problem${omitted === 1 ? "" : "s"} not listed (the first ${MAX_LISTED_PROBLEMS} are)` });
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
