// The approved copy of a small text file, kept in the store so that a later change can be shown
// as a diff (AIDE keeps only digests; Wazuh's report_changes keeps the file itself). No secret
// may reach the store: each line a secret pattern matches (mask.ts), and each line of a private
// key block, is kept masked, with a keyed digest (an HMAC under the host key) of the line as it
// was. Two copies are compared line by line, a masked line by that digest, so a later change to
// a masked line still shows, as a masked line removed and another added, while the secret itself
// is in neither the store nor the diff.
import { DIFF_DEFAULTS, decodeText, diffHunks, formatUnified, splitLines, type DiffOptions, type DiffOutcome } from "./diff.js";
import { DEFAULT_SECRET_PATTERNS, MASK, masker, privateKeyLines, type SecretPattern } from "./mask.js";
import { escapeKeepingTabs } from "../text/escape.js";

export interface ApprovedCopy {
  /** the approved content, every line holding a secret masked (`password = ****`) */
  text: string;
  /** line number (from 0) of each masked line → the keyed digest of the line as it was */
  secrets: Record<string, string>;
}

/** The keyed digest a masked line is compared by (an HMAC under the host key: a digest of a short secret could be guessed). */
export type KeyLine = (line: string) => string;

// Never in text that decodes (a NUL byte makes content binary): splits a compared line into
// what is shown and the digest that tells two masked lines apart.
const SEP = "\u0000";

type CopyOptions = Pick<DiffOptions, "maxBytes" | "maxLines" | "maxLineLength" | "secretPatterns">;

/** The masked copy of `content`, or why none is kept (large, long, a very long line, binary, not UTF-8). */
export function approvedCopyOf(content: Uint8Array | string, keyLine: KeyLine, options: CopyOptions = {}): { ok: true; copy: ApprovedCopy } | { ok: false; reason: string } {
  const lines = checkedLines(content, "approved", options);
  if (!Array.isArray(lines)) return { ok: false, reason: lines.reason };
  const masked = maskLines(lines, keyLine, options.secretPatterns ?? DEFAULT_SECRET_PATTERNS);
  const secrets: Record<string, string> = {};
  masked.forEach((m, i) => {
    if (m.digest !== undefined) secrets[String(i)] = m.digest;
  });
  return { ok: true, copy: { text: masked.map((m) => m.text).join(""), secrets } };
}

/**
 * The unified diff from the approved copy to `content`, masked as the copy is: `same` when the
 * two are alike line for line (masked lines by their keyed digests), `none` with the reason when
 * no diff is made of the new content.
 */
export function diffAgainstCopy(copy: ApprovedCopy, content: Uint8Array | string, keyLine: KeyLine, options: DiffOptions = {}): DiffOutcome {
  const opts = { ...DIFF_DEFAULTS, ...options };
  const lines = checkedLines(content, "new", opts);
  if (!Array.isArray(lines)) return lines;
  const patterns = opts.secretPatterns ?? DEFAULT_SECRET_PATTERNS;
  const now = maskLines(lines, keyLine, patterns);
  const before = copyLines(copy, keyLine, patterns, now);
  const after = now.map((m) => comparable(m.text, m.digest));
  const hunks = diffHunks(before, after, opts.context);
  if (hunks.length === 0) return { kind: "same" };
  const body = hunks.flatMap((h) => h.lines);
  const changed = (op: string) => body.filter((l) => l[0] === op).length;
  const maskedLines = body.filter((l) => l.includes(SEP)).length;
  const show = (line: string) => escapeKeepingTabs(line.includes(SEP) ? line.slice(0, line.indexOf(SEP)) : line);
  const text = formatUnified(hunks, opts.oldLabel ?? "approved", opts.newLabel ?? "now", show);
  return { kind: "diff", text, added: changed("+"), removed: changed("-"), maskedLines };
}

/**
 * The copy's lines, comparable with the new content's (`now`, masked): any line kept in clear
 * masked as it would be now. A copy approved before a pattern caught one of its lines (a policy's
 * `mask` added since, or a CRLF line's value, which the built-in patterns missed before) still
 * holds it in clear, and the diff's old side would show it. A line kept masked (with its digest)
 * was masked with the patterns of its day, which may hide less than those in force: the built-in
 * ones alone when the store masked it (store/approved-remask.ts), while a policy's `mask` hides
 * more of the line. A masked line is the line its digest says it was: shown as the new content's
 * line of that digest is masked now (the same line, unchanged, though masked otherwise then, or
 * inside a private key block now), and, if the new content has none, its masked text masked
 * again. Otherwise the same line would be shown changed, its old side showing what `mask` hides.
 */
function copyLines(copy: ApprovedCopy, keyLine: KeyLine, patterns: readonly SecretPattern[], now: readonly { text: string; digest?: string }[]): string[] {
  const shownNow = new Map<unknown, string>();
  for (const m of now) if (m.digest !== undefined) shownNow.set(m.digest, m.text.endsWith("\n") ? m.text.slice(0, -1) : m.text);
  const masking = masker(patterns);
  return linesMaskedNow(copy, keyLine, patterns).map((l) => {
    if (l.digest === undefined) return l.text;
    const nl = l.text.endsWith("\n") ? "\n" : "";
    const body = shownNow.get(l.digest) ?? (l.maskedNow ? l.text.slice(0, l.text.length - nl.length) : masking.line(nl ? l.text.slice(0, -1) : l.text).text);
    return comparable(body + nl, l.digest);
  });
}

/** Each line of the copy: as masked when it was approved (with its digest), else as `patterns` mask it now. */
function linesMaskedNow(copy: ApprovedCopy, keyLine: KeyLine, patterns: readonly SecretPattern[]): { text: string; digest?: string; maskedNow?: true }[] {
  const lines = splitLines(copy.text);
  const now = maskLines(lines, keyLine, patterns);
  return lines.map((text, i) => {
    const digest = copy.secrets[String(i)];
    if (digest !== undefined) return { text, digest };
    const m = now[i]!;
    return m.digest === undefined ? { text } : { text: m.text, digest: m.digest, maskedNow: true };
  });
}

/**
 * The copy with every line it keeps in clear that `patterns` mask now masked as a copy made now
 * masks it (with the keyed digest of what it was), and how many such lines; undefined when it
 * has none. For copies approved before a pattern caught those lines (a CRLF line's value, which
 * the built-in patterns missed before): the store keeps no secret (store/approved-remask.ts). A
 * diff against the result is the diff against the copy as it was, line for line.
 */
export function remaskedCopy(copy: ApprovedCopy, keyLine: KeyLine, patterns: readonly SecretPattern[] = DEFAULT_SECRET_PATTERNS): { copy: ApprovedCopy; lines: number } | undefined {
  const lines = linesMaskedNow(copy, keyLine, patterns);
  const masked = lines.filter((l) => l.maskedNow).length;
  if (masked === 0) return undefined;
  const secrets: Record<string, string> = {};
  lines.forEach((l, i) => {
    if (l.digest !== undefined) secrets[String(i)] = l.digest;
  });
  return { copy: { text: lines.map((l) => l.text).join(""), secrets }, lines: masked };
}

function checkedLines(content: Uint8Array | string, which: string, options: CopyOptions): string[] | { kind: "none"; reason: string } {
  const opts = { ...DIFF_DEFAULTS, ...options };
  const text = decodeText(content, which, opts);
  if (typeof text !== "string") return text.kind === "none" ? text : { kind: "none", reason: `the ${which} content cannot be shown` };
  const lines = splitLines(text);
  if (lines.length > opts.maxLines) return { kind: "none", reason: `the ${which} content has ${lines.length} lines, more than the ${opts.maxLines} a diff is made of` };
  const long = lines.findIndex((l) => l.length > opts.maxLineLength + 1);
  if (long >= 0) return { kind: "none", reason: `line ${long + 1} of the ${which} content is longer than the ${opts.maxLineLength} characters a diff shows` };
  return lines;
}

/** Each line masked where it holds a secret (whole inside a private key block), with the keyed digest of what it was. */
function maskLines(lines: readonly string[], keyLine: KeyLine, patterns: readonly SecretPattern[]): { text: string; digest?: string }[] {
  const m = masker(patterns);
  if (m.passesOver(lines.join(""))) return lines.map((text) => ({ text }));
  const inKey = privateKeyLines(lines);
  return lines.map((line, i) => {
    const nl = line.endsWith("\n") ? "\n" : "";
    const body = nl ? line.slice(0, -1) : line;
    const shown = inKey[i] ? { text: MASK, masked: true } : m.line(body);
    return shown.masked ? { text: shown.text + nl, digest: keyLine(body) } : { text: line };
  });
}

function comparable(line: string, digest: string | undefined): string {
  if (digest === undefined) return line;
  const nl = line.endsWith("\n") ? "\n" : "";
  return `${nl ? line.slice(0, -1) : line}${SEP}${digest}${nl}`;
}
