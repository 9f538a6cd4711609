// Whether the Linux audit subsystem can say who changed a watched path, and the watch rules
// Covenant adds for that. Decided from `auditctl -s` (pure: decideAudit, fed its text):
//
// - enabled 1 (rules mutable) with auditd running: Covenant adds `-w PATH -p wa -k covenant-watch`
//   for each realtime path, and removes exactly the rules it added on exit and on reload;
// - enabled 2 (immutable until reboot, as hardened hosts set): nothing is changed; the rules
//   already loaded (`auditctl -l`) are used, and the paths none covers are said;
// - no auditctl, not root, audit disabled (enabled 0), the kernel refusing, or no auditd to write
//   the log: attribution is unavailable, with the reason in words.
//
// auditctl runs through execFile with an argument vector, never a shell, from the root-owned
// sbin directories only (never a PATH lookup).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { posix } from "node:path";

export const AUDIT_KEY = "covenant-watch";
const AUDITCTL_PATHS = ["/usr/sbin/auditctl", "/sbin/auditctl"];

export interface AuditStatus {
  enabled?: number;
  pid?: number;
}

/** `auditctl -s`: `enabled 1`, `pid 1234`, ... one a line. */
export function parseAuditStatus(text: string): AuditStatus {
  const out: AuditStatus = {};
  const enabled = /^enabled (\d+)/m.exec(text);
  const pid = /^pid (\d+)/m.exec(text);
  if (enabled) out.enabled = Number(enabled[1]);
  if (pid) out.pid = Number(pid[1]);
  return out;
}

export type AuditMode = { mode: "mutable" } | { mode: "immutable" } | { mode: "unavailable"; reason: string };

export interface AuditFacts {
  root: boolean;
  /** where auditctl is, when installed */
  auditctl?: string;
  /** `auditctl -s`'s output, or why it failed */
  status: { ok: true; text: string } | { ok: false; error: string };
}

/** What Covenant can do with audit on this host (pure). */
export function decideAudit(f: AuditFacts): AuditMode {
  if (!f.root) return { mode: "unavailable", reason: "attribution needs root (audit rules and the audit log are root's); the watcher does not run as root" };
  if (!f.auditctl) return { mode: "unavailable", reason: "the Linux audit tools are not installed (Debian: apt-get install auditd)" };
  if (!f.status.ok) return { mode: "unavailable", reason: `the kernel's audit status cannot be read (auditctl -s: ${f.status.error}); the kernel may not allow audit here (a container without CAP_AUDIT_CONTROL, or audit=0 at boot)` };
  const s = parseAuditStatus(f.status.text);
  if (s.enabled === undefined) return { mode: "unavailable", reason: "auditctl -s did not say whether audit is enabled" };
  if (s.enabled === 0) return { mode: "unavailable", reason: "audit is disabled in the kernel (auditctl -s: enabled 0); starting auditd enables it" };
  if (!s.pid) return { mode: "unavailable", reason: "auditd is not running (auditctl -s: pid 0): no audit log is written" };
  return s.enabled === 2 ? { mode: "immutable" } : { mode: "mutable" };
}

/** A rule of `auditctl -l` that watches a path for writes or attribute changes. */
export interface AuditWatchRule {
  path: string;
  /** a directory rule (`-F dir=`, or `-w` of a directory): it covers the tree below */
  tree: boolean;
  perms: string;
  key?: string;
}

/** The watch rules in `auditctl -l`'s output that see writes or attribute changes (`w` or `a`). */
export function parseAuditRules(text: string): AuditWatchRule[] {
  const out: AuditWatchRule[] = [];
  for (const line of text.split("\n")) {
    const watch = /^-w (\S+) -p ([rwxa]+)(?: -k (\S+))?/.exec(line.trim());
    const syscall = /^-a (?:always,exit|exit,always) .*-F (path|dir)=(\S+).*-F perm=([rwxa]+)/.exec(line.trim());
    const key = /-F key=(\S+)/.exec(line)?.[1] ?? watch?.[3];
    const rule = watch ? { path: watch[1]!, perms: watch[2]!, tree: watch[1]!.endsWith("/") } : syscall ? { path: syscall[2]!, perms: syscall[3]!, tree: syscall[1] === "dir" } : undefined;
    if (!rule || !/[wa]/.test(rule.perms)) continue;
    out.push(key === undefined ? rule : { ...rule, key });
  }
  return out;
}

/** Whether a rule covers `path`: the path itself, or inside a directory rule's tree (a `-w` may name a directory without its slash: `isDir` says). */
export function covers(rule: AuditWatchRule, path: string, isDir: (p: string) => boolean = () => false): boolean {
  const base = posix.normalize(rule.path).replace(/\/+$/, "") || "/";
  if (base === path) return true;
  const tree = rule.tree || isDir(base);
  return tree && (base === "/" ? path.startsWith("/") : path.startsWith(`${base}/`));
}

/** The line for /etc/audit/rules.d/covenant.rules that lets Covenant attribute changes to `path`. */
export function ruleLine(path: string): string {
  return `-w ${path} -p wa -k ${AUDIT_KEY}`;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
export type Runner = (file: string, args: string[]) => Promise<Run>;

/** execFile, no shell, bounded in time and output. */
export const execRunner: Runner = (file, args) =>
  new Promise((resolve) => {
    execFile(file, args, { timeout: 10_000, maxBuffer: 4 << 20, encoding: "utf8" }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 127) : 0;
      resolve({ code, stdout: String(stdout ?? ""), stderr: String(stderr ?? (err ? err.message : "")) || (err ? err.message : "") });
    });
  });

export function findAuditctl(): string | undefined {
  return AUDITCTL_PATHS.find((p) => existsSync(p));
}

/** The facts decideAudit needs, read now. */
export async function auditFacts(run: Runner = execRunner, auditctlPath?: string): Promise<AuditFacts> {
  const auditctl = auditctlPath ?? findAuditctl();
  const root = process.getuid?.() === 0;
  if (!auditctl || !root) return { root, ...(auditctl ? { auditctl } : {}), status: { ok: false, error: "not asked" } };
  const r = await run(auditctl, ["-s"]);
  return { root, auditctl, status: r.code === 0 ? { ok: true, text: r.stdout } : { ok: false, error: (r.stderr || r.stdout).trim() || `exit ${r.code}` } };
}

/**
 * The rules Covenant added, kept so that exactly those are removed. A rule already present with
 * the same path, permissions and key (left by a watcher that was killed) is used but not
 * counted as added, so it is not removed either: the notes say so.
 */
export class AuditRules {
  private readonly added = new Set<string>();
  /** paths whose rule was already loaded (left by a killed watcher): they are watched, though not removed on exit */
  private readonly found = new Set<string>();
  constructor(
    private readonly auditctl: string,
    private readonly run: Runner = execRunner,
  ) {}

  addedPaths(): string[] {
    return [...this.added];
  }

  /** The paths a rule watches: those added, and those whose rule was already loaded. */
  watchedPaths(): string[] {
    return [...this.added, ...this.found];
  }

  /** Adds rules for the paths not yet watched and removes those added for paths no longer wanted; notes in words. */
  async sync(paths: readonly string[]): Promise<string[]> {
    const notes: string[] = [];
    const wanted = new Set(paths);
    for (const p of this.found) if (!wanted.has(p)) this.found.delete(p);
    const removed = await this.remove([...this.added].filter((p) => !wanted.has(p)));
    if (removed.length > 0) notes.push(...removed);
    const added: string[] = [];
    for (const path of wanted) {
      if (this.added.has(path)) continue;
      const r = await this.run(this.auditctl, ["-w", path, "-p", "wa", "-k", AUDIT_KEY]);
      const said = `${r.stderr}${r.stdout}`.trim();
      if (r.code === 0) {
        this.added.add(path);
        added.push(path);
      } else if (/Rule exists/i.test(said)) {
        // the rule watches the path all the same: changes there are attributed (a watcher
        // restarted after the OOM killer killed it would otherwise attribute nothing)
        this.found.add(path);
        notes.push(`audit: the rule for ${path} was already loaded (left by an earlier watcher?): used, and left in place on exit`);
      } else notes.push(`audit: cannot add a watch rule for ${path}: ${said || `auditctl exit ${r.code}`}`);
    }
    if (added.length > 0) notes.push(`audit: added watch rule${added.length === 1 ? "" : "s"} (key ${AUDIT_KEY}) for ${added.join(", ")}`);
    return notes;
  }

  /** Removes every rule this watcher added; notes for the ones that could not be. */
  async removeAll(): Promise<string[]> {
    return this.remove([...this.added]);
  }

  private async remove(paths: string[]): Promise<string[]> {
    const notes: string[] = [];
    const done: string[] = [];
    for (const path of paths) {
      const r = await this.run(this.auditctl, ["-W", path, "-p", "wa", "-k", AUDIT_KEY]);
      this.added.delete(path);
      if (r.code === 0 || /No such file or directory/.test(r.stderr)) done.push(path);
      else notes.push(`audit: cannot remove the watch rule for ${path}: ${(r.stderr || r.stdout).trim()} (remove it with auditctl -W ${path} -p wa -k ${AUDIT_KEY})`);
    }
    if (done.length > 0) notes.push(`audit: removed watch rule${done.length === 1 ? "" : "s"} for ${done.join(", ")}`);
    return notes;
  }
}
