// Local accounts from /etc/passwd and /etc/group: user names for uids, group membership
// (members listed in /etc/group plus users whose primary group it is), uid 0 accounts; and
// from /etc/login.defs the uid range of accounts for people.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fromFsError, ok, type ProbeResult, type ProbeRoots, type Skip } from "./result.js";
import { classifyPassword, type PasswordState } from "./shadow.js";

/**
 * The password field of /etc/passwd, classified as it is read (no hash is kept): `shadow` (`x`:
 * the password is in /etc/shadow), or a password held in /etc/passwd itself.
 */
export type PasswdPassword = { status: "shadow" } | PasswordState;

export interface User {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  password: PasswdPassword;
}

export interface Group {
  name: string;
  gid: number;
  /** members named in /etc/group */
  members: string[];
}

function lines(text: string, path: string, fields: number, skipped: Skip[]): { f: string[]; line: number }[] {
  const out: { f: string[]; line: number }[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, ""); // files edited on Windows end lines with CRLF
    if (line.trim() === "" || line.startsWith("#")) return;
    // NIS compat entries (`+`, `-name`) describe no local account
    if (line.startsWith("+") || line.startsWith("-")) {
      skipped.push({ path, line: i + 1, reason: "NIS compat entry" });
      return;
    }
    const f = line.split(":");
    if (f.length !== fields) {
      skipped.push({ path, line: i + 1, reason: `expected ${fields} fields separated by \`:\`, got ${f.length}` });
      return;
    }
    out.push({ f, line: i + 1 });
  });
  return out;
}

export function parsePasswd(text: string, path = "/etc/passwd"): { users: User[]; skipped: Skip[] } {
  const skipped: Skip[] = [];
  const users: User[] = [];
  for (const { f, line } of lines(text, path, 7, skipped)) {
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!f[0] || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) {
      skipped.push({ path, line, reason: `malformed entry for \`${f[0]}\`` });
      continue;
    }
    const password: PasswdPassword = f[1] === "x" ? { status: "shadow" } : classifyPassword(f[1]!);
    users.push({ name: f[0], uid, gid, home: f[5]!, shell: f[6]!, password });
  }
  return { users, skipped };
}

export function parseGroup(text: string, path = "/etc/group"): { groups: Group[]; skipped: Skip[] } {
  const skipped: Skip[] = [];
  const groups: Group[] = [];
  for (const { f, line } of lines(text, path, 4, skipped)) {
    if (!f[0] || !/^\d+$/.test(f[2]!)) {
      skipped.push({ path, line, reason: `malformed entry for \`${f[0]}\`` });
      continue;
    }
    groups.push({ name: f[0], gid: Number(f[2]), members: f[3]!.split(",").filter((m) => m !== "") });
  }
  return { groups, skipped };
}

export interface Accounts {
  users: User[];
  groups: Group[];
  userByUid: Map<number, User>;
}

export function read(roots: Pick<ProbeRoots, "etc">): ProbeResult<Accounts> {
  const passwdPath = join(roots.etc, "passwd");
  const groupPath = join(roots.etc, "group");
  let passwd: string;
  let group: string;
  try {
    passwd = readFileSync(passwdPath, "utf8");
  } catch (err) {
    return fromFsError(err, passwdPath);
  }
  try {
    group = readFileSync(groupPath, "utf8");
  } catch (err) {
    return fromFsError(err, groupPath);
  }
  const p = parsePasswd(passwd, passwdPath);
  const g = parseGroup(group, groupPath);
  const userByUid = new Map<number, User>();
  for (const u of p.users) if (!userByUid.has(u.uid)) userByUid.set(u.uid, u);
  return ok({ users: p.users, groups: g.groups, userByUid }, [...p.skipped, ...g.skipped]);
}

/** Everyone in a group: listed members and users whose primary group it is. */
export function membersOf(group: Group, users: User[]): string[] {
  const all = new Set(group.members);
  for (const u of users) if (u.gid === group.gid) all.add(u.name);
  return [...all].sort();
}

/** Accounts with uid 0 (root and any alias of it). */
export function superusers(users: User[]): string[] {
  return users.filter((u) => u.uid === 0).map((u) => u.name);
}

/** The uids of accounts for people (login.defs `UID_MIN`, `UID_MAX`); the others are system accounts. */
export interface UidRange {
  min: number;
  max: number;
}

/** shadow-utils' defaults, where login.defs does not say */
export const defaultUidRange: UidRange = { min: 1000, max: 60000 };

/** `UID_MIN` and `UID_MAX` from login.defs text: the last setting of each wins, as in shadow-utils' getdef. */
export function parseUidRange(text: string): UidRange {
  const range = { ...defaultUidRange };
  for (const raw of text.split("\n")) {
    const m = /^\s*(UID_MIN|UID_MAX)\s+(\d{1,10})\s*$/.exec(raw.replace(/\r$/, ""));
    if (m) range[m[1] === "UID_MIN" ? "min" : "max"] = Number(m[2]);
  }
  return range;
}

/** The uid range of /etc/login.defs; the defaults when it does not exist (a minimal container). */
export function readUidRange(roots: Pick<ProbeRoots, "etc">): ProbeResult<UidRange> {
  const path = join(roots.etc, "login.defs");
  try {
    return ok(parseUidRange(readFileSync(path, "utf8")));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return ok({ ...defaultUidRange }, [{ path, reason: "does not exist: UID_MIN 1000 and UID_MAX 60000 assumed" }]);
    return fromFsError(err, path);
  }
}
