// `covenant observe jobs`: what scheduled promises are judged on — every cron job (crontab,
// cron.d, users' crontabs, run-parts) and systemd timer, whose it is, when it runs, and what cron
// or systemd would pass over and why.
import * as accounts from "../../probes/accounts.js";
import { below } from "../../probes/conf-dirs.js";
import * as crontab from "../../probes/crontab.js";
import * as timers from "../../probes/systemd-timers.js";
import { masker } from "../../integrity/mask.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { renderTable } from "../table.js";
import type { ObserveOptions } from "./observe-report.js";

export { UsageError } from "./observe-report.js";

export interface JobsFlags {
  /** where /etc, /var/spool/cron and the systemd unit directories are read; `/` by default */
  configRoot?: string;
}

export function observeJobs(flags: JobsFlags, opts: ObserveOptions, io: Io): number {
  const root = flags.configRoot === undefined || flags.configRoot === "/" ? undefined : flags.configRoot;
  const hostPath = below(root);
  const users = accounts.read({ etc: root === undefined ? opts.etcRoot : hostPath("/etc") });
  const byName = new Map(users.ok ? users.value.users.map((u) => [u.name, u.uid]) : []);
  const cron = crontab.read(hostPath, (u) => byName.get(u));
  const t = timers.read(hostPath);
  // a command line may hold a password: masked as findings mask it
  const mask = masker();
  const jobs = [...cron.jobs, ...t.jobs].map((j) => ({ ...j, command: mask.line(j.command).text }));
  const skipped = [...cron.skipped, ...t.skipped];
  if (opts.json) io.out(JSON.stringify({ data: jobs, skipped, unreadable: cron.unreadable, usersError: users.ok ? null : users.error }, null, 2));
  else {
    const where = (j: crontab.Job) => (j.line !== undefined ? `${j.path}:${j.line}` : j.path);
    const when = (j: crontab.Job) => (j.enabled === false ? `${j.written} (not enabled)` : j.written);
    io.out(renderTable(["SOURCE", "USER", "SCHEDULE", "COMMAND", "AT"], jobs.map((j) => [j.source, escapeText(j.user), escapeText(when(j)), escapeText(j.command.slice(0, 120)), escapeText(where(j))])));
    for (const s of skipped) io.err(`covenant: skipped ${escapeText(s.line !== undefined ? `${s.path}:${s.line}` : s.path)}: ${escapeText(s.reason)}`);
    if (!users.ok) io.err(`covenant: users' crontabs cannot be judged: ${escapeText(users.error.message)}`);
  }
  if (cron.unreadable.length > 0) {
    io.err(`covenant: cannot read ${escapeText(cron.unreadable.join(", "))}: the jobs there are unknown`);
    return EXIT.policyError;
  }
  return EXIT.ok;
}
