// The changes an `account` promise's `repair` allows: shadow-utils commands (argv, the user after
// `--`) and a home directory's mode and owner through the file changes' guards. Nothing here
// unlocks an account, sets a password or removes an account: those go through access management.
import { basename, dirname, resolve } from "node:path";
import type { CheckedPromise } from "../checker/policy.js";
import type { AccountChange, Change } from "./change-gate.js";
import { attr, repairs, type Difference, type EvalContext } from "./contract.js";
import type { AccountObservation, AccountState } from "./account-judge.js";
import { identityOf } from "../probes/file-identity.js";

/** Names shadow-utils takes as they are; anything else is left alone rather than passed on. */
const PLAIN_NAME = /^[a-z_][a-z0-9_.-]*\$?$/i;

/**
 * The `-R` directory for the accounts read: none for the host's /etc; the directory above a
 * relocated `etc` (a container's `/host/etc`); null when the tools cannot be pointed at them.
 */
export function toolRoot(etc: string): string | undefined | null {
  const abs = resolve(etc);
  if (abs === "/etc") return undefined;
  return basename(abs) === "etc" ? dirname(abs) : null;
}

function agingArgs(p: CheckedPromise, attributes: Set<string>): string[] {
  const args: string[] = [];
  const flags: [string, string][] = [
    ["min_days", "-m"],
    ["max_days", "-M"],
    ["warn_days", "-W"],
    ["inactive_days", "-I"],
  ];
  for (const [name, flag] of flags) if (attributes.has(name)) args.push(flag, String(attr<number>(p, name)));
  return args;
}

/** The shadow-utils commands for one account's differences, as far as `repair` allows. */
function toolChanges(p: CheckedPromise, a: AccountState, mine: Difference[], root: string | undefined): AccountChange[] {
  const allowed = repairs(p);
  const attributes = new Set(mine.map((d) => d.attribute));
  const out: AccountChange[] = [];
  const change = (program: AccountChange["program"], args: string[]) => {
    const c: AccountChange = { op: "account", program, args, user: a.name };
    if (root !== undefined) c.root = root;
    out.push(c);
  };
  // usermod -L and chage edit /etc/shadow: an account without an entry there, or whose password
  // /etc/passwd holds itself, is not theirs to fix
  const inShadow = a.passwd.status === "shadow" && a.shadow !== undefined;
  const lockWanted = mine.some((d) => (d.attribute === "locked" && d.expected === "locked") || (d.attribute === "empty_password" && d.expected === "not empty"));
  if (allowed.includes("lock") && lockWanted && inShadow) change("usermod", ["-L"]);
  if (allowed.includes("expire") && mine.some((d) => d.attribute === "expired" && d.expected === "expired") && inShadow) {
    // day 1 (1970-01-02), not 0, which shadow(5) calls ambiguous
    change("chage", ["-E", "1"]);
  }
  const aging = agingArgs(p, attributes);
  if (allowed.includes("aging") && aging.length > 0 && inShadow) change("chage", aging);
  const shells = attr<string[]>(p, "shell");
  if (allowed.includes("shell") && attributes.has("shell") && shells?.[0]) change("usermod", ["-s", shells[0]]);
  return out;
}

/** chmod within `home_max_mode` and chown to the account, guarded to the directory observed. */
function homeChanges(p: CheckedPromise, a: AccountState, mine: Difference[]): Change[] {
  const h = a.homeStat;
  if (!h || !("stat" in h) || h.stat.type !== "directory") return [];
  const guard = { expect: identityOf(h.stat), allowHardlinks: false };
  const out: Change[] = [];
  const max = attr<number>(p, "home_max_mode");
  if (max !== undefined && mine.some((d) => d.attribute === "home_max_mode")) out.push({ op: "chmod", path: a.homePath, mode: h.stat.mode & max, ...guard });
  if (mine.some((d) => d.attribute === "home_owned")) out.push({ op: "chown", path: a.homePath, uid: a.uid, owner: a.name, ...guard });
  return out;
}

export function planAccountRepairs(p: CheckedPromise, o: AccountObservation, differences: Difference[], ctx: EvalContext): Change[] {
  const allowed = repairs(p);
  if (allowed.length === 0) return [];
  const root = toolRoot(ctx.roots.etc);
  const out: Change[] = [];
  for (const a of o.accounts) {
    const mine = differences.filter((d) => d.subject === a.name);
    // a repeated name: usermod would change whichever line it finds first
    if (mine.length === 0 || a.nameCount > 1 || !PLAIN_NAME.test(a.name)) continue;
    if (root !== null) out.push(...toolChanges(p, a, mine, root));
    if (allowed.includes("home")) out.push(...homeChanges(p, a, mine));
  }
  return out;
}
