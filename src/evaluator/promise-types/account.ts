// The behaviour of `account`: each selected account of /etc/passwd, with its /etc/shadow entry
// (classified by the shadow probe: no hash reaches here) and, where asked, its home directory,
// judged attribute by attribute as SSG and CIS judge them. Judging: ../account-judge.ts; repairs: ../account-repair.ts.
import type { CheckedPromise } from "../../checker/policy.js";
import * as accounts from "../../probes/accounts.js";
import { stat } from "../../probes/files.js";
import * as shadow from "../../probes/shadow.js";
import type { Skip } from "../../probes/result.js";
import { attr, type Difference, type Observation, type PromiseBehaviour } from "../contract.js";
import { skipNotes } from "../observation-notes.js";
import { planAccountRepairs } from "../account-repair.js";
import { accountDifferences, effectivePassword, type AccountObservation, type AccountState } from "../account-judge.js";

const SHADOW_ATTRIBUTES = ["empty_password", "locked", "expired", "max_days", "min_days", "warn_days", "inactive_days"];
const HOME_ATTRIBUTES = ["home_exists", "home_owned", "home_max_mode"];

function needsShadow(p: CheckedPromise): boolean {
  return SHADOW_ATTRIBUTES.some((a) => attr(p, a) !== undefined) || (attr<string[]>(p, "select") ?? []).includes("password_set");
}

/** Whether an account is picked by `select` (all of its kinds) and not left out by `except`. */
function selected(p: CheckedPromise, a: AccountState, range: accounts.UidRange): boolean {
  if ((attr<string[]>(p, "except") ?? []).includes(a.name)) return false;
  for (const kind of attr<string[]>(p, "select") ?? []) {
    const human = a.uid >= range.min && a.uid <= range.max;
    if (kind === "human" && !human) return false;
    if (kind === "system" && human) return false;
    if (kind === "password_set" && effectivePassword(a)?.status !== "hashed") return false;
  }
  return true;
}

function homeStatOf(path: string): AccountState["homeStat"] {
  const r = stat(path);
  if (r.ok) return { stat: r.value };
  return r.error.code === "not-found" ? { missing: true } : { error: r.error.message };
}

export const accountBehaviour: PromiseBehaviour<AccountObservation> = {
  observe(p, ctx): Observation<AccountObservation> {
    const passwd = ctx.snapshot.accounts();
    if (!passwd.ok) return { ok: false, error: `cannot read the local accounts: ${passwd.error.message}` };
    const skipped: Skip[] = [...passwd.skipped];
    const byName = new Map<string, shadow.ShadowEntry>();
    const shadowRead = needsShadow(p);
    if (shadowRead) {
      const s = shadow.read(ctx.roots);
      if (!s.ok) return { ok: false, error: `cannot read the password state: ${s.error.message}` };
      skipped.push(...s.skipped);
      for (const e of s.value) if (!byName.has(e.name)) byName.set(e.name, e);
    }
    const range = accounts.readUidRange(ctx.roots);
    if (!range.ok) return { ok: false, error: `cannot read the uid range of accounts for people: ${range.error.message}` };
    if ((attr<string[]>(p, "select") ?? []).some((k) => k !== "password_set")) skipped.push(...range.skipped);
    const users = passwd.value.users;
    const wantHome = HOME_ATTRIBUTES.some((a) => attr(p, a) !== undefined);
    const name = p.promiser as string;
    // counted once, not per account: a host may have thousands of them
    const nameCount = new Map<string, number>();
    const namesByUid = new Map<number, string[]>();
    for (const u of users) {
      nameCount.set(u.name, (nameCount.get(u.name) ?? 0) + 1);
      namesByUid.set(u.uid, [...(namesByUid.get(u.uid) ?? []), u.name]);
    }
    const states: AccountState[] = [];
    const seen = new Set<string>();
    for (const u of users) {
      if (name !== "*" && u.name !== name) continue;
      const state: AccountState = {
        name: u.name,
        uid: u.uid,
        home: u.home,
        shell: u.shell,
        passwd: u.password,
        nameCount: nameCount.get(u.name)!,
        sameUid: namesByUid.get(u.uid)!.filter((n) => n !== u.name),
        homePath: ctx.hostPath(u.home),
      };
      const entry = byName.get(u.name);
      if (entry) state.shadow = entry;
      // `select` and `except` narrow `*`; a named account is judged whatever it is
      if (name === "*" && !selected(p, state, range.value)) continue;
      // a repeated name is one account to judge, its repetition the deficiency
      if (seen.has(u.name)) continue;
      seen.add(u.name);
      if (wantHome && u.home.startsWith("/")) state.homeStat = homeStatOf(state.homePath);
      else if (wantHome) state.homeStat = { error: `the home directory \`${u.home}\` is not an absolute path` };
      states.push(state);
    }
    const value: AccountObservation = { accounts: states, today: shadow.daysSinceEpoch(ctx.now) };
    if (name !== "*" && states.length === 0 && !users.some((u) => u.name === name)) value.missing = name;
    return { ok: true, value, notes: skipNotes(skipped) };
  },

  judge(p, o) {
    const mustExist = attr<boolean>(p, "exists") ?? true;
    const name = p.promiser as string;
    if (o.missing !== undefined) {
      return mustExist ? [{ subject: name, attribute: "exists", expected: "exists", observed: "does not exist", reason: `there is no account ${name} in /etc/passwd` }] : [];
    }
    const out: Difference[] = [];
    if (name !== "*" && attr<boolean>(p, "exists") === false) {
      for (const a of o.accounts) out.push({ subject: a.name, attribute: "exists", expected: "does not exist", observed: `exists (uid ${a.uid})`, reason: `account ${a.name} exists (uid ${a.uid}), promised not to` });
      return out;
    }
    for (const a of o.accounts) out.push(...accountDifferences(p, a, o));
    return out;
  },

  repair(p, o, differences, ctx) {
    return planAccountRepairs(p, o, differences, ctx);
  },
};
