// File-integrity findings as the history keeps them (ChangeBody.findings): the changes in words
// and the diff as shown. Nothing here can hold a secret: a `nodiff` file's change says its
// digests are withheld (file-change.ts) and has no diff, and a diff's secret lines are masked.
// Who was at the file and who made the change (the watcher's) are kept with them, bounded: the
// holders' command lines were masked when read (src/watch/who.ts, maskedCommandLine).
import type { FileFinding } from "../evaluator/file-finding.js";
import type { RecordedFinding } from "./records.js";

/** The most processes at a file, and audited changes of it, one recorded finding keeps. */
export const RECORDED_HOLDERS = 20;
export const RECORDED_MADE_BY = 10;

/** Each finding as recorded, at most `max` of them (the rest counted in a last one). */
export function recordedFindings(findings: readonly FileFinding[], max: number): RecordedFinding[] {
  const out = findings.slice(0, max).map((f) => {
    const r: RecordedFinding = { path: f.path, kinds: f.changes.map((c) => c.kind), changes: f.changes.map((c) => c.text) };
    if (f.diff?.kind === "diff") r.diff = { text: f.diff.text, added: f.diff.added, removed: f.diff.removed, maskedLines: f.diff.maskedLines };
    else if (f.diff) r.diff = { none: f.diff.reason };
    if (f.holders !== undefined) r.holders = f.holders.slice(0, RECORDED_HOLDERS);
    const dropped = (f.holders?.length ?? 0) - RECORDED_HOLDERS;
    const note = [f.holdersNote, dropped > 0 ? `${dropped} more processes not recorded` : undefined].filter((x) => x !== undefined).join("; ");
    if (note !== "") r.holdersNote = note;
    if (f.madeBy !== undefined) r.madeBy = f.madeBy.status === "attributed" ? { status: "attributed", changes: f.madeBy.changes.slice(0, RECORDED_MADE_BY) } : f.madeBy;
    return r;
  });
  if (findings.length > max) out.push({ path: `(and ${findings.length - max} more paths)`, kinds: [], changes: [] });
  return out;
}
