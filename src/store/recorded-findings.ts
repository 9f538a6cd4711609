// File-integrity findings as the history keeps them (ChangeBody.findings): the changes in words
// and the diff as shown. Nothing here can hold a secret: a `nodiff` file's change says its
// digests are withheld (file-change.ts) and has no diff, and a diff's secret lines are masked.
import type { FileFinding } from "../evaluator/file-finding.js";
import type { RecordedFinding } from "./records.js";

/** Each finding as recorded, at most `max` of them (the rest counted in a last one). */
export function recordedFindings(findings: readonly FileFinding[], max: number): RecordedFinding[] {
  const out = findings.slice(0, max).map((f) => {
    const r: RecordedFinding = { path: f.path, kinds: f.changes.map((c) => c.kind), changes: f.changes.map((c) => c.text) };
    if (f.diff?.kind === "diff") r.diff = { text: f.diff.text, added: f.diff.added, removed: f.diff.removed, maskedLines: f.diff.maskedLines };
    else if (f.diff) r.diff = { none: f.diff.reason };
    return r;
  });
  if (findings.length > max) out.push({ path: `(and ${findings.length - max} more paths)`, kinds: [], changes: [] });
  return out;
}
