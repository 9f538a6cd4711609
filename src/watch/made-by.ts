// Who made a change, from the Linux audit subsystem: set up once when the watcher starts (the
// rules it adds, or the rules already there), asked for each batch of changed paths, and taken
// down on exit. See audit-control.ts for the decision and docs/watch-findings.md for the whole.
import { statSync } from "node:fs";
import type { Attribution } from "../evaluator/file-finding.js";
import { isGlob } from "../evaluator/glob-paths.js";
import { auditFacts, AuditRules, covers, decideAudit, execRunner, parseAuditRules, ruleLine, type AuditWatchRule, type Runner } from "./audit-control.js";
import { auditLogPath, AuditLogTail } from "./audit-log.js";
import { changesIn, EventIndex, type AuditTarget } from "./audit-match.js";
import type { WatchTarget } from "./watch-set.js";

/** The path an audit rule watches for a realtime promise: the file or directory, or the literal directory a glob starts from. */
export function auditPaths(targets: readonly WatchTarget[]): string[] {
  const out = new Set<string>();
  for (const t of targets) {
    if (!isGlob(t.pattern)) out.add(t.pattern);
    else {
      const segments = t.pattern.split("/").filter(Boolean);
      const literal: string[] = [];
      for (const s of segments) {
        if (isGlob(s)) break;
        literal.push(s);
      }
      out.add(`/${literal.join("/")}`);
    }
  }
  return [...out];
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A glob whose first component is a wildcard (/ then *, app.conf below) would need a rule on the whole file system, which logs
 * every write on the host: no rule is added for it, and the note says so.
 */
function withoutRoot(paths: readonly string[]): { paths: string[]; notes: string[] } {
  const kept = paths.filter((p) => p !== "/");
  return { paths: kept, notes: kept.length < paths.length ? ["audit: no rule is added for / (a glob starting at the root would log every write on the host): changes there are not attributed"] : [] };
}

export interface AuditOptions {
  run?: Runner;
  /** how long to wait for a change's audit record to reach the log, ms */
  waitMs?: number;
  /** how far before a batch's first event a record still counts, ms (a file opened for writing a little earlier) */
  lookbackMs?: number;
  userName?: (uid: number) => string | undefined;
  /** auditd's configuration (tests: one naming a log of their own) */
  confPath?: string;
  /** where auditctl is (tests, with a runner standing in for it) */
  auditctl?: string;
}

export class AuditWho {
  private reason: string | undefined = "not started";
  private rules: AuditRules | undefined;
  private present: AuditWatchRule[] = [];
  private log: AuditLogTail | undefined;
  private immutable = false;
  private readonly run: Runner;

  constructor(private readonly opts: AuditOptions = {}) {
    this.run = opts.run ?? execRunner;
  }

  /** Decides what audit can do here and adds the rules for `paths` when rules may be changed; notes in words. */
  async start(all: readonly string[]): Promise<string[]> {
    const { paths, notes } = withoutRoot(all);
    return [...notes, ...(await this.begin(paths))];
  }

  private async begin(paths: readonly string[]): Promise<string[]> {
    const facts = await auditFacts(this.run, this.opts.auditctl);
    const mode = decideAudit(facts);
    if (mode.mode === "unavailable") {
      this.reason = mode.reason;
      return [`audit: who made a change cannot be told: ${mode.reason}`];
    }
    const log = auditLogPath(this.opts.confPath);
    if (!log.ok) {
      this.reason = log.reason;
      return [`audit: who made a change cannot be told: ${log.reason}`];
    }
    this.reason = undefined;
    this.log = new AuditLogTail(log.path);
    if (mode.mode === "immutable") {
      this.immutable = true;
      return this.useLoaded(facts.auditctl!, paths);
    }
    this.rules = new AuditRules(facts.auditctl!, this.run);
    return this.rules.sync(paths);
  }

  /** Immutable rules: the ones loaded are used; the paths none covers are said, with the lines that would. */
  private async useLoaded(auditctl: string, paths: readonly string[]): Promise<string[]> {
    const listed = await this.run(auditctl, ["-l"]);
    this.present = listed.code === 0 ? parseAuditRules(listed.stdout) : [];
    const bare = paths.filter((p) => !this.present.some((r) => covers(r, p, isDirectory)));
    const notes = [`audit: rules are immutable (enabled 2): Covenant changes none and uses the ${this.present.length} watch rule${this.present.length === 1 ? "" : "s"} loaded`];
    if (bare.length > 0) notes.push(`audit: no loaded rule watches ${bare.join(", ")}: changes there cannot be attributed; add to /etc/audit/rules.d/covenant.rules and reboot: ${bare.map(ruleLine).join(" | ")}`);
    return notes;
  }

  /** A reloaded policy: rules for paths no longer watched removed, new ones added. */
  async reload(all: readonly string[]): Promise<string[]> {
    const { paths, notes } = withoutRoot(all);
    if (this.rules) return [...notes, ...(await this.rules.sync(paths))];
    if (this.immutable) return this.useLoaded((await auditFacts(this.run, this.opts.auditctl)).auditctl ?? "/usr/sbin/auditctl", paths);
    return [];
  }

  /** Removes the rules this watcher added (and only those). */
  async stop(): Promise<string[]> {
    this.log?.close();
    this.log = undefined;
    const notes = this.rules ? await this.rules.removeAll() : [];
    this.rules = undefined;
    return notes;
  }

  private coverage(path: string): string | undefined {
    if (this.immutable) return this.present.some((r) => covers(r, path, isDirectory)) ? undefined : `audit rules are immutable and none watches ${path} (the line to add to /etc/audit/rules.d/covenant.rules: ${ruleLine(path)})`;
    const added = this.rules?.watchedPaths() ?? [];
    const loaded = this.present;
    const covered = added.some((p) => covers({ path: p, tree: false, perms: "wa" }, path, isDirectory)) || loaded.some((r) => covers(r, path, isDirectory));
    return covered ? undefined : `no audit rule watches ${path} (adding one failed: see the watcher's notes at start)`;
  }

  /**
   * Who changed each target since `sinceMs`: the audit records are awaited up to waitMs (they
   * reach the log some milliseconds after the change is seen), then each target is attributed,
   * found in no record, or unavailable with the reason.
   */
  async attribute(targets: readonly AuditTarget[], sinceMs: number, now: () => number = Date.now): Promise<Map<string, Attribution>> {
    const out = new Map<string, Attribution>();
    if (this.reason !== undefined || !this.log) {
      for (const t of targets) out.set(t.path, { status: "unavailable", reason: this.reason ?? "audit is not set up" });
      return out;
    }
    const from = sinceMs - (this.opts.lookbackMs ?? 2_000);
    const open = targets.filter((t) => {
      const gap = this.coverage(t.path);
      if (gap) out.set(t.path, { status: "unavailable", reason: gap });
      return !gap;
    });
    const deadline = now() + (this.opts.waitMs ?? 250);
    const userName = this.opts.userName ?? (() => undefined);
    for (;;) {
      const events = this.log.poll(now());
      const to = now();
      const pending = open.filter((t) => !out.has(t.path));
      const index = new EventIndex(events, from, to + 1_000);
      for (const t of pending) {
        const changes = changesIn(index, t, userName);
        if (changes.length > 0) out.set(t.path, { status: "attributed", changes });
      }
      if (open.every((t) => out.has(t.path)) || now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const t of open) {
      if (!out.has(t.path)) out.set(t.path, { status: "none-found", reason: `audit watches ${t.path} and logged no change to it from ${new Date(from).toISOString()} to ${new Date(now()).toISOString()} (a change written through a descriptor opened for writing earlier is logged at that open)` });
    }
    return out;
  }
}
