// Who holds a lock, and whether a promise allows it: shared by `locks` (holders, holder_exe,
// holder_user) and `file` (locked_by, locked_by_exe, locked_by_user). A process's name (comm)
// is whatever the process says it is: any user can start a program under any name, or rename a
// running one. Its executable (the /proc/PID/exe link) and its user (the effective uid in
// /proc/PID/status) are set by the kernel, and only those rules hold against a process that
// lies about its name.
import type { CheckedPromise } from "../checker/policy.js";
import { readExecutable, type Executable, runsProgram, programText } from "../probes/processes.js";
import { attr, type EvalContext } from "./contract.js";

export interface HolderRules {
  /** process names (comm): spoofable */
  names?: string[];
  /** absolute paths of the executables allowed */
  exes?: string[];
  /** user names, or numeric uids */
  users?: string[];
}

/** The promise's attribute for each rule, named in its differences. */
export interface RuleAttributes {
  names: string;
  exes: string;
  users: string;
}

export interface Holder {
  pid: number;
  /** absent when the holder is unknown (pid -1) or has ended */
  comm?: string;
  /** effective uid */
  uid?: number;
  /** read only when the rules name executables; null: the process has no executable */
  exe?: Executable | null;
}

/** The rules a promise declares under these attribute names. */
export function rulesOf(p: CheckedPromise, attrs: RuleAttributes): HolderRules {
  const rules: HolderRules = {};
  const names = attr<string[]>(p, attrs.names);
  const exes = attr<string[]>(p, attrs.exes);
  const users = attr<string[]>(p, attrs.users);
  if (names) rules.names = names;
  if (exes) rules.exes = exes;
  if (users) rules.users = users;
  return rules;
}

export function hasRules(r: HolderRules): boolean {
  return r.names !== undefined || r.exes !== undefined || r.users !== undefined;
}

/**
 * The holders of these pids: name and user from the run's process table, the executable read
 * now, only when the rules name executables. An error when the rules cannot be judged: the
 * process table is unreadable, or a holder's executable cannot be read (another user's
 * process, when not root). A holder that ends while being read is unknown, as one already gone.
 */
export function resolveHolders(pids: number[], rules: HolderRules, ctx: EvalContext): { ok: true; holders: Map<number, Holder> } | { ok: false; error: string } {
  const holders = new Map<number, Holder>(pids.map((pid) => [pid, { pid }]));
  if (pids.length === 0) return { ok: true, holders };
  const table = ctx.snapshot.processes();
  if (!table.ok) {
    // names are shown in every reason, but only rules make an unreadable table an error
    return hasRules(rules) ? { ok: false, error: table.error.message } : { ok: true, holders };
  }
  const byPid = new Map(table.value.map((x) => [x.pid, x] as const));
  for (const h of holders.values()) {
    const x = byPid.get(h.pid);
    if (!x) continue;
    h.comm = x.comm;
    h.uid = x.euid;
    if (rules.exes === undefined) continue;
    const exe = readExecutable(ctx.roots, x.pid, x);
    if (exe.ok) h.exe = exe.value;
    else if (exe.error.code === "not-found") {
      delete h.comm;
      delete h.uid;
    } else return { ok: false, error: `the program of ${x.comm} (pid ${x.pid}) cannot be read: ${exe.error.message}${exe.error.code === "denied" ? " (another user's process: run as root)" : ""}` };
  }
  return { ok: true, holders };
}

function uidOfRule(user: string, ctx: EvalContext): number | undefined {
  return /^\d+$/.test(user) ? Number(user) : ctx.snapshot.uidOf(user);
}

/** How a holder shows in a reason: its name and pid, and its program and user when rules ask for them. */
export function holderText(h: Holder, rules: HolderRules, ctx: EvalContext): string {
  if (h.comm === undefined) return h.pid < 0 ? "a holder the kernel does not give" : `pid ${h.pid}`;
  const more: string[] = [`pid ${h.pid}`];
  if (rules.exes !== undefined) more.push(h.exe === undefined ? "no executable" : programText(h.exe, rules.exes));
  if (rules.users !== undefined && h.uid !== undefined) more.push(`user ${ctx.snapshot.userName(h.uid)}`);
  return `${h.comm} (${more.join(", ")})`;
}

export interface BrokenRule {
  attribute: string;
  expected: string;
  observed: string;
  /** why the holder is not allowed, completing "locked by X, ..." */
  why: string;
}

/** The first rule this known holder breaks, or undefined when it is allowed (unknown holders are not judged). */
export function brokenRule(h: Holder, rules: HolderRules, attrs: RuleAttributes, ctx: EvalContext): BrokenRule | undefined {
  if (h.comm === undefined) return undefined;
  if (rules.names && !rules.names.includes(h.comm)) {
    return { attribute: attrs.names, expected: rules.names.join(", "), observed: h.comm, why: `not one of the allowed holders (${rules.names.join(", ")})` };
  }
  if (rules.exes) {
    const exe = h.exe ?? null;
    // judged on the file the process runs, not the path it shows (runsProgram)
    if (runsProgram(ctx.roots, exe, rules.exes) === undefined) {
      return { attribute: attrs.exes, expected: rules.exes.join(", "), observed: programText(exe, rules.exes), why: `which does not run an allowed program (${rules.exes.join(", ")})` };
    }
  }
  if (rules.users && h.uid !== undefined) {
    const uid = h.uid;
    if (!rules.users.some((u) => uidOfRule(u, ctx) === uid)) {
      const unknown = rules.users.filter((u) => uidOfRule(u, ctx) === undefined);
      const note = unknown.length > 0 ? `; ${unknown.join(", ")} ${unknown.length === 1 ? "does" : "do"} not exist on this host` : "";
      return { attribute: attrs.users, expected: rules.users.join(", "), observed: ctx.snapshot.userName(uid), why: `which does not run as an allowed user (${rules.users.join(", ")}${note})` };
    }
  }
  return undefined;
}

/** Notes for holders allowed by a program that has been deleted or replaced since they started it. */
export function deletedProgramNotes(holders: Iterable<Holder>): string[] {
  const out: string[] = [];
  for (const h of holders) {
    if (h.exe?.deleted) out.push(`${h.comm} (pid ${h.pid}) runs ${h.exe.path}, deleted or replaced since it started (an upgrade?): restart it to run the installed program`);
  }
  return out;
}
