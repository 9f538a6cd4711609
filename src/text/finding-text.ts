// A file-integrity finding in words, for every place that shows one: the run report, the
// watcher's line, `covenant history` and the messages to stakeholders. What changed (AIDE's
// terms) and the diff are rendered here alone, so that who was at the file and who made the
// change (holders, madeBy) can be joined in one place. Everything is escaped: paths and diff
// lines come from files anyone may name or write.
import { escapeKeepingTabs, escapeText } from "./escape.js";
import { whoLines, whoShort, type WhoView } from "./finding-who-text.js";

/** A finding as shown: the evaluator's FileFinding (viewOfFinding) or the history's RecordedFinding have this shape. */
export interface FindingView extends WhoView {
  path: string;
  /** one sentence per change, in AIDE's terms */
  changes: string[];
  diff?: { text: string; added: number; removed: number; maskedLines: number } | { none: string };
}

/** The shape of the evaluator's FileFinding that matters here (structural: no import upwards). */
interface FileFindingLike extends WhoView {
  path: string;
  changes: { text: string }[];
  diff?: { kind: "diff"; text: string; added: number; removed: number; maskedLines: number } | { kind: "none"; reason: string };
}

export function viewOfFinding(f: FileFindingLike): FindingView {
  const v: FindingView = { path: f.path, changes: f.changes.map((c) => c.text) };
  if (f.diff?.kind === "diff") v.diff = { text: f.diff.text, added: f.diff.added, removed: f.diff.removed, maskedLines: f.diff.maskedLines };
  else if (f.diff) v.diff = { none: f.diff.reason };
  if (f.holders !== undefined) v.holders = f.holders;
  if (f.holdersNote !== undefined) v.holdersNote = f.holdersNote;
  if (f.madeBy !== undefined) v.madeBy = f.madeBy;
  return v;
}

export interface FindingTextOptions {
  /** show the diff itself (not only its counts); default true */
  diff?: boolean;
  /** at most this many lines of the diff, the rest counted; default 40 */
  maxDiffLines?: number;
  /** put before every line */
  indent?: string;
}

/**
 * `/srv/ledger/gl.dat: content sha256 … → …, size …; mode 0640 → 0644`, then the diff's lines
 * (`--- … approved`, `+++ … now`, hunks; secrets already masked), or why there is none.
 */
export function findingLines(f: FindingView, options: FindingTextOptions = {}): string[] {
  const indent = options.indent ?? "";
  // who was at the file and who made the change (the watcher's), before the diff: what a person acts on first
  const lines = [`${indent}${findingSummary(f)}`, ...whoLines(f).map((l) => `${indent}  ${l}`)];
  const d = f.diff;
  if (!d) return lines;
  if ("none" in d) {
    lines.push(`${indent}  no diff: ${escapeText(d.none)}`);
    return lines;
  }
  const masked = d.maskedLines > 0 ? `, ${d.maskedLines} masked` : "";
  lines.push(`${indent}  diff (+${d.added} -${d.removed}${masked}):`);
  if (options.diff === false) return lines;
  const max = options.maxDiffLines ?? 40;
  const body = d.text.split("\n").filter((l, i, all) => l !== "" || i < all.length - 1);
  for (const l of body.slice(0, max)) lines.push(`${indent}    ${escapeKeepingTabs(l)}`);
  if (body.length > max) lines.push(`${indent}    … ${body.length - max} more lines of the diff (covenant history --json keeps it whole)`);
  return lines;
}

/** One line: the path and what changed. */
export function findingSummary(f: FindingView): string {
  return `${escapeText(f.path)}: ${f.changes.length === 0 ? "changed" : f.changes.map(escapeText).join("; ")}`;
}

/** The shortest form (an SMS): the path and the kinds of change, `gl.dat: content, mode`, and who made it when audited (`by uid 0 (/usr/bin/sed)`). */
export function findingShort(f: FindingView & { kinds?: string[] }): string {
  const what = f.kinds && f.kinds.length > 0 ? f.kinds.join(", ") : f.changes.map((c) => c.split(/[ (:]/)[0]).join(", ");
  return `${escapeText(f.path)}: ${escapeText(what)}${whoShort(f)}`;
}
