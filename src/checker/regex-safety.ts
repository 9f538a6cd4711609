// Whether a regular expression written in a policy can be applied to text an attacker writes
// without stalling Covenant. Secret patterns (`mask`) run on every line of a changed file and on
// every argument of a process at a watched file; a JavaScript regular expression such as `(a+)+`
// or even `a+a+a*` takes time exponential or polynomial in the length of a line made for it
// (seconds to hours on 4,096 characters). So a site's patterns run on RE2's engine (re2js, pure
// JavaScript), whose time is linear in the line whatever the pattern: what it cannot run
// (lookaround, backreferences) is refused here, at check time, with RE2's reason.
import { RE2JS } from "re2js";

/** Why `source` cannot run on the linear-time engine, or undefined when it can. */
export function linearTimeProblem(source: string): string | undefined {
  try {
    RE2JS.compile(source);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^error parsing regexp: /, "");
  }
}
