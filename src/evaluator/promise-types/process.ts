import type { CheckedPromise } from "../../checker/policy.js";
import { readExecutable, startedAt, type ProcessInfo, runsProgram, programText } from "../../probes/processes.js";
import type { Change } from "../change-gate.js";
import { attr, repairs, type Difference, type EvalContext, type Observation, type PromiseBehaviour } from "../contract.js";

interface MatchingProcess {
  pid: number;
  comm: string;
  /** effective uid: the user the process acts as, as ps(1) shows it */
  uid: number;
  startTicks: number;
  /** undefined when the boot time cannot be read */
  startedAtMs?: number;
}

interface ObservedProcesses {
  /** oldest first */
  matching: MatchingProcess[];
  /** the promised user's uid; undefined when no such user exists */
  promisedUid?: number;
  promisedGid?: number;
}

function durationText(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [d && `${d}d`, h && `${h}h`, m && `${m}m`, s < 3600 && s % 60 && `${s % 60}s`].filter(Boolean);
  return parts.length > 0 ? parts.join(" ") : `${s}s`;
}

function pidList(ps: MatchingProcess[]): string {
  return ps.map((x) => x.pid).join(", ");
}

function observeProcesses(p: CheckedPromise, ctx: EvalContext): Observation<ObservedProcesses> {
  const name = p.promiser as string;
  const cmdline = attr<string>(p, "cmdline");
  const cmdlinePattern = cmdline === undefined ? undefined : new RegExp(cmdline);
  const user = attr<string>(p, "user");
  const maxAge = attr<number>(p, "max_age");

  const all = ctx.snapshot.processes();
  if (!all.ok) return { ok: false, error: `the process table cannot be read: ${all.error.message}` };
  const observed: ObservedProcesses = { matching: [] };
  if (user !== undefined) {
    // without the accounts a process's uid cannot be told from the promised user's
    const accounts = ctx.snapshot.accounts();
    if (!accounts.ok) return { ok: false, error: `the accounts cannot be read to find user ${user}: ${accounts.error.message}` };
    const account = accounts.value.users.find((u) => u.name === user);
    if (account) {
      observed.promisedUid = account.uid;
      observed.promisedGid = account.gid;
    }
  }
  const bootTimeMs = ctx.snapshot.bootTimeMs();
  if (maxAge !== undefined && bootTimeMs === undefined) return { ok: false, error: `the boot time cannot be read from ${ctx.roots.proc}/stat, so process ages are unknown` };

  const exes = attr<string[]>(p, "exe");
  const notes: string[] = [];
  for (const x of all.value) {
    // a zombie has exited and only waits for its parent: it no longer runs
    if (x.comm !== name || x.state === "Z" || x.state === "X") continue;
    if (cmdlinePattern && !cmdlinePattern.test(x.argv.join(" "))) continue;
    if (exes) {
      const runs = runsPromisedProgram(x, exes, ctx, notes);
      if (typeof runs === "string") return { ok: false, error: runs };
      if (!runs) continue;
    }
    const m: MatchingProcess = { pid: x.pid, comm: x.comm, uid: x.euid, startTicks: x.startTicks };
    const started = bootTimeMs === undefined ? undefined : startedAt(bootTimeMs, x.startTicks);
    if (started) m.startedAtMs = started.getTime();
    observed.matching.push(m);
  }
  observed.matching.sort((a, b) => a.startTicks - b.startTicks || a.pid - b.pid);

  const unreadable = all.skipped.filter((s) => s.reason !== "process ended while being read");
  if (unreadable.length > 0) notes.unshift(`${unreadable.length} processes could not be read and are not counted (first: ${unreadable[0]!.path}: ${unreadable[0]!.reason})`);
  return { ok: true, value: observed, notes };
}

/**
 * Whether a process of the promised name runs one of the promised executables; a process that
 * only borrows the name is noted. An error message when its executable cannot be read: a
 * process not known to be another program is never left out of a count.
 */
function runsPromisedProgram(x: ProcessInfo, exes: string[], ctx: EvalContext, notes: string[]): boolean | string {
  const exe = readExecutable(ctx.roots, x.pid, x);
  if (!exe.ok) {
    if (exe.error.code === "not-found") return false; // ended, or exec'd another program, since the table was read
    return `the program of ${x.comm} (pid ${x.pid}) cannot be read: ${exe.error.message}${exe.error.code === "denied" ? " (another user's process: run as root)" : ""}`;
  }
  if (runsProgram(ctx.roots, exe.value, exes) === undefined) {
    const restart = exe.value?.deleted && exes.includes(exe.value.path) ? " (an upgrade? restart it to run the installed program)" : "";
    notes.push(`not counted: ${x.comm} (pid ${x.pid}) runs ${programText(exe.value, exes)}, not ${exes.join(" or ")}${restart}`);
    return false;
  }
  return true;
}

/** `min` as written; unset, 1, or 0 when `max = 0`: `max = 0` alone forbids the process. */
function minOf(p: CheckedPromise): number {
  return attr<number>(p, "min") ?? Math.min(1, attr<number>(p, "max") ?? 1);
}

/** The processes beyond `max`, newest first: the ones `repair = kill` terminates. */
function surplus(o: ObservedProcesses, max: number): MatchingProcess[] {
  return o.matching.slice(max).reverse();
}

export const processBehaviour: PromiseBehaviour<ObservedProcesses> = {
  observe: observeProcesses,

  judge(p, o, ctx) {
    const name = p.promiser as string;
    const cmdline = attr<string>(p, "cmdline");
    const exes = attr<string[]>(p, "exe");
    const what = `\`${name}\`${cmdline === undefined ? "" : ` matching /${cmdline}/`}`;
    const program = exes === undefined ? "" : ` ${exes.join(" or ")}`;
    const min = minOf(p);
    const max = attr<number>(p, "max");
    const user = attr<string>(p, "user");
    const maxAge = attr<number>(p, "max_age");
    const count = o.matching.length;
    const diffs: Difference[] = [];

    if (count < min) {
      diffs.push({ attribute: "min", expected: `at least ${min}`, observed: String(count), reason: `${count === 0 ? "no" : count} ${what} process${count === 1 ? "" : "es"} running${program}, promised at least ${min}` });
    }
    if (max !== undefined && count > max) {
      const pids = `(pid ${pidList(o.matching)})`;
      const reason = max === 0 ? `${what} is running${program} ${pids}, promised not to run` : `${count} ${what} processes running${program} ${pids}, promised at most ${max}`;
      diffs.push({ attribute: "max", expected: `at most ${max}`, observed: String(count), reason });
    }
    if (user !== undefined) {
      for (const x of o.matching) {
        if (x.uid === o.promisedUid) continue;
        const runsAs = ctx.snapshot.userName(x.uid);
        const promised = o.promisedUid === undefined ? `${user}, which does not exist on this host` : user;
        diffs.push({ subject: String(x.pid), attribute: "user", expected: user, observed: runsAs, reason: `${name} (pid ${x.pid}) runs as ${runsAs}, promised ${promised}` });
      }
    }
    if (maxAge !== undefined) {
      for (const x of o.matching) {
        if (x.startedAtMs === undefined) continue;
        const age = ctx.now.getTime() - x.startedAtMs;
        if (age <= maxAge) continue;
        diffs.push({
          subject: String(x.pid),
          attribute: "max_age",
          expected: `at most ${durationText(maxAge)}`,
          observed: durationText(age),
          reason: `${name} (pid ${x.pid}) has run for ${durationText(age)} (since ${new Date(x.startedAtMs).toISOString()}), promised at most ${durationText(maxAge)}`,
        });
      }
    }
    return diffs;
  },

  repair(p, o) {
    const allowed = repairs(p);
    const min = minOf(p);
    const max = attr<number>(p, "max");
    const start = attr<string[]>(p, "start");
    const user = attr<string>(p, "user");
    const changes: Change[] = [];
    const count = o.matching.length;
    if (allowed.includes("start") && start && count < min) {
      // never start as root what was promised to run as a user this host does not know
      if (user === undefined || o.promisedUid !== undefined) {
        const spawn: Change = user === undefined ? { op: "spawn", argv: start } : { op: "spawn", argv: start, uid: o.promisedUid!, gid: o.promisedGid!, user };
        for (let i = count; i < min; i++) changes.push(spawn);
      }
    }
    if (allowed.includes("kill") && max !== undefined && count > max) {
      for (const x of surplus(o, max)) changes.push({ op: "kill", pid: x.pid, startTicks: x.startTicks, name: x.comm });
    }
    return changes;
  },

  // a started process may take a moment to appear (a daemon forks, then the parent exits)
  settleMs: 3000,
};
