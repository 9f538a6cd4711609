// As root, `run` runs only policy that no other user can change: a policy is code root runs (its
// `command` promises are run as root, its repairs change files as root), so a file another user
// can write lets them run anything as root. The rule is the one root applies to its state
// (src/trust/strict-modes.ts, after sshd's StrictModes): every policy file (named, found in a
// policy directory, or imported), every directory from its policy directory down to it, and each
// policy directory (named on the command line, holding a named file, or given with --include)
// must be owned by root and not writable by group or others. The directories above a policy
// directory may be world-writable with the sticky bit, as /tmp is: there, others can neither
// rename nor remove root's entries, and the policy directory below it must be root's itself.
import type { Stats } from "node:fs";
import { dirname } from "node:path";
import { judge, kindOf, lstatOrUndefined, walk, type Refusal, type Rule } from "../trust/strict-modes.js";

class PolicyTrustError extends Error {}

const RULE: Rule = { says: "as root, Covenant runs only policy that no other user can change", error: (m) => new PolicyTrustError(m) };
const ELSEWHERE = "keep the policy in a directory only root can write, such as /etc/covenant";

// Another user's file or directory may hold anything they wrote: it is to be read before root
// adopts it. Root's own, left writable, may have been changed by others too.
const fileFix = (path: string) => (why: Refusal) =>
  why === "owner" ? `read it through (its owner may have changed it), then \`chown root:root ${path} && chmod go-w ${path}\`` : `read it through (others may have changed it), then \`chmod go-w ${path}\``;
const directoryFix = (path: string) => (why: Refusal) =>
  why === "owner" ? `check what is in it, then \`chown root:root ${path} && chmod go-w ${path}\`, or ${ELSEWHERE}` : `\`chmod go-w ${path}\`, or ${ELSEWHERE}`;

/** The reason root may not use it, from a refusal thrown by the rule. */
function refusal(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    if (err instanceof PolicyTrustError) return err.message;
    throw err;
  }
}

export class PolicyTrust {
  /** each directory judged once: why it is refused, or undefined */
  private readonly judged = new Map<string, string | undefined>();

  /**
   * Why root may not follow `path` as given on the command line (a policy file or directory, or
   * an --include): a link on the way that another user owns decides where it leads, and so which
   * file root reads and runs; a directory on the way that others can write lets them swap what
   * follows. Each link and directory is judged where it is (strict-modes.ts walk).
   */
  path(path: string, what: string): string | undefined {
    return refusal(() => void walk(path, { of: what, elsewhere: ELSEWHERE, sticky: true, rule: RULE }));
  }

  /** Why root may not read what lies below the policy directory `root`: it, or a directory between it and `real`, is refused. Judged before the file is opened. */
  directories(real: string, root: string): string | undefined {
    const why = this.directory(root);
    if (why) return why;
    const between: string[] = [];
    // below `--include /`, every directory from / down is between (`${root}/` would be `//`)
    const below = root === "/" ? "/" : `${root}/`;
    for (let d = dirname(real); d !== root && d.startsWith(below); d = dirname(d)) between.unshift(d);
    for (const d of between) {
      if (!this.judged.has(d)) this.judged.set(d, refusal(() => this.closed(d, `the directory ${d}, in the policy directory ${root},`)));
      const why = this.judged.get(d);
      if (why) return why;
    }
    return undefined;
  }

  /** Why root may not use the policy directory `root` (a real path) or a directory above it. */
  directory(root: string): string | undefined {
    if (this.judged.has(root)) return this.judged.get(root);
    const why = refusal(() => {
      walk(root, { of: `the policy directory ${root}`, elsewhere: ELSEWHERE, sticky: true, rule: RULE });
      this.closed(root, `the policy directory ${root}`);
    });
    this.judged.set(root, why);
    return why;
  }

  /**
   * Why root may not use the policy file `real` (a real path below the policy directory `root`),
   * opened as `st`: the file, judged on its descriptor, and every directory between.
   */
  file(real: string, root: string, st: Stats): string | undefined {
    const why = this.directories(real, root);
    if (why) return why;
    return refusal(() => judge(st, `the policy file ${real}`, fileFix(real), false, RULE));
  }

  /** A directory holding policy: root's and closed, the sticky bit no excuse (others could add files to it). */
  private closed(path: string, what: string): void {
    const st = lstatOrUndefined(path, RULE);
    if (!st) throw RULE.error(`${what} cannot be examined (ENOENT)`);
    if (!st.isDirectory()) throw RULE.error(`${what} is ${kindOf(st)}, not a directory`);
    judge(st, what, directoryFix(path), false, RULE);
  }
}
