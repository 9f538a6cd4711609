// The `accounts` of a sandbox.json: users with the uid, shell, home, password state and aging an
// `account` promise judges, written to the sandbox's passwd, shadow and login.defs. A password
// is only ever a state here: a `hashed` one gets a placeholder that is the hash of nothing.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface SandboxAccount {
  uid?: number;
  shell?: string;
  home?: string;
  password?: "hashed" | "locked" | "empty";
  min_days?: number;
  max_days?: number;
  warn_days?: number;
  inactive_days?: number;
  /** YYYY-MM-DD */
  expires?: string;
}

const PASSWORD: Record<NonNullable<SandboxAccount["password"]>, string> = {
  // a yescrypt-shaped string no password produces: classified `hashed ($y$)`, matching nothing
  hashed: "$y$j9T$covenant.sandbox$placeholder.that.is.the.hash.of.nothing",
  locked: "!",
  empty: "",
};
const DAYS = ["min_days", "max_days", "warn_days", "inactive_days"] as const;
/** absolute, and nothing that would end a passwd field or line */
const FIELD_PATH = /^\/[^:\n\r\0]*$/;

/** The `accounts` object, checked; problems are added to `problems` (all reported at once). */
export function parseSandboxAccounts(raw: unknown, isName: (v: string) => boolean, problems: string[]): Record<string, SandboxAccount> {
  if (raw === undefined) return {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    problems.push("`accounts` must map account names to objects");
    return {};
  }
  const out = Object.create(null) as Record<string, SandboxAccount>;
  for (const [name, v] of Object.entries(raw)) {
    const at = `accounts.${name}`;
    if (!isName(name)) {
      problems.push(`${at}: \`${JSON.stringify(name)}\` is not an account name`);
      continue;
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      problems.push(`${at} must be an object`);
      continue;
    }
    const o = v as Record<string, unknown>;
    const known = new Set(["uid", "shell", "home", "password", "expires", ...DAYS]);
    for (const k of Object.keys(o)) if (!known.has(k)) problems.push(`${at}.${k} is not a field of an account (${[...known].join(", ")})`);
    if (o["uid"] !== undefined && !(Number.isInteger(o["uid"]) && (o["uid"] as number) >= 0 && (o["uid"] as number) <= 0xfffffffe)) problems.push(`${at}.uid must be a whole number from 0`);
    for (const k of ["shell", "home"]) if (o[k] !== undefined && !(typeof o[k] === "string" && FIELD_PATH.test(o[k]))) problems.push(`${at}.${k} must be an absolute path without \`:\` or line breaks`);
    if (o["password"] !== undefined && !(typeof o["password"] === "string" && o["password"] in PASSWORD)) problems.push(`${at}.password must be "hashed", "locked" or "empty"`);
    for (const k of DAYS) if (o[k] !== undefined && !(Number.isInteger(o[k]) && (o[k] as number) >= 0 && (o[k] as number) <= 99999)) problems.push(`${at}.${k} must be a number of days from 0 to 99999`);
    if (o["expires"] !== undefined && !(typeof o["expires"] === "string" && /^\d{4}-\d{2}-\d{2}$/.test(o["expires"]) && !Number.isNaN(Date.parse(`${o["expires"]}T00:00:00Z`)))) problems.push(`${at}.expires must be a date such as "2026-12-31"`);
    out[name] = o as SandboxAccount;
  }
  return out;
}

/**
 * passwd, shadow and login.defs of the sandbox: every user (`users` and `accounts`), an
 * account's own uid, shell and home where it gives them; users without an entry in `accounts`
 * keep their id, /nonexistent and nologin, and a shadow entry locked with `*`.
 */
export function writeSandboxAccounts(etc: string, users: string[], accounts: Record<string, SandboxAccount>, uidOf: (u: string) => number, primaryGid: (u: string) => number): void {
  const all = [...users, ...Object.keys(accounts).filter((a) => !users.includes(a))];
  const passwd = all.map((u) => {
    const a = accounts[u];
    return `${u}:x:${a?.uid ?? uidOf(u)}:${primaryGid(u)}:${u}:${a?.home ?? (a ? `/home/${u}` : "/nonexistent")}:${a?.shell ?? (a ? "/bin/bash" : "/usr/sbin/nologin")}`;
  });
  const day = (d: string) => Math.floor(Date.parse(`${d}T00:00:00Z`) / 86_400_000);
  const shadow = all.map((u) => {
    const a = accounts[u];
    if (!a) return `${u}:*:20000::::::`;
    const n = (v: number | undefined) => (v === undefined ? "" : String(v));
    return `${u}:${PASSWORD[a.password ?? "hashed"]}:20000:${n(a.min_days)}:${n(a.max_days)}:${n(a.warn_days)}:${n(a.inactive_days)}:${a.expires ? day(a.expires) : ""}:`;
  });
  // a new sandbox's own files: never through a link, never over an entry already there
  writeFileSync(join(etc, "passwd"), passwd.join("\n") + "\n", { flag: "wx" });
  writeFileSync(join(etc, "shadow"), shadow.join("\n") + "\n", { mode: 0o600, flag: "wx" });
  // the range `select = human` reads; sandbox users without an account (ids from 64000) are system accounts
  writeFileSync(join(etc, "login.defs"), "UID_MIN 1000\nUID_MAX 60000\n", { flag: "wx" });
}
