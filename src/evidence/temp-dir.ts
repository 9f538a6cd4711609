// A directory of one's own under the system's temporary directory ($TMPDIR, else /tmp), for the
// verifier's spill file and the fleet report's scratch files: mkdtemp (new, 0700, a name nobody
// could have taken). As root, the temporary directory and every directory and link on the way to
// it must be root's and closed to others, or world-writable with the sticky bit (as /tmp is): in a
// directory another user can write without it, they could rename root's new directory away and put
// a link in its place, and root would create its file, and write the report's text, where the link
// leads.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { judge, lstatOrUndefined, onTheWay, runningAsRoot, walk, type Rule } from "../trust/strict-modes.js";

export class TempDirError extends Error {}

const RULE: Rule = { says: "as root, Covenant makes its temporary files only where no other user can move them", error: (m) => new TempDirError(m) };

/** A new directory, 0700, under the temporary directory (judged first when running as root). */
export function privateTempDir(prefix: string): string {
  const base = tmpdir();
  if (!runningAsRoot()) return mkdtempSync(join(base, prefix));
  const elsewhere = "set TMPDIR to a directory only root can change, or unset it (/tmp)";
  const real = walk(base, { of: `the temporary directory ${base}`, elsewhere, sticky: true, rule: RULE });
  const st = lstatOrUndefined(real, RULE);
  if (!st?.isDirectory()) throw new TempDirError(`the temporary directory ${base} is not a directory: ${RULE.says}; fix: ${elsewhere}`);
  judge(st, `the temporary directory ${real}`, onTheWay(real, elsewhere), true, RULE);
  return mkdtempSync(join(real, prefix));
}
