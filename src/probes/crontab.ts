// Cron's jobs as cron reads them (crontab(5), Debian's cron and cronie): the system crontab
// /etc/crontab and /etc/cron.d/* (with a user field), users' crontabs under
// /var/spool/cron/crontabs (Debian) or /var/spool/cron (the RHEL family), whose user is the one
// the file is named after and owned by, and the run-parts directories /etc/cron.hourly, daily,
// weekly and monthly, where each executable file run-parts would run is a job of root's.
import { lstatSync, readdirSync, statSync } from "node:fs";
import { normaliseSchedule } from "./cron-schedule.js";
import { readText, type Skip } from "./result.js";

export type JobSource = "crontab" | "cron_d" | "user" | "run_parts" | "timer";

export interface Job {
  source: JobSource;
  /** the file that defines it, as on the host */
  path: string;
  line?: number;
  /** a timer's unit name, a run-parts file's name */
  name?: string;
  /** the command as cron gives it to the shell (up to the first unescaped `%`), or the program a timer starts */
  command: string;
  user: string;
  /** normal form (cron-schedule.ts), or a timer's triggers (`OnCalendar=daily; OnBootSec=5min`) */
  schedule: string;
  /** as written */
  written: string;
  /** a timer: whether a `.wants` link starts it (a timer defined and not enabled never runs) */
  enabled?: boolean;
}

export interface CronEntry {
  line: number;
  written: string;
  schedule: string;
  user?: string;
  command: string;
}

export interface ParsedCrontab {
  entries: CronEntry[];
  env: { line: number; name: string; value: string }[];
  skipped: Skip[];
}

/** `NAME = value`, the name bare or quoted (crontab(5)); tried before a job, as cron does. */
const ENV = /^\s*("[^"]*"|'[^']*'|[^\s="']+)\s*=\s*(.*)$/;

/** The command up to the first `%` not escaped with a backslash: cron feeds the rest to its stdin. */
function commandPart(text: string): string {
  const m = /^((?:[^%\\]|\\.)*?)(?:%|$)/s.exec(text);
  return (m?.[1] ?? text).trim();
}

/** One crontab's text; `system`: the /etc/crontab format, with a user before the command. Never throws. */
export function parse(text: string, path: string, system: boolean): ParsedCrontab {
  const out: ParsedCrontab = { entries: [], env: [], skipped: [] };
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    const t = raw.replace(/\r$/, "").trim();
    if (t === "" || t.startsWith("#")) return;
    const env = ENV.exec(t);
    if (env && !/^[\d*@]/.test(env[1]!)) {
      out.env.push({ line, name: env[1]!.replace(/^["']|["']$/g, ""), value: env[2]!.trim().replace(/^(["'])(.*)\1$/, "$2") });
      return;
    }
    const words = t.split(/\s+/);
    const nSchedule = t.startsWith("@") ? 1 : 5;
    const written = words.slice(0, nSchedule).join(" ");
    const schedule = normaliseSchedule(written);
    const user = system ? words[nSchedule] : undefined;
    const rest = t.split(/\s+/, nSchedule + (system ? 1 : 0));
    const offset = rest.reduce((at, w) => t.indexOf(w, at) + w.length, 0);
    const command = commandPart(t.slice(offset));
    if (schedule === undefined) out.skipped.push({ path, line, reason: `not a schedule cron runs: ${JSON.stringify(written.slice(0, 80))}` });
    else if (system && (user === undefined || command === "")) out.skipped.push({ path, line, reason: "no user and command after the schedule" });
    else if (command === "") out.skipped.push({ path, line, reason: "no command after the schedule" });
    else out.entries.push({ line, written, schedule, command, ...(user !== undefined ? { user } : {}) });
  });
  return out;
}

/** run-parts(8)'s default rule for the names it runs (and Debian's cron for /etc/cron.d). */
export function runPartsName(name: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(name);
}

export const runPartsDirs = { "/etc/cron.hourly": "@hourly", "/etc/cron.daily": "@daily", "/etc/cron.weekly": "@weekly", "/etc/cron.monthly": "@monthly" } as const;

/** Users' crontab directories: Debian's, then the RHEL family's (files directly in it). */
export const spoolDirs = ["/var/spool/cron/crontabs", "/var/spool/cron"] as const;

export interface CronJobs {
  jobs: Job[];
  skipped: Skip[];
  /** sources that exist and could not be read: what they hold is unknown */
  unreadable: string[];
}

function names(dir: string, hostPath: (p: string) => string, unreadable: string[]): string[] {
  try {
    // a dot file (Debian's `.placeholder`) is passed over by cron and run-parts alike, and is no one's job
    return readdirSync(hostPath(dir))
      .filter((n) => !n.startsWith("."))
      .sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") unreadable.push(`${dir} (${code})`);
    return [];
  }
}

function addFile(path: string, source: JobSource, system: boolean, hostPath: (p: string) => string, out: CronJobs, userOf?: string): void {
  const r = readText(hostPath(path), "utf8");
  if (!r.ok) {
    if (r.result.ok === false && r.result.error.code !== "not-found") out.unreadable.push(`${path} (${r.result.error.message.replace(hostPath(path), path)})`);
    return;
  }
  const parsed = parse(r.text, path, system);
  out.skipped.push(...parsed.skipped);
  for (const e of parsed.entries) out.jobs.push({ source, path, line: e.line, command: e.command, user: e.user ?? userOf ?? "root", schedule: e.schedule, written: e.written });
}

/**
 * Every cron job of the host (or of the tree `hostPath` maps it to). `uidOf` gives a user's uid
 * (from /etc/passwd): a user's crontab owned by anyone else is not run by cron, and is skipped.
 */
export function read(hostPath: (p: string) => string, uidOf: (user: string) => number | undefined): CronJobs {
  const out: CronJobs = { jobs: [], skipped: [], unreadable: [] };
  addFile("/etc/crontab", "crontab", true, hostPath, out);
  for (const name of names("/etc/cron.d", hostPath, out.unreadable)) {
    const path = `/etc/cron.d/${name}`;
    if (!runPartsName(name)) out.skipped.push({ path, reason: "not read: Debian's cron reads only names of letters, digits, `_` and `-` here (cronie reads it)" });
    else addFile(path, "cron_d", true, hostPath, out);
  }
  for (const dir of spoolDirs) {
    for (const user of names(dir, hostPath, out.unreadable)) {
      const path = `${dir}/${user}`;
      let st;
      try {
        st = lstatSync(hostPath(path));
      } catch {
        continue;
      }
      if (!st.isFile()) continue; // /var/spool/cron/crontabs itself, under /var/spool/cron
      const uid = uidOf(user);
      if (uid === undefined) out.skipped.push({ path, reason: `not run: no user ${JSON.stringify(user)} in /etc/passwd` });
      else if (st.uid !== uid) out.skipped.push({ path, reason: `not run: owned by uid ${st.uid}, not by ${user} (cron refuses a crontab another user owns)` });
      else addFile(path, "user", false, hostPath, out, user);
    }
  }
  for (const [dir, schedule] of Object.entries(runPartsDirs)) {
    for (const name of names(dir, hostPath, out.unreadable)) {
      const path = `${dir}/${name}`;
      if (!runPartsName(name)) {
        out.skipped.push({ path, reason: "not run: run-parts runs only names of letters, digits, `_` and `-` (a name with a dot, such as `x.sh` or `x.dpkg-old`, is passed over)" });
        continue;
      }
      let st;
      try {
        st = statSync(hostPath(path));
      } catch {
        continue;
      }
      if (!st.isFile() || (st.mode & 0o111) === 0) out.skipped.push({ path, reason: "not run: run-parts runs only executable files" });
      else out.jobs.push({ source: "run_parts", path, name, command: path, user: "root", schedule: normaliseSchedule(schedule)!, written: schedule });
    }
  }
  return out;
}
