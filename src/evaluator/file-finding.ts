// What a file-integrity finding says beyond its differences (issue 15): for each path that
// changed, the change in AIDE's terms and, for a small text file, its diff (filled by the
// evaluator, which compares the path with its approved integrity state), and who was at the file
// when the change was seen and who made it (filled by the watcher, which alone sees the change
// as it happens). The types live here, at the bottom, so that the evaluator, the watcher, the
// store and the renderers agree on one shape; nothing here reads anything.
import type { Difference as ChangeDifference } from "../integrity/file-change.js";

// the holders and the audit's attribution are text's shapes (src/text/finding-who-text.ts sits
// below the evaluator, and renders them for the store's readers, the notifiers and the CLI)
export type { Attribution, AuditedChange, FileHolder } from "../text/finding-who-text.js";
import type { Attribution, FileHolder } from "../text/finding-who-text.js";

export type DiffEvidence =
  | { kind: "diff"; text: string; added: number; removed: number; maskedLines: number }
  /** why no diff is shown: nodiff, binary, too large, no earlier copy kept... */
  | { kind: "none"; reason: string };

export interface FileFinding {
  /** the path as the policy names it (not the host path under a sandbox root) */
  path: string;
  /** the changes against the approved integrity state, in AIDE's terms (src/integrity/file-change.ts) */
  changes: ChangeDifference[];
  diff?: DiffEvidence;
  /** at detection (the watcher only) */
  holders?: FileHolder[];
  /** why the holders may be incomplete (processes not readable, the scan's time budget) */
  holdersNote?: string;
  /** who made the change (the watcher only) */
  madeBy?: Attribution;
}
