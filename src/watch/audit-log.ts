// Reading auditd's log as it grows. Chosen over `ausearch` (a process per look, and it reads
// every log file from the start each time) and over the kernel's audit netlink socket (only one
// daemon may own it; the read-only multicast group needs a native addon): the watcher keeps the
// log open at its end and reads only what was appended since, a few kilobytes per change.
//
// Rotation (auditd renames audit.log to audit.log.1 and starts a new one): the descriptor still
// reads the old file to its end, then the new file at the path is opened from its start. A log
// truncated in place is read again from its start. After a long quiet spell only the last
// MAX_CATCH_UP bytes are read: events older than a change's window are of no use.
//
// The log and auditd's configuration are trusted only when root owns them and no one else may
// write them: another user who could write the log could write who changed a file.
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync, constants } from "node:fs";
import { addRecord, parseRecord, type AuditEvent } from "./audit-records.js";

export const DEFAULT_LOG = "/var/log/audit/audit.log";
/** At most this much unread log is read at once (the rest, older, is passed over). */
const MAX_CATCH_UP = 16 << 20;
/** Events kept for matching: the newest, at most this many, none older than KEEP_MS. */
const MAX_EVENTS = 20_000;
const KEEP_MS = 10 * 60_000;

/** `log_file` and `write_logs` of auditd.conf. */
export function parseAuditdConf(text: string): { logFile: string; writeLogs: boolean } {
  const value = (key: string) => new RegExp(`^\\s*${key}\\s*=\\s*(\\S+)\\s*$`, "mi").exec(text)?.[1];
  return { logFile: value("log_file") ?? DEFAULT_LOG, writeLogs: (value("write_logs") ?? "yes").toLowerCase() !== "no" };
}

/** Why a file cannot be trusted as audit evidence, or undefined when root owns it and only root may write it. */
export function untrusted(path: string): string | undefined {
  try {
    const st = statSync(path);
    if (st.uid !== 0) return `${path} is not owned by root`;
    if ((st.mode & 0o022) !== 0) return `${path} may be written by users other than root`;
    return undefined;
  } catch (err) {
    return `${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
}

/** Where auditd writes, or why its log cannot be used. */
export function auditLogPath(confPath = "/etc/audit/auditd.conf"): { ok: true; path: string } | { ok: false; reason: string } {
  const bad = untrusted(confPath);
  if (bad) return { ok: false, reason: `auditd's configuration cannot be trusted: ${bad}` };
  const conf = parseAuditdConf(readFileSync(confPath, "utf8"));
  if (!conf.writeLogs) return { ok: false, reason: `auditd writes no log (write_logs = no in ${confPath})` };
  const badLog = untrusted(conf.logFile);
  return badLog ? { ok: false, reason: `the audit log cannot be trusted: ${badLog}` } : { ok: true, path: conf.logFile };
}

export class AuditLogTail {
  private fd: number | undefined;
  /** the log's inode number, in bigint: a number cannot tell apart two above 2^53 */
  private ino: bigint | undefined;
  private offset = 0;
  private partial = "";
  private readonly events = new Map<string, AuditEvent>();

  /** Opens the log at its current end: only what is appended from now on is read. */
  constructor(private readonly path: string) {
    this.open(true);
  }

  private open(atEnd: boolean): void {
    try {
      const fd = openSync(this.path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
      const st = fstatSync(fd, { bigint: true });
      if (!st.isFile()) {
        closeSync(fd);
        return;
      }
      this.fd = fd;
      this.ino = st.ino;
      this.offset = atEnd ? Number(st.size) : 0;
      this.partial = "";
    } catch {
      this.fd = undefined; // not there now (between rotation's rename and the new file): tried again at the next poll
    }
  }

  /** Reads what was appended (following a rotation), and returns the events kept. */
  poll(now = Date.now()): AuditEvent[] {
    if (this.fd === undefined) this.open(false);
    if (this.fd !== undefined) {
      this.readToEnd();
      let current: bigint | undefined;
      try {
        current = statSync(this.path, { bigint: true }).ino;
      } catch {
        current = undefined;
      }
      if (current !== undefined && current !== this.ino) {
        closeSync(this.fd);
        this.open(false);
        this.readToEnd();
      }
    }
    this.prune(now);
    return [...this.events.values()];
  }

  private readToEnd(): void {
    const fd = this.fd!;
    const size = fstatSync(fd).size;
    if (size < this.offset) {
      this.offset = 0; // truncated in place
      this.partial = "";
    }
    if (size - this.offset > MAX_CATCH_UP) {
      this.offset = size - MAX_CATCH_UP;
      this.partial = "\0"; // the first line read is a fragment: dropped below
    }
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, this.offset);
      if (n === 0) break;
      this.offset += n;
      this.take(buf.toString("latin1", 0, n));
    }
  }

  private take(text: string): void {
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop()!;
    if (lines[0]?.startsWith("\0")) lines.shift();
    for (const line of lines) {
      const r = parseRecord(line);
      if (r) addRecord(this.events, r);
    }
  }

  private prune(now: number): void {
    for (const [id, e] of this.events) {
      if (this.events.size <= MAX_EVENTS && e.timeMs >= now - KEEP_MS) break;
      this.events.delete(id);
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
