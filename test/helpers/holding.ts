// A real process holding a file open, for the tests of who holds a file (test/probes/fd-scan.test.ts,
// test/probes/file-holders-overlay.test.ts, test/watch/who.test.ts): `sleep 60` whose standard
// input (descriptor 0) is the file, opened here read-only and handed over.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";

/**
 * Starts `sleep 60` holding `file` as its descriptor 0, once it runs; it is added to `children`
 * for the caller to end. It leads a process group of its own (`process.kill(-pid)` ends it and
 * anything it started).
 */
export async function holding(file: string, children: ChildProcess[]): Promise<ChildProcess> {
  const fd = openSync(file, "r");
  const child = spawn("sleep", ["60"], { stdio: [fd, "ignore", "ignore"], detached: true });
  closeSync(fd);
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", reject);
  });
  return child;
}
