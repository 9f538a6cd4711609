// One temporary directory per test run, removed when the run ends: the suite's thousands of
// mkdtemp directories (policies, state stores, sandboxes) go there through TMPDIR, which the
// forked workers and the commands they start inherit, instead of piling up in /tmp. Root's own
// and closed to others' writes (0755), so the trust rules judge the directories below it, not it.
import { mkdtempSync, chmodSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "covenant-tests-"));
  chmodSync(dir, 0o755);
  process.env["TMPDIR"] = dir;
  return () => {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) {
      // a mount or an immutable file a failed test left behind: say so, and leave the rest
      process.stderr.write(`test teardown: ${dir} not wholly removed: ${(err as Error).message}\n`);
    }
  };
}
