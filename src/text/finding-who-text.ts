// Who, as lines for people: the processes at a changed file when the change was seen, and who
// made the change from the audit records. Every text a process or a file name controls is
// escaped; the command name (comm) is marked as what the process calls itself. The shapes are
// defined here, at the bottom, and used by the evaluator's FileFinding (src/evaluator/file-finding.ts),
// the holders probe, the store's readers, the notifiers and the CLI alike.
import { escapeText } from "./escape.js";

/** A process at a file: holding a lock on it (/proc/locks) or having it open (/proc/PID/fd). */
export interface FileHolder {
  pid: number;
  via: "lock" | "open";
  /** the file it holds was deleted or replaced since: matched by its former name */
  deleted?: boolean;
  /** effective uid and its name, from /proc/PID/status (kernel-set, unlike comm) */
  uid?: number;
  user?: string;
  /** /proc/PID/exe, never followed further */
  exe?: string;
  /** argv joined for people, secrets masked (src/integrity/mask.ts maskedCommandLine), escaped when shown */
  commandLine?: string;
}

export interface AuditedChange {
  at: string;
  serial: number;
  syscall: string;
  pid: number;
  ppid?: number;
  uid: number;
  auid?: number;
  user?: string;
  loginUser?: string;
  exe?: string;
  comm?: string;
}

export type Attribution = { status: "attributed"; changes: AuditedChange[] } | { status: "none-found"; reason: string } | { status: "unavailable"; reason: string };

/** What a finding says of who: filled by the watcher, kept by the history. */
export interface WhoView {
  holders?: FileHolder[];
  holdersNote?: string;
  madeBy?: Attribution;
}

function userText(uid: number | undefined, user: string | undefined): string {
  if (uid === undefined) return "user unknown";
  return user === undefined ? `uid ${uid}` : `${escapeText(user)} (uid ${uid})`;
}

export function holderLine(h: FileHolder): string {
  if (h.pid <= 0) return "a lock whose holder the kernel does not give";
  const how = h.via === "lock" ? "holds a lock on it" : h.deleted ? "has open the file deleted or replaced at this path (matched by its former name)" : "has it open";
  const parts = [`pid ${h.pid} ${how}`, userText(h.uid, h.user), h.exe === undefined ? "executable unknown" : escapeText(h.exe)];
  return `${parts.join(", ")}${h.commandLine === undefined ? "" : `: ${escapeText(h.commandLine)}`}`;
}

export function changeLine(c: AuditedChange): string {
  const login = c.auid === undefined ? "login uid unset" : `login ${userText(c.auid, c.loginUser)}`;
  const parts = [`pid ${c.pid}${c.ppid === undefined ? "" : ` (parent ${c.ppid})`}`, userText(c.uid, c.user), login, c.exe === undefined ? "executable unknown" : escapeText(c.exe)];
  if (c.comm !== undefined) parts.push(`calling itself ${escapeText(c.comm)} (comm, set by the process)`);
  return `${parts.join(", ")}: ${escapeText(c.syscall)} at ${c.at} (audit event ${c.serial})`;
}

export function madeByLines(a: Attribution): string[] {
  if (a.status === "attributed") return a.changes.map((c) => `made by ${changeLine(c)}`);
  if (a.status === "none-found") return [`made by: no audit record found: ${escapeText(a.reason)}`];
  return [`made by: not available: ${escapeText(a.reason)}`];
}

/** The who of a finding, one line each: holders, then who made the change. Empty when the watcher added none. */
export function whoLines(f: WhoView): string[] {
  const out: string[] = [];
  if (f.holders !== undefined) {
    if (f.holders.length === 0) out.push("at the file when seen: no process had it open or locked");
    else out.push(...f.holders.map((h) => `at the file when seen: ${holderLine(h)}`));
    if (f.holdersNote) out.push(`  (${escapeText(f.holdersNote)})`);
  }
  if (f.madeBy) out.push(...madeByLines(f.madeBy));
  return out;
}

/** The shortest who (an SMS): `by uid 1000 (/usr/bin/vim)` for the first audited change, or nothing. */
export function whoShort(f: WhoView): string {
  const c = f.madeBy?.status === "attributed" ? f.madeBy.changes[0] : undefined;
  if (!c) return "";
  const more = f.madeBy!.status === "attributed" && f.madeBy!.changes.length > 1 ? ` +${f.madeBy!.changes.length - 1}` : "";
  return ` by ${c.user === undefined ? `uid ${c.uid}` : escapeText(c.user)}${c.exe === undefined ? "" : ` (${escapeText(c.exe)})`}${more}`;
}
