// What an `account` promise finds wrong with one account, attribute by attribute, with SSG's and
// CIS's semantics. Only classifications and numbers of days reach here: never a password hash.
import type { CheckedPromise } from "../checker/policy.js";
import type * as accounts from "../probes/accounts.js";
import { modeText, type FileStat } from "../probes/files.js";
import { hasExpired, type PasswordState, type ShadowEntry } from "../probes/shadow.js";
import { attr, type Difference } from "./contract.js";

export interface AccountState {
  name: string;
  uid: number;
  home: string;
  shell: string;
  /** the password field of /etc/passwd, classified: `shadow` (`x`) or a password held there */
  passwd: accounts.PasswdPassword;
  /** its /etc/shadow entry, aging and classified password; undefined: none, or shadow not read */
  shadow?: ShadowEntry;
  /** how many lines of /etc/passwd carry this name */
  nameCount: number;
  /** the other accounts with this uid */
  sameUid: string[];
  /** the home directory's lstat, or why it has none, when a home attribute is promised */
  homeStat?: { stat: FileStat } | { missing: true } | { error: string };
  /** the host path of the home directory (below a sandbox's root in a sandbox) */
  homePath: string;
}

export interface AccountObservation {
  accounts: AccountState[];
  /** a named account that is not in /etc/passwd */
  missing?: string;
  /** days since 1970-01-01 when observed, for expiry */
  today: number;
}

/** The password that decides logins: /etc/shadow's where /etc/passwd says `x`, else /etc/passwd's own. */
export function effectivePassword(a: AccountState): PasswordState | undefined {
  return a.passwd.status === "shadow" ? a.shadow?.password : a.passwd;
}

/** "a $y$ hash", "locked", "empty": a password's state as a report says it, never more of it. */
function passwordText(pw: PasswordState): string {
  if (pw.status === "hashed") return pw.scheme === "unknown" ? "a value that is no known hash" : `a ${pw.scheme} hash`;
  return pw.status;
}

function dateOf(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

type Judge = (p: CheckedPromise, a: AccountState, o: AccountObservation) => Difference[];

function diff(a: AccountState, attribute: string, expected: string, observed: string, reason: string): Difference {
  return { subject: a.name, attribute, expected, observed, reason: `${a.name}: ${reason}` };
}

const NO_SHADOW = "no entry in /etc/shadow";

const identity: Judge = (p, a) => {
  const out: Difference[] = [];
  const uid0 = attr<string[]>(p, "uid0_only");
  if (uid0 && a.uid === 0 && !uid0.includes(a.name)) {
    out.push(diff(a, "uid0_only", `uid 0 only for ${uid0.join(", ") || "no account"}`, "uid 0", `has uid 0, which only ${uid0.join(", ") || "no account"} may have`));
  }
  if (attr<boolean>(p, "unique")) {
    if (a.nameCount > 1) out.push(diff(a, "unique", "one entry", `${a.nameCount} entries`, `appears on ${a.nameCount} lines of /etc/passwd`));
    if (a.sameUid.length > 0) out.push(diff(a, "unique", `uid ${a.uid} its own`, `uid ${a.uid} shared`, `shares uid ${a.uid} with ${a.sameUid.join(", ")}`));
  }
  return out;
};

const password: Judge = (p, a) => {
  const out: Difference[] = [];
  const pw = effectivePassword(a);
  const where = a.passwd.status === "shadow" ? "/etc/shadow" : "/etc/passwd";
  const shadowed = attr<boolean>(p, "shadowed");
  if (shadowed !== undefined && (a.passwd.status === "shadow") !== shadowed) {
    const held = a.passwd.status === "shadow" ? "x" : passwordText(a.passwd);
    out.push(shadowed ? diff(a, "shadowed", "x", held, `the password is held in /etc/passwd (${held}), which every user can read, not in /etc/shadow`) : diff(a, "shadowed", "in /etc/passwd", "x", "the password is in /etc/shadow, promised in /etc/passwd"));
  }
  const empty = attr<boolean>(p, "empty_password");
  // no shadow entry behind `x`: no password at all can match, so it is not empty
  if (empty !== undefined && (pw?.status === "empty") !== empty) {
    out.push(empty ? diff(a, "empty_password", "empty", pw ? passwordText(pw) : NO_SHADOW, `password is not empty, promised empty`) : diff(a, "empty_password", "not empty", "empty", `the password field in ${where} is empty: no password is needed to log in`));
  }
  const locked = attr<boolean>(p, "locked");
  if (locked !== undefined) {
    if (!pw) out.push(diff(a, "locked", locked ? "locked" : "not locked", NO_SHADOW, `has ${NO_SHADOW}, promised ${locked ? "locked" : "not locked"}`));
    else if ((pw.status === "locked") !== locked) out.push(diff(a, "locked", locked ? "locked" : "not locked", passwordText(pw), locked ? `password is not locked (${passwordText(pw)}), promised locked` : "password is locked, promised not"));
  }
  return out;
};

const expiry: Judge = (p, a, o) => {
  const expired = attr<boolean>(p, "expired");
  if (expired === undefined) return [];
  if (!a.shadow) return [diff(a, "expired", expired ? "expired" : "not expired", NO_SHADOW, `has ${NO_SHADOW}, promised ${expired ? "expired" : "not expired"}`)];
  const e = a.shadow.expires;
  const has = hasExpired(e, o.today);
  if (has === expired) return [];
  const observed = e === undefined ? "no expiry date" : has ? `expired ${dateOf(e)}` : `expires ${dateOf(e)}`;
  return [diff(a, "expired", expired ? "expired" : "not expired", observed, expired ? `has not expired (${observed}), promised expired` : `expired on ${dateOf(e!)}, promised not`)];
};

/** One aging field: `at_most` fields must be set (empty means no limit); `at_least` fields count empty as 0 or none. */
function agingField(p: CheckedPromise, a: AccountState, name: string, value: number | undefined, bound: "at most" | "at least", what: string, emptyIs?: number): Difference[] {
  const want = attr<number>(p, name);
  if (want === undefined) return [];
  if (!a.shadow) return [diff(a, name, `${bound} ${want}`, NO_SHADOW, `has ${NO_SHADOW}, so no ${what}; promised ${bound} ${want} days`)];
  const v = value ?? emptyIs;
  if (v !== undefined && (bound === "at most" ? v <= want : v >= want)) return [];
  const observed = v === undefined ? "not set" : `${v} days`;
  return [diff(a, name, `${bound} ${want} days`, observed, v === undefined ? `no ${what} is set, promised ${bound} ${want} days` : `${what} is ${v} days, promised ${bound} ${want}`)];
}

const aging: Judge = (p, a) => [
  ...agingField(p, a, "max_days", a.shadow?.maxDays, "at most", "password maximum age"),
  ...agingField(p, a, "min_days", a.shadow?.minDays, "at least", "password minimum age", 0),
  ...agingField(p, a, "warn_days", a.shadow?.warnDays, "at least", "warning before the password expires"),
  ...agingField(p, a, "inactive_days", a.shadow?.inactiveDays, "at most", "inactivity lock after the password expires"),
];

const shell: Judge = (p, a) => {
  const shells = attr<string[]>(p, "shell");
  if (!shells || shells.includes(a.shell)) return [];
  const wanted = shells.length === 1 ? shells[0]! : `one of ${shells.join(", ")}`;
  return [diff(a, "shell", wanted, a.shell || "(empty: /bin/sh)", `login shell is ${a.shell || "empty (/bin/sh)"}, promised ${wanted}`)];
};

const home: Judge = (p, a) => {
  const h = a.homeStat;
  if (!h) return [];
  const out: Difference[] = [];
  const exists = attr<boolean>(p, "home_exists");
  if ("error" in h) return [diff(a, "home_exists", "a directory", "unreadable", `home directory: ${h.error}`)];
  if ("missing" in h) return exists ? [diff(a, "home_exists", "a directory", "missing", `home directory ${a.home} does not exist`)] : [];
  const st = h.stat;
  if (st.type !== "directory") {
    // a link or a file where the home should be: its owner and mode are not the home's
    return [diff(a, "home_exists", "a directory", st.type, `home directory ${a.home} is ${st.type === "symlink" ? `a symbolic link (to ${st.linkTarget})` : `not a directory (a ${st.type})`}`)];
  }
  if (attr<boolean>(p, "home_owned") && st.uid !== a.uid) out.push(diff(a, "home_owned", `uid ${a.uid}`, `uid ${st.uid}`, `home directory ${a.home} is owned by uid ${st.uid}, not by the account (uid ${a.uid})`));
  const max = attr<number>(p, "home_max_mode");
  if (max !== undefined && (st.mode & ~max) !== 0) {
    out.push(diff(a, "home_max_mode", `at most ${modeText(max)}`, modeText(st.mode), `home directory ${a.home} has mode ${modeText(st.mode)}, bits outside ${modeText(max)} (${modeText(st.mode & ~max)})`));
  }
  return out;
};

const judges: Judge[] = [identity, password, expiry, aging, shell, home];

/** Every way one account is not as promised. */
export function accountDifferences(p: CheckedPromise, a: AccountState, o: AccountObservation): Difference[] {
  return judges.flatMap((j) => j(p, a, o));
}
