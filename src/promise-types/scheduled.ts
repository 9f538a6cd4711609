// The schema of `scheduled`: what a `scheduled` promise may say. Its behaviour is src/evaluator/promise-types/scheduled.ts.
import type { PromiseTypeSpec } from "./schema.js";

export const scheduled: PromiseTypeSpec = {
  name: "scheduled",
  summary: "Scheduled jobs (cron and systemd timers): present or absent, whose, and when.",
  description:
    "Promises that a job is scheduled, or is not, and as which user and on which schedule, as cron and systemd would run it: lines of /etc/crontab and /etc/cron.d/* (crontab(5) with a user field; in /etc/cron.d only names of letters, digits, `_` and `-`, as Debian's cron reads), users' crontabs in /var/spool/cron/crontabs (Debian) or /var/spool/cron (the RHEL family), whose user is the one the file is named after and which cron runs only when that user owns it, the executable files of /etc/cron.hourly, daily, weekly and monthly that run-parts runs (names of letters, digits, `_` and `-`; a job of root's on `@hourly`, `@daily`, `@weekly`, `@monthly`), and systemd timers enabled by a `.wants` link (units from /etc, /run, /usr/local/lib, /usr/lib and /lib `systemd/system` in that precedence, with drop-ins; a masked timer is no job). Timers are read from their unit files, so systemd need not run; on the machines this was built on systemd is not PID 1, and timers are tested on fixtures only. Commands in findings are quoted with secrets masked (the built-in patterns of docs/watch-findings.md: `--password=...` shows as `--password=****`), escaped and cut to 200 characters.",
  promiser: {
    type: { kind: "regex", linear: true },
    description:
      "The job. By default an anchored pattern (RE2) that a job's command must match whole: `\".*/usr/sbin/logrotate.*\"`; a run-parts job's command is its path, a timer's the first `ExecStart=` of the service it starts. With `by = timer`, a timer's unit name, exactly (`logrotate.timer`).",
  },
  attributes: [
    { name: "by", type: { kind: "enum", values: ["command", "timer"] }, description: "What the promiser names: a pattern of the command (`command`), or a systemd timer's unit name (`timer`).", default: "command" },
    { name: "present", type: { kind: "boolean" }, description: "Whether a job matching the promiser must be scheduled (`false`: no job may match).", default: "true" },
    { name: "user", type: { kind: "string", nonEmpty: true }, description: "The user the job runs as: a system crontab's user field, a user crontab's owner, root for run-parts, a timer's service `User=` (else root)." },
    {
      name: "schedule",
      type: { kind: "string", nonEmpty: true },
      description:
        "When the job runs. For cron, five fields or a keyword, compared in a normal form: `00 02 * * *` is `0 2 * * *`, names and numbers are one (`mon-fri` is `1-5`, Sunday `7` is `0`), a list's order does not matter, and a keyword is the fields cron runs it as (`@daily` is `0 0 * * *`, and is not `0 2 * * *`); `@reboot` is only itself. For a timer, its triggers as `Key=value` joined by `;` (`\"OnCalendar=daily; OnBootSec=5min\"`), compared with spaces collapsed and in any order, but not as calendar times (`daily` is not `*-*-* 00:00:00`).",
    },
    {
      name: "quantifier",
      type: { kind: "enum", values: ["every", "at_least_one", "none"] },
      description: "Of the jobs the promiser matches, which must have the promised `user` and `schedule`: `every` one, `at_least_one`, or `none` (no matching job may run as that user on that schedule).",
      default: "every",
    },
    {
      name: "sources",
      type: { kind: "list", of: { kind: "enum", values: ["crontab", "cron_d", "user", "run_parts", "timer"] }, nonEmpty: true },
      description: "Where jobs are looked for: `crontab` /etc/crontab, `cron_d` /etc/cron.d, `user` users' crontabs, `run_parts` the run-parts directories, `timer` systemd timers. All of them by default.",
    },
  ],
  constraints: [],
  repairs: "None: scheduled jobs are reported, never changed (an edit of a crontab is an edit of what a person scheduled, and cron reloads it by itself). Write a job's file with `lines` or `file` where it must be repaired.",
  example: `scheduled "/etc/cron.daily/logrotate" {
  user     = "root"
  schedule = "@daily"
}

scheduled ".*curl.*[|] *(ba)?sh.*" {
  present = false
}`,
};
