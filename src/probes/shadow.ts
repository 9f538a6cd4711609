// Local password state from /etc/shadow: whether each account's password is empty, locked or
// set (and with which hashing scheme), and its aging fields. The password field is reduced to
// that classification as each line is split, so no hash (nor any part of one but the scheme's
// id, such as `$y$`) ever leaves this file: not into an observation, a report, the store or a
// message.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fromFsError, ok, type ProbeResult, type ProbeRoots, type Skip } from "./result.js";

/**
 * What a password field allows, as `passwd -S` tells it: `empty` (NP: no password at all),
 * `locked` (L: the field starts with `!` or `*`, so no password can match), `hashed` (P).
 */
export type PasswordState =
  | { status: "empty" }
  /** `scheme`: of the hash kept behind a `!` (`usermod -L` keeps it), when there is one */
  | { status: "locked"; scheme?: string }
  | { status: "hashed"; scheme: string };

export interface ShadowEntry {
  name: string;
  password: PasswordState;
  /** days since 1970-01-01 of the last password change; 0: must change at next login */
  lastChange?: number;
  /** days before the password may be changed again (field 4) */
  minDays?: number;
  /** days after which it must be changed (field 5) */
  maxDays?: number;
  /** days of warning before it expires (field 6) */
  warnDays?: number;
  /** days after it expires until the account is disabled (field 7) */
  inactiveDays?: number;
  /** days since 1970-01-01 at which the account expires (field 8) */
  expires?: number;
}

const NAME = /^[a-z_][a-z0-9_.-]*\$?$/i;

/**
 * The hashing scheme of a crypt(3) string, never more of it: `$id$` for the modular formats
 * (`$y$` yescrypt, `$6$` SHA-512, `$2b$` bcrypt, `$gy$`...), `des` and `bsdi` for the old
 * fixed-length ones, `unknown` for anything else (which no password matches).
 */
export function schemeOf(hash: string): string {
  const id = /^\$([a-z0-9]{1,8})\$/.exec(hash);
  if (id) return `$${id[1]}$`;
  if (/^[./0-9A-Za-z]{13}$/.test(hash)) return "des";
  if (/^_[./0-9A-Za-z]{19}$/.test(hash)) return "bsdi";
  return "unknown";
}

/** The classification of a password field (of /etc/shadow, or of /etc/passwd when it holds one). */
export function classifyPassword(field: string): PasswordState {
  if (field === "") return { status: "empty" };
  if (field.startsWith("!") || field.startsWith("*")) {
    // `!!` (never set, on the RHEL family), `!` or `*` alone: nothing behind the lock
    const behind = field.replace(/^[!*]+/, "");
    return behind === "" ? { status: "locked" } : { status: "locked", scheme: schemeOf(behind) };
  }
  return { status: "hashed", scheme: schemeOf(field) };
}

const DAY_FIELDS = ["lastChange", "minDays", "maxDays", "warnDays", "inactiveDays", "expires"] as const;

export function parseShadow(text: string, path = "/etc/shadow"): { entries: ShadowEntry[]; skipped: Skip[] } {
  const entries: ShadowEntry[] = [];
  const skipped: Skip[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "" || line.startsWith("#")) return;
    // unlike /etc/passwd's last field, /etc/shadow's is a number: shadow-utils takes a line
    // ending in CR for no entry at all (usermod -L then appends another), and so does this
    if (line.endsWith("\r")) {
      skipped.push({ path, line: i + 1, reason: "ends with a carriage return (a CRLF line): shadow-utils reads no entry from it" });
      return;
    }
    if (line.startsWith("+") || line.startsWith("-")) {
      skipped.push({ path, line: i + 1, reason: "NIS compat entry" });
      return;
    }
    const f = line.split(":");
    // the password is classified first: whatever becomes of the line, its text goes no further
    const count = f.length;
    const password = count > 1 ? classifyPassword(f[1]!) : undefined;
    if (count > 1) f[1] = "";
    if (count !== 9 || !password) {
      skipped.push({ path, line: i + 1, reason: `expected 9 fields separated by \`:\`, got ${count}` });
      return;
    }
    const name = f[0]!;
    // a name that is no user name may be a hash on a line split wrongly: it is not repeated
    if (!NAME.test(name)) {
      skipped.push({ path, line: i + 1, reason: "malformed entry: the first field is not a user name" });
      return;
    }
    const entry: ShadowEntry = { name, password };
    for (const [k, key] of DAY_FIELDS.entries()) {
      const text = f[k + 2]!;
      if (text === "") continue;
      if (!/^-?\d{1,9}$/.test(text)) {
        skipped.push({ path, line: i + 1, reason: `malformed entry for \`${name}\`: field ${k + 3} is not a number of days` });
        return;
      }
      const n = Number(text);
      // -1 is how some tools write an empty field
      if (n >= 0) entry[key] = n;
    }
    entries.push(entry);
  });
  return { entries, skipped };
}

export function read(roots: Pick<ProbeRoots, "etc">): ProbeResult<ShadowEntry[]> {
  const path = join(roots.etc, "shadow");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    return fromFsError(err, path);
  }
  const { entries, skipped } = parseShadow(text, path);
  return ok(entries, skipped);
}

/** Whether an account whose shadow entry says `expires` has expired on `today` (days since 1970-01-01), as PAM judges it. */
export function hasExpired(expires: number | undefined, today: number): boolean {
  // 0 is ambiguous in shadow(5); pam_unix, which decides logins, takes it as expired
  return expires !== undefined && today >= expires;
}

/** Days since 1970-01-01 (UTC), as shadow counts them. */
export function daysSinceEpoch(at: Date): number {
  return Math.floor(at.getTime() / 86_400_000);
}
