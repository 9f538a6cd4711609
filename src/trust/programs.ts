// The programs root runs for a policy (a `command` promise's argv[0], a `process` promise's
// `start`) are code root runs, as the policy is: a program another user can change, or one
// reached through a link or a directory of theirs, lets them run anything as root. Root runs only
// programs under the rule it applies to its policy and state (strict-modes.ts): the program and
// every directory on the way root's and closed to others (sticky world-writable directories
// allowed on the way, as for policy). Run as another user, a program runs with that user's rights
// only, and is not judged.
import { accessSync, constants, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { judge, lstatOrUndefined, walk, type Rule } from "./strict-modes.js";

class ProgramRefusal extends Error {}

const RULE: Rule = { says: "as root, Covenant runs only programs no other user can change", error: (m) => new ProgramRefusal(m) };
const ELSEWHERE = "install the program where only root can write, such as /usr/local/sbin";

/** Why root may not run `program` (an absolute path), or undefined when it may. */
export function programRefusal(program: string): string | undefined {
  try {
    const at = walk(program, { of: `the program ${program}`, elsewhere: ELSEWHERE, sticky: true, rule: RULE });
    const st = lstatOrUndefined(at, RULE);
    // a program that does not exist, or is not a file, is for the exec to report (ENOENT, EACCES), as before
    if (st?.isFile()) judge(st, `the program ${program}`, (why) => (why === "owner" ? `read it through, then \`chown root:root ${program} && chmod go-w ${program}\`, or ${ELSEWHERE}` : `\`chmod go-w ${program}\``), false, RULE);
    return undefined;
  } catch (err) {
    if (err instanceof ProgramRefusal) return err.message;
    throw err;
  }
}

/**
 * Why root may not point a program at `dir` with `-R` (shadow-utils chroot there, and load the
 * NSS modules /etc/nsswitch.conf names from below it), or undefined when it may: `dir`, its
 * `etc` and every directory on the way root's and closed to others.
 */
export function chrootRefusal(dir: string): string | undefined {
  const fix = "keep the accounts in a directory only root can write";
  try {
    const etc = walk(join(dir, "etc"), { of: `the accounts under ${dir}`, elsewhere: fix, sticky: true, rule: RULE });
    for (const path of [dirname(etc), etc]) {
      const st = lstatOrUndefined(path, RULE);
      if (!st) return `${path} does not exist`;
      judge(st, `the directory ${path}`, (why) => (why === "owner" ? fix : `\`chmod go-w ${path}\``), false, RULE);
    }
    return undefined;
  } catch (err) {
    if (err instanceof ProgramRefusal) return err.message;
    throw err;
  }
}

/**
 * The first executable regular file named `name` in an absolute directory of `pathVar` (PATH), as
 * exec would find it; undefined when there is none. A relative PATH entry is passed over: it names
 * whatever the directory Covenant was started in holds.
 */
export function findOnPath(name: string, pathVar: string): string | undefined {
  for (const dir of pathVar.split(":")) {
    if (!dir.startsWith("/")) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

