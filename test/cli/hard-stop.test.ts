// The run's hard stop ends the process even when a promise holds the thread that runs
// JavaScript (stuck in the kernel), so no JavaScript timer could fire.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// arms the hard stop for 1 s, optionally lets another run's lock replace its own, then blocks
// its only thread for 20 s
const blocked = (stateDir: string, replaceLock: boolean) => `
import { writeFileSync } from "node:fs";
import { armHardStop } from "./src/cli/hard-stop.ts";
armHardStop(1000, () => {}).guardLock(${JSON.stringify(stateDir)});
if (${replaceLock}) writeFileSync(${JSON.stringify(join(stateDir, "run.lock"))}, '{"pid":3,"startTicks":4,"startedAt":"another run"}\\n');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000);
console.log("not stopped");
`;

function runBlocked(stateDir: string, replaceLock = false) {
  const started = Date.now();
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", blocked(stateDir, replaceLock)], { encoding: "utf8", timeout: 30_000 });
  return { ...r, ms: Date.now() - started };
}

describe("the run's hard stop", () => {
  it("exits with status 2 and says why while the thread is blocked, removing the run's own lock", () => {
    const state = mkdtempSync(join(tmpdir(), "covenant-stop-"));
    writeFileSync(join(state, "run.lock"), '{"pid":1,"startTicks":2,"startedAt":"x"}\n');
    const r = runBlocked(state);
    expect(r.status).toBe(2);
    expect(r.stdout).not.toContain("not stopped");
    expect(r.stderr).toContain("covenant run: still running 1s after start; stopped (exit 2)");
    expect(r.ms).toBeLessThan(10_000);
    expect(existsSync(join(state, "run.lock"))).toBe(false);
  });

  it("leaves a lock that is no longer its own", () => {
    const state = mkdtempSync(join(tmpdir(), "covenant-stop-"));
    writeFileSync(join(state, "run.lock"), '{"pid":1,"startTicks":2,"startedAt":"x"}\n');
    const r = runBlocked(state, true);
    expect(r.status).toBe(2);
    expect(readFileSync(join(state, "run.lock"), "utf8")).toContain("another run");
  });
});
