// Where a native helper is found: build/Release one and then two directories above the module
// that asks (from the bundle's dist/chunks: dist/, then the package; from the sources: src/, then
// the checkout). A candidate that is not there is passed over without asking `require`, whose
// failure for a missing file costs about a millisecond of every run (the module search, then an
// error with its stack).
import { lstatSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The addon `file` (such as `safe_fs.node`) as required from the first candidate that has it, or why none could be. */
export function requireAddon<T>(file: string, fromUrl: string): { addon: T } | { failures: string } {
  const require = createRequire(fromUrl);
  const here = dirname(fileURLToPath(fromUrl));
  const errors: string[] = [];
  for (const up of ["..", "../.."]) {
    const path = join(here, up, "build/Release", file);
    try {
      // lstat throws for what require would have failed on too (ENOTDIR, ELOOP, EACCES): the
      // next candidate is tried then as well, and the callers get a reason, never an exception
      if (lstatSync(path, { throwIfNoEntry: false }) === undefined) {
        errors.push(`${path}: not found`);
        continue;
      }
      return { addon: require(path) as T };
    } catch (err) {
      errors.push(`${path}: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  return { failures: errors.join("; ") };
}
