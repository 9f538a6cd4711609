// Checks a pack's history extract as its bytes pass, line by line, against its public hash chain
// (history.chain) and the manifest: each line is parsed once (its record number and MAC), chained,
// and forgotten. What is kept is bounded by the record count, not the bytes: the chain values
// (32 bytes a record) of whichever of the two files comes first, so the two can be compared
// whichever order an archive holds them in.
import { createHash, type Hash } from "node:crypto";
import { CHAIN_FILE, CHAIN_LABEL, HISTORY_FILE, type Manifest } from "./manifest.js";
import { SpillFile, type Spilled } from "./spill.js";
import type { EntrySink } from "./tar.js";

export interface ExtractProblem {
  file: string;
  record?: number;
  message: string;
}

/** The longest line parsed: a record Covenant writes is far shorter; a longer one is chained but not read. */
export const MAX_LINE = 64 * 1024 * 1024;

/**
 * The most line problems a verdict lists (the rest are counted): a crafted extract of empty lines
 * makes a problem of each, and a few kilobytes of gzip unpack to millions of them.
 */
export const MAX_LINE_PROBLEMS = 100;

const NEWLINE = 0x0a;
const HEX_VALUE = /^[0-9a-f]{64}$/;

/**
 * Calls `onPiece` with each line's pieces (no newline), then `onLineEnd`. A piece is a view of the
 * chunk written: one `lasting` (a line still open when the chunk ends) must be copied to be kept.
 */
export class LineSplitter implements EntrySink {
  private open = false;

  constructor(
    private readonly onPiece: (piece: Buffer, lasting: boolean) => void,
    private readonly onLineEnd: () => void,
  ) {}

  write(chunk: Buffer): void {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, from);
      if (nl === -1) break;
      this.onPiece(chunk.subarray(from, nl), false);
      this.open = false;
      this.onLineEnd();
      from = nl + 1;
    }
    if (from < chunk.length) {
      this.open = true;
      this.onPiece(chunk.subarray(from), true);
    }
  }

  /** A last line without its newline is a line; a newline at the end makes none after it. */
  end(): void {
    if (this.open) this.onLineEnd();
    this.open = false;
  }
}

/** How many chain values are kept in memory (48 bytes each: 48 MiB); the rest go to a spill file. */
export const VALUES_IN_MEMORY = 1024 * 1024;

const ENTRY = 48;

/**
 * A growing list of 32-byte values and, per value, a number (the record, or -1) and a position in
 * the problems: the first VALUES_IN_MEMORY in memory, the rest (48 bytes each) in a spill file
 * (spill.ts: bounded, given back with the checker), so that a crafted extract of millions of empty
 * lines, or a chain of millions of values, costs disk within the spill's bound, not memory.
 */
class ChainValues {
  /** 1,024 values to start with, and their two numbers each (half as many numbers were kept: the record and problem position of values 512 to 1,023 of each size were lost) */
  private bytes = Buffer.alloc(32 * 1024);
  private extra: Float64Array = new Float64Array(2 * 1024);
  private spill: SpillFile | undefined;
  private region: { write(chunk: Buffer): void; spilled: Spilled } | undefined;
  /** spilled entries not yet written (written 4,096 at a time) */
  private readonly pending = Buffer.alloc(4096 * ENTRY);
  private pendingBytes = 0;
  /** a window of the spilled entries, read ahead */
  private window = Buffer.alloc(0);
  private windowFrom = 0;
  length = 0;

  constructor(private readonly inMemory = VALUES_IN_MEMORY) {}

  push(value: Buffer, seq = -1, problemAt = 0): void {
    if (this.length >= this.inMemory) return this.pushSpilled(value, seq, problemAt);
    if ((this.length + 1) * 32 > this.bytes.length) {
      const grown = Buffer.alloc(this.bytes.length * 2);
      this.bytes.copy(grown);
      this.bytes = grown;
      const more = new Float64Array(this.extra.length * 2);
      more.set(this.extra);
      this.extra = more;
    }
    value.copy(this.bytes, this.length * 32);
    this.extra[this.length * 2] = seq;
    this.extra[this.length * 2 + 1] = problemAt;
    this.length++;
  }

  private pushSpilled(value: Buffer, seq: number, problemAt: number): void {
    this.spill ??= new SpillFile(undefined, "the extract holds more lines than any host records (48 bytes of each line's chain value are kept to compare)");
    this.region ??= this.spill.region();
    value.copy(this.pending, this.pendingBytes);
    this.pending.writeDoubleLE(seq, this.pendingBytes + 32);
    this.pending.writeDoubleLE(problemAt, this.pendingBytes + 40);
    this.pendingBytes += ENTRY;
    this.length++;
    if (this.pendingBytes === this.pending.length) this.flush();
  }

  private flush(): void {
    if (this.pendingBytes === 0) return;
    this.region!.write(this.pending.subarray(0, this.pendingBytes));
    this.pendingBytes = 0;
  }

  /** The spilled entry `i` (at least inMemory), read through a window that moves ahead. */
  private spilled(i: number): Buffer {
    this.flush();
    const k = i - this.inMemory;
    if (k < this.windowFrom || (k + 1) * ENTRY > this.windowFrom * ENTRY + this.window.length) {
      this.window = Buffer.alloc(4096 * ENTRY);
      this.window = this.window.subarray(0, this.spill!.readAt(this.region!.spilled, k * ENTRY, this.window));
      this.windowFrom = k;
    }
    const at = (k - this.windowFrom) * ENTRY;
    return this.window.subarray(at, at + ENTRY);
  }

  equals(i: number, value: Buffer): boolean {
    if (i >= this.length) return false;
    if (i >= this.inMemory) return this.spilled(i).subarray(0, 32).equals(value);
    return this.bytes.subarray(i * 32, i * 32 + 32).equals(value);
  }

  seq(i: number): number {
    return i >= this.inMemory ? this.spilled(i).readDoubleLE(32) : this.extra[i * 2]!;
  }

  problemAt(i: number): number {
    return i >= this.inMemory ? this.spilled(i).readDoubleLE(40) : this.extra[i * 2 + 1]!;
  }

  close(): void {
    this.spill?.close();
    this.spill = undefined;
  }
}

function chainStart(): Buffer {
  return createHash("sha256").update(CHAIN_LABEL).digest();
}

function brokenAt(seq: number | undefined, line: number): ExtractProblem {
  const where = seq !== undefined ? `record ${seq} (line ${line})` : `line ${line}`;
  return { file: HISTORY_FILE, ...(seq !== undefined ? { record: seq } : {}), message: `${where} is not the one that was signed: from here the extract's hash chain differs from history.chain (the record was changed, or records before it were removed, added or reordered)` };
}

function gapProblem(seq: number, before: number, line: number): ExtractProblem {
  return { file: HISTORY_FILE, record: seq, message: `record ${seq} (line ${line}) follows record ${before}: record numbers must be consecutive (expected ${before + 1})` };
}

/**
 * The extract's checks, fed history.jsonl and history.chain as they pass (`historySink()`,
 * `chainSink()`), then judged against the manifest (`problems()`).
 */
export class ExtractCheck {
  /** the line problems kept (at most MAX_LINE_PROBLEMS), and how many more there were */
  readonly lineProblems: ExtractProblem[] = [];
  private omitted = 0;
  /**
   * forward jumps in the record numbers, judged once the manifest says whether a prune's cut is
   * there (a prune's kept records may make many): four numbers each, the record jumped to, the one
   * before it, its line, and where it falls among lineProblems
   */
  private gaps = new Float64Array(256);
  private gapCount = 0;
  private h = chainStart();
  private lineHash: Hash | undefined;
  private pieces: Buffer[] = [];
  private pieceBytes = 0;
  private lines = 0;
  private expected: number | null = null;
  private firstSeq: number | undefined;
  private lastRecord: { seq: number; mac: string } | undefined;
  private historySeen = false;
  private chainSeen = false;
  /** the signed chain, when it came first; the computed one (with each line's record and problem position), when the extract did */
  private signed: ChainValues | undefined;
  private computed: ChainValues | undefined;
  /** signed values read: non-empty lines of history.chain */
  private signedCount = 0;
  /** the first signed value that is not a lowercase sha256 in hex (it matches nothing), by its position */
  private firstMalformed: number | undefined;
  private chainPiece: Buffer[] = [];
  private chainPieceBytes = 0;
  private brokenLine: number | undefined;

  /** `valuesInMemory`: how many chain values are kept in memory before the rest are spilled (tests give few). */
  constructor(private readonly valuesInMemory = VALUES_IN_MEMORY) {}

  historySink(): EntrySink {
    this.historySeen = true;
    if (!this.chainSeen) this.computed = new ChainValues(this.valuesInMemory);
    return new LineSplitter((p, lasting) => this.historyPiece(p, lasting), () => this.historyLineEnd());
  }

  chainSink(): EntrySink {
    this.chainSeen = true;
    if (!this.historySeen) this.signed = new ChainValues(this.valuesInMemory);
    return new LineSplitter((p) => this.chainPieceOf(p), () => this.chainLineEnd());
  }

  private historyPiece(piece: Buffer, lasting: boolean): void {
    this.lineHash ??= createHash("sha256").update(this.h);
    this.lineHash.update(piece);
    this.pieceBytes += piece.length;
    if (this.pieceBytes <= MAX_LINE) this.pieces.push(lasting ? Buffer.from(piece) : piece);
  }

  /** A chain line longer than a value is kept only as "too long": it matches nothing. */
  private chainPieceOf(piece: Buffer): void {
    this.chainPieceBytes += piece.length;
    if (this.chainPieceBytes <= 64) this.chainPiece.push(Buffer.from(piece));
  }

  private historyLineEnd(): void {
    const i = this.lines++;
    this.h = (this.lineHash ?? createHash("sha256").update(this.h)).digest();
    this.lineHash = undefined;
    const overlong = this.pieceBytes > MAX_LINE;
    const text = overlong ? "" : (this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces)).toString("utf8");
    this.pieces = [];
    this.pieceBytes = 0;
    let rec: { seq?: unknown; mac?: unknown } | undefined;
    try {
      // a record is an object: anything else is not parsed (a thrown parse costs microseconds, and a crafted extract has millions of lines)
      rec = overlong || !text.trimStart().startsWith("{") ? undefined : (JSON.parse(text) as { seq?: unknown; mac?: unknown });
    } catch {
      rec = undefined;
    }
    const seq = typeof rec?.seq === "number" ? rec.seq : undefined;
    this.compareChain(i, seq);
    this.lineChecks(i, rec, seq, overlong);
  }

  /** With the signed chain already read, the first line whose value differs is said now; otherwise its value is kept for when it comes. */
  private compareChain(i: number, seq: number | undefined): void {
    if (this.computed) {
      this.computed.push(this.h, seq ?? -1, this.lineProblems.length);
      return;
    }
    if (this.brokenLine !== undefined) return;
    const signedHere = (this.firstMalformed === undefined || i < this.firstMalformed) && this.signed!.equals(i, this.h);
    if (!signedHere) {
      this.brokenLine = i;
      this.note(brokenAt(seq, i + 1));
    }
  }

  private lineChecks(i: number, rec: { seq?: unknown; mac?: unknown } | undefined, seq: number | undefined, overlong: boolean): void {
    const where = seq !== undefined ? `record ${seq} (line ${i + 1})` : `line ${i + 1}`;
    if (overlong) this.note({ file: HISTORY_FILE, message: `${where} is longer than ${MAX_LINE} bytes: not a record Covenant writes` });
    else if (rec === undefined) this.note({ file: HISTORY_FILE, message: `${where} is not a record (a JSON object)` });
    else if (seq === undefined || typeof rec.mac !== "string") this.note({ file: HISTORY_FILE, message: `${where} carries no record number or MAC` });
    else {
      // forward, to at most the record after a prune's cut: the records a prune kept skip the removed ones, if the manifest says it reaches there
      if (this.expected !== null && seq > this.expected) this.noteGap(seq, this.expected - 1, i + 1);
      else if (this.expected !== null && seq !== this.expected) this.note(gapProblem(seq, this.expected - 1, i + 1));
      if (i === 0) this.firstSeq = seq;
      this.expected = seq + 1;
      this.lastRecord = { seq, mac: rec.mac };
    }
  }

  /** A line problem, kept while fewer than MAX_LINE_PROBLEMS are, counted after. */
  private note(p: ExtractProblem): void {
    if (this.lineProblems.length < MAX_LINE_PROBLEMS) this.lineProblems.push(p);
    else this.omitted++;
  }

  private noteGap(to: number, from: number, line: number): void {
    if ((this.gapCount + 1) * 4 > this.gaps.length) {
      const grown = new Float64Array(this.gaps.length * 2);
      grown.set(this.gaps);
      this.gaps = grown;
    }
    this.gaps.set([to, from, line, this.lineProblems.length], this.gapCount * 4);
    this.gapCount++;
  }

  /** The line problems in line order, with the forward jumps the manifest's prune does not explain, at most MAX_LINE_PROBLEMS and a count of the rest. */
  private listed(cut: number | undefined): ExtractProblem[] {
    const out: ExtractProblem[] = [];
    let omitted = this.omitted;
    const add = (p: ExtractProblem) => (out.length < MAX_LINE_PROBLEMS ? out.push(p) : omitted++);
    let next = 0;
    for (let g = 0; g < this.gapCount; g++) {
      const [to, from, line, at] = this.gaps.subarray(g * 4, g * 4 + 4) as unknown as [number, number, number, number];
      if (cut !== undefined && to <= cut + 1) continue;
      while (next < at && next < this.lineProblems.length) add(this.lineProblems[next++]!);
      add(gapProblem(to, from, line));
    }
    while (next < this.lineProblems.length) add(this.lineProblems[next++]!);
    if (omitted > 0) out.push({ file: HISTORY_FILE, message: `and ${omitted} more line problem${omitted === 1 ? "" : "s"} not listed (the first ${MAX_LINE_PROBLEMS} are)` });
    return out;
  }

  private chainLineEnd(): void {
    const line = this.chainPiece.length === 1 ? this.chainPiece[0]! : Buffer.concat(this.chainPiece);
    const bytes = this.chainPieceBytes;
    this.chainPiece = [];
    this.chainPieceBytes = 0;
    if (bytes === 0) return; // blank lines are not values
    const i = this.signedCount++;
    const text = bytes === 64 ? line.toString("latin1") : "";
    const value = HEX_VALUE.test(text) ? Buffer.from(text, "hex") : undefined;
    if (this.signed) {
      if (!value) this.firstMalformed ??= i;
      else if (this.firstMalformed === undefined) this.signed.push(value);
      return;
    }
    // the extract came first: compare as the signed values pass
    if (this.brokenLine === undefined && !(value && this.computed!.equals(i, value))) this.brokenLine = Math.min(i, this.computed!.length);
  }

  /** When the signed values came second (or not at all): the first line that differs, said where its line's problems began. */
  private resolveLate(): void {
    const computed = this.computed;
    if (!computed) return;
    if (this.brokenLine === undefined && this.signedCount < computed.length) this.brokenLine = this.signedCount;
    const at = this.brokenLine;
    if (at === undefined || at >= computed.length) {
      if (at !== undefined && at >= computed.length) this.brokenLine = undefined; // more signed values than lines: said by the count below
      return;
    }
    const seq = computed.seq(at);
    const where = computed.problemAt(at);
    this.lineProblems.splice(where, 0, brokenAt(seq === -1 ? undefined : seq, at + 1));
    // the jumps noted at or after it now come after it
    for (let g = 0; g < this.gapCount; g++) if (this.gaps[g * 4 + 3]! >= where) this.gaps[g * 4 + 3]!++;
    if (this.lineProblems.length > MAX_LINE_PROBLEMS) {
      this.lineProblems.pop();
      this.omitted++;
    }
  }

  /** Everything found, in the order a reader follows: line by line, then against the manifest. */
  problems(m: Manifest): ExtractProblem[] {
    if (!this.historySeen) return []; // said as a missing file
    this.resolveLate();
    const problems = this.listed(m.extract.pruned?.cut);
    const chainBroken = this.brokenLine !== undefined;
    if (this.lines !== m.extract.count) problems.push({ file: HISTORY_FILE, message: `the extract holds ${this.lines} records; the manifest says ${m.extract.count}` });
    if (this.h.toString("hex") !== m.extract.chain?.final) problems.push({ file: HISTORY_FILE, message: "the extract's hash chain does not end at the value the manifest signs" });
    if (this.signedCount !== this.lines && !chainBroken) problems.push({ file: CHAIN_FILE, message: `it holds ${this.signedCount} chain values for ${this.lines} records` });
    if (this.firstSeq !== undefined && this.firstSeq !== m.extract.first) problems.push({ file: HISTORY_FILE, message: `the extract starts at record ${String(this.firstSeq)}; the manifest says ${String(m.extract.first)}` });
    const last = this.lastRecord;
    if (last && m.extract.last !== last.seq) problems.push({ file: HISTORY_FILE, record: last.seq, message: `the extract ends at record ${last.seq}; the manifest says ${String(m.extract.last)}` });
    const head = m.extract.head;
    if (last && (!head || head.seq !== last.seq || head.mac !== last.mac)) problems.push({ file: HISTORY_FILE, record: last.seq, message: `its last record is not the head the manifest names (${head ? `record ${head.seq}, MAC ${String(head.mac).slice(0, 16)}…` : "none"})` });
    this.signed?.close();
    this.computed?.close();
    return problems;
  }
}
