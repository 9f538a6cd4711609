// What a file-integrity finding says beyond its differences (issue 15): for each path that
// changed, the change in AIDE's terms and, for a small text file, its diff (filled by the
// evaluator, which compares the path with its approved integrity state), and who was at the file
// when the change was seen and who made it (filled by the watcher, which alone sees the change
// as it happens). The types live here, at the bottom, so that the evaluator, the watcher, the
// store and the renderers agree on one shape; nothing here reads anything.
import type { Difference as ChangeDifference } from "../integrity/file-change.js";

/** A process at a file: holding a lock on it (/proc/locks) or having it open (/proc/PID/fd). */
export interface FileHolder {
  pid: number;
  via: "lock" | "open";
  /** it holds a file deleted or replaced since it opened it, matched by the former name the kernel keeps (src/probes/file-holders.ts) */
  deleted?: boolean;
  /** effective uid and its name, from /proc/PID/status (kernel-set, unlike comm) */
  uid?: number;
  user?: string;
  /** /proc/PID/exe, never followed further */
  exe?: string;
  /** argv joined for people, secrets masked (src/integrity/mask.ts maskedCommandLine), escaped when shown */
  commandLine?: string;
}

/** One audit event that changed the path, from the Linux audit subsystem. */
export interface AuditedChange {
  /** the audit record's own time, ISO 8601 */
  at: string;
  /** the audit event serial, to find it with `ausearch -a` */
  serial: number;
  syscall: string;
  pid: number;
  ppid?: number;
  uid: number;
  /** the login uid: the person behind sudo; absent when unset (4294967295) */
  auid?: number;
  user?: string;
  loginUser?: string;
  exe?: string;
  /** the process's command (comm; spoofable, shown as such) */
  comm?: string;
}

export type Attribution =
  | { status: "attributed"; changes: AuditedChange[] }
  /** audit is running and watching the path, and no record matched the change (yet) */
  | { status: "none-found"; reason: string }
  /** no attribution possible: the reason in words (no auditd, audit disabled by the kernel, rules immutable without a rule for this path...) */
  | { status: "unavailable"; reason: string };

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
