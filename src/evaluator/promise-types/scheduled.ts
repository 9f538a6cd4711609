import { RE2JS } from "re2js";
import * as accounts from "../../probes/accounts.js";
import { normaliseSchedule } from "../../probes/cron-schedule.js";
import * as crontab from "../../probes/crontab.js";
import type { Job, JobSource } from "../../probes/crontab.js";
import * as timers from "../../probes/systemd-timers.js";
import type { CheckedPromise } from "../../checker/policy.js";
import { attr, type Difference, type Observation, type PromiseBehaviour } from "../contract.js";
import { skipNotes } from "../observation-notes.js";
import { quoteMasked } from "../quoted-text.js";
import { quoteOutput } from "./command.js";

type Quantifier = "every" | "at_least_one" | "none";

interface ObservedJobs {
  /** the jobs the promiser names, from the sources the promise looks in */
  jobs: Job[];
  /** timers it names that are defined and not enabled: they never run */
  disabled: Job[];
  looked: JobSource[];
}

const ALL_SOURCES: JobSource[] = ["crontab", "cron_d", "user", "run_parts", "timer"];

const where = (j: Job) => (j.line !== undefined ? `${j.path}:${j.line}` : j.path);

function names(p: CheckedPromise): (j: Job) => boolean {
  const promiser = p.promiser as string;
  if (attr<string>(p, "by") === "timer") return (j) => j.source === "timer" && j.name === promiser;
  const re = RE2JS.compile(promiser);
  return (j) => re.matcher(j.command).matches();
}

/** Whether the job runs on the promised schedule, each compared in its own normal form. */
function onSchedule(j: Job, promised: string): boolean {
  if (j.source === "timer") return timers.normaliseTriggers(promised.split(";").filter((t) => t.trim() !== "")) === j.schedule;
  return normaliseSchedule(promised) === j.schedule;
}

function describe(j: Job): string {
  return `${where(j)} runs ${quoteMasked(j.command)} as ${j.user} (${j.written})`;
}

function mismatches(j: Job, user: string | undefined, schedule: string | undefined): Difference[] {
  const out: Difference[] = [];
  if (user !== undefined && j.user !== user) out.push({ subject: where(j), attribute: "user", expected: user, observed: j.user, reason: `${describe(j)}, not as ${user}` });
  if (schedule !== undefined && !onSchedule(j, schedule)) out.push({ subject: where(j), attribute: "schedule", expected: schedule, observed: j.written, reason: `${describe(j)}, not on ${schedule}` });
  return out;
}

export const scheduledBehaviour: PromiseBehaviour<ObservedJobs> = {
  observe(p, ctx): Observation<ObservedJobs> {
    const looked = attr<JobSource[]>(p, "sources") ?? ALL_SOURCES;
    const hostPath = (q: string) => ctx.hostPath(q);
    const all: Job[] = [];
    const skipped = [];
    if (looked.some((s) => s !== "timer")) {
      const users = accounts.read(ctx.roots);
      if (!users.ok) return { ok: false, error: `users' crontabs cannot be judged: ${users.error.message}` };
      const byName = new Map(users.value.users.map((u) => [u.name, u.uid]));
      const cron = crontab.read(hostPath, (u) => byName.get(u));
      // what an unreadable crontab holds is unknown: neither present nor absent can be told
      if (cron.unreadable.length > 0) return { ok: false, error: `cannot read ${cron.unreadable.join(", ")}: the jobs there are unknown` };
      all.push(...cron.jobs);
      skipped.push(...cron.skipped);
    }
    if (looked.includes("timer")) {
      const t = timers.read(hostPath);
      all.push(...t.jobs);
      skipped.push(...t.skipped);
    }
    const named = names(p);
    const mine = all.filter((j) => looked.includes(j.source) && named(j));
    const value = { jobs: mine.filter((j) => j.enabled !== false), disabled: mine.filter((j) => j.enabled === false), looked };
    const notes = skipNotes(skipped);
    return notes.length > 0 ? { ok: true, value, notes } : { ok: true, value };
  },

  judge(p, o) {
    const promiser = quoteOutput(p.promiser as string);
    if (attr<boolean>(p, "present") === false) {
      return o.jobs.map((j) => ({ subject: where(j), attribute: "present", expected: "false", observed: "true", reason: describe(j) }));
    }
    if (o.jobs.length === 0) {
      const off = o.disabled.length > 0 ? `; ${o.disabled.map(where).join(", ")} defines it, and no \`.wants\` link enables it` : "";
      return [{ attribute: "present", expected: "true", observed: "false", reason: `no job matching ${promiser} is scheduled (looked in ${o.looked.join(", ")})${off}` }];
    }
    const user = attr<string>(p, "user");
    const schedule = attr<string>(p, "schedule");
    if (user === undefined && schedule === undefined) return [];
    const q = attr<Quantifier>(p, "quantifier") ?? "every";
    const each = o.jobs.map((j) => ({ j, wrong: mismatches(j, user, schedule) }));
    const fitting = each.filter((x) => x.wrong.length === 0);
    if (q === "none") {
      return fitting.map(({ j }) => ({ subject: where(j), attribute: "quantifier", expected: "none", observed: "runs as promised", reason: `${describe(j)}, and no matching job may (quantifier = none)` }));
    }
    if (q === "at_least_one" && fitting.length > 0) return [];
    return each.flatMap((x) => x.wrong);
  },
};
