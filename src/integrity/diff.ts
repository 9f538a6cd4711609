// The unified diff of a small text file's old and new content, as `diff -u` writes it (three
// lines of context, `@@ -l,s +l,s @@` hunk headers, `\ No newline at end of file`), with its
// secrets masked (mask.ts). No diff is made of a file that is large, long, has a very long line,
// or is not UTF-8 text: the outcome says why instead.
import { sizeText } from "../probes/files.js";
import { escapeKeepingTabs } from "../text/escape.js";
import { diffLines } from "./line-diff.js";
import { DEFAULT_SECRET_PATTERNS, MASK, masker, privateKeyLines, type SecretPattern } from "./mask.js";

export interface DiffOptions {
  /** unchanged lines shown around each change: 3, as `diff -u` */
  context?: number;
  /** either side larger than this many bytes: no diff (64 KiB) */
  maxBytes?: number;
  /** either side with more lines than this: no diff (2,000) */
  maxLines?: number;
  /** a line longer than this many characters (minified or generated content): no diff (4,096) */
  maxLineLength?: number;
  /** the secret patterns, each applied to every line shown; DEFAULT_SECRET_PATTERNS */
  secretPatterns?: readonly SecretPattern[];
  /** the names on the `---` and `+++` lines */
  oldLabel?: string;
  newLabel?: string;
}

export const DIFF_DEFAULTS = { context: 3, maxBytes: 64 * 1024, maxLines: 2000, maxLineLength: 4096 } as const;

export interface Hunk {
  /** first line of the hunk in each text, counted from 1 (0 for an empty side: see the header) */
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** ` kept`, `-deleted`, `+inserted`, each line with its newline, or `\ No newline at end of file` */
  lines: string[];
}

export type DiffOutcome =
  | { kind: "diff"; text: string; added: number; removed: number; maskedLines: number }
  | { kind: "same" }
  | { kind: "none"; reason: string };

export const NO_NEWLINE = "\\ No newline at end of file\n";

/**
 * The masked unified diff of `oldContent` and `newContent` (bytes as read, or text). Each line
 * shown is masked where it matches a secret pattern, and whole inside a private key block, on
 * either side; its control characters are escaped (`\x1b`), tabs kept, so that the text is safe
 * for a terminal or a line-oriented message as it is.
 */
export function unifiedDiff(oldContent: Uint8Array | string, newContent: Uint8Array | string, options: DiffOptions = {}): DiffOutcome {
  const opts = { ...DIFF_DEFAULTS, ...options };
  const sides: string[] = [];
  for (const [which, content] of [["old", oldContent], ["new", newContent]] as const) {
    const text = decodeText(content, which, opts);
    if (typeof text !== "string") return text;
    sides.push(text);
  }
  const [a, b] = [splitLines(sides[0]!), splitLines(sides[1]!)];
  for (const [which, lines] of [["old", a], ["new", b]] as const) {
    if (lines.length > opts.maxLines) return { kind: "none", reason: `the ${which} content has ${lines.length} lines, more than the ${opts.maxLines} a diff is made of` };
    const long = lines.findIndex((l) => l.length > opts.maxLineLength + 1);
    if (long >= 0) return { kind: "none", reason: `line ${long + 1} of the ${which} content is longer than the ${opts.maxLineLength} characters a diff shows` };
  }
  const hunks = diffHunks(a, b, opts.context);
  if (hunks.length === 0) return { kind: "same" };
  const shown = maskHunks(hunks, a, b, opts.secretPatterns ?? DEFAULT_SECRET_PATTERNS);
  const body = hunks.flatMap((h) => h.lines);
  const added = body.filter((l) => l[0] === "+").length;
  const removed = body.filter((l) => l[0] === "-").length;
  const text = formatUnified(shown.hunks, opts.oldLabel ?? "a", opts.newLabel ?? "b", escapeKeepingTabs);
  return { kind: "diff", text, added, removed, maskedLines: shown.masked };
}

/** The content as text, or why no diff is made of it: too large, binary (a NUL byte), not UTF-8. */
export function decodeText(content: Uint8Array | string, which: string, opts: { maxBytes: number }): string | DiffOutcome {
  const bytes = typeof content === "string" ? Buffer.byteLength(content) : content.length;
  if (bytes > opts.maxBytes) return { kind: "none", reason: `the ${which} content is ${sizeText(bytes)}, more than the ${sizeText(opts.maxBytes)} a diff is made of` };
  // a NUL byte is what makes GNU diff call a file binary; text that is not UTF-8 is not shown either
  if (typeof content === "string") return content.includes("\0") ? { kind: "none", reason: `the ${which} content is binary (a NUL byte)` } : content;
  if (content.includes(0)) return { kind: "none", reason: `the ${which} content is binary (a NUL byte)` };
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(content);
  } catch {
    return { kind: "none", reason: `the ${which} content is not UTF-8 text` };
  }
}

/** The text's lines, each with its newline; the last has none when the text does not end in one. */
export function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf("\n", start);
    const end = nl < 0 ? text.length : nl + 1;
    lines.push(text.slice(start, end));
    start = end;
  }
  return lines;
}

/** The hunks of `diff -u` between two lists of lines, unmasked (for tests and for masking). */
export function diffHunks(a: readonly string[], b: readonly string[], context: number = DIFF_DEFAULTS.context): Hunk[] {
  const { deleted, inserted } = diffLines(a, b);
  // the edit script as one list: ' ' kept, '-' deleted, '+' inserted, with each side's index
  const ops: { op: " " | "-" | "+"; i: number; j: number }[] = [];
  for (let i = 0, j = 0; i < a.length || j < b.length; ) {
    if (i < a.length && deleted[i]) ops.push({ op: "-", i: i++, j });
    else if (j < b.length && inserted[j]) ops.push({ op: "+", i, j: j++ });
    else ops.push({ op: " ", i: i++, j: j++ });
  }
  const hunks: Hunk[] = [];
  for (let k = 0; k < ops.length; ) {
    if (ops[k]!.op === " ") {
      k++;
      continue;
    }
    // a hunk runs from `context` lines before this change to `context` after its last change,
    // taking in every change less than 2 × context + 1 kept lines after the one before
    let last = k;
    for (let next = k + 1; next < ops.length && next - last <= 2 * context + 1; next++) if (ops[next]!.op !== " ") last = next;
    const from = Math.max(0, k - context);
    const to = Math.min(ops.length, last + context + 1);
    hunks.push(hunkOf(ops.slice(from, to), a, b));
    k = to;
  }
  return hunks;
}

function hunkOf(ops: { op: " " | "-" | "+"; i: number; j: number }[], a: readonly string[], b: readonly string[]): Hunk {
  const first = ops[0]!;
  const h: Hunk = { oldStart: first.i + 1, oldLines: 0, newStart: first.j + 1, newLines: 0, lines: [] };
  for (const { op, i, j } of ops) {
    const line = op === "+" ? b[j]! : a[i]!;
    if (op !== "+") h.oldLines++;
    if (op !== "-") h.newLines++;
    h.lines.push(op + line);
    if (!line.endsWith("\n")) h.lines.push(NO_NEWLINE);
  }
  return h;
}

/** `-3,4`, `-3` for one line, `-2,0` for none (the line after which the change falls) */
function range(start: number, count: number): string {
  if (count === 1) return `${start}`;
  return `${count === 0 ? start - 1 : start},${count}`;
}

/** The text of `diff -u` for these hunks; `show` turns each line's content into what is written. */
export function formatUnified(hunks: readonly Hunk[], oldLabel: string, newLabel: string, show: (line: string) => string = (l) => l): string {
  let out = `--- ${show(oldLabel)}\n+++ ${show(newLabel)}\n`;
  for (const h of hunks) {
    out += `@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@\n`;
    for (const line of h.lines) out += line === NO_NEWLINE ? line : `${line[0]}${show(line.slice(1, line.endsWith("\n") ? -1 : undefined))}\n`;
  }
  return out;
}

/**
 * The hunks with each line masked as it would be on either side: a line kept is masked when it
 * lies in a private key block of the old text or of the new one.
 */
function maskHunks(hunks: Hunk[], a: readonly string[], b: readonly string[], patterns: readonly SecretPattern[]): { hunks: Hunk[]; masked: number } {
  const m = masker(patterns);
  const [keyA, keyB] = [privateKeyLines(a), privateKeyLines(b)];
  let masked = 0;
  const out = hunks.map((h) => {
    let [i, j] = [h.oldStart - 1, h.newStart - 1];
    const lines = h.lines.map((line) => {
      if (line === NO_NEWLINE) return line;
      const op = line[0]!;
      const inKey = op === "-" ? keyA[i] : op === "+" ? keyB[j] : keyA[i] || keyB[j];
      if (op !== "+") i++;
      if (op !== "-") j++;
      const nl = line.endsWith("\n") ? "\n" : "";
      const body = line.slice(1, nl ? -1 : undefined);
      const shown = inKey ? { text: MASK, masked: true } : m.line(body);
      if (shown.masked) masked++;
      return op + shown.text + nl;
    });
    return { ...h, lines };
  });
  return { hunks: out, masked };
}
