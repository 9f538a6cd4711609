// `covenant run --lock-wait`: a run that finds the lock held waits for it a bounded time (by
// default the watcher's, never another run's), then runs, or fails as it always has (exit 2,
// naming the holder). The holders are real processes taking the real lock.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { covenant, covenantAsync, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

/** A policy of one kept file, and a state directory for it. */
function scene(): { policy: string; state: string } {
  const dir = mkdtempSync(join(tmpdir(), "covenant-lockwait-"));
  const file = join(dir, "gl.dat");
  writeFileSync(file, "entry\n", { mode: 0o640 });
  const policy = join(dir, "p.promise");
  writeFileSync(policy, `control "C-1" {\n  title = "ledger"\n  file "${file}" { mode = 0640 }\n}\n`);
  const state = join(dir, "state");
  mkdirSync(state, { mode: 0o700 });
  return { policy, state };
}

/**
 * Another process that takes the lock as `kind` (through the store's own code), says so, and
 * lets go after `holdMs` (never, when undefined). Resolves once it holds the lock.
 */
async function holder(state: string, kind: "run" | "watch", holdMs?: number): Promise<{ child: ChildProcess; pid: number }> {
  const script = `
    import { acquireRunLock } from "./src/store/run-lock.ts";
    const lock = acquireRunLock(process.argv[1], "/proc", process.argv[2]);
    if (!lock.ok) process.exit(9);
    process.stdout.write("held\\n");
    const hold = Number(process.argv[3]);
    if (hold >= 0) setTimeout(() => { lock.release(); process.exit(0); }, hold);
    else setInterval(() => {}, 60_000);`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, state, kind, String(holdMs ?? -1)], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`the holder exited (${code}) before holding the lock`)));
  });
  return { child, pid: child.pid! };
}

describe("covenant run --lock-wait", () => {
  it("waits for the watcher by default, and runs once it lets go", async () => {
    const s = scene();
    const h = await holder(s.state, "watch", 1_000);
    const start = Date.now();
    const r = await covenantAsync(["run", "--state", s.state, s.policy]);
    const took = Date.now() - start;
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(took).toBeGreaterThan(600);
    expect(r.out).toMatch(new RegExp(`note: waited \\d+\\.\\ds for the run lock, held by the watcher \\(pid ${h.pid}, started `));
    expect(covenant(["history", "--state", s.state]).out).toContain("run 1: 1 promise tested");
  });

  it("a watcher that never lets go: the run fails once its wait is over, naming it", async () => {
    const s = scene();
    const h = await holder(s.state, "watch");
    const start = Date.now();
    const r = await covenantAsync(["run", "--lock-wait", "1s", "--state", s.state, s.policy]);
    const took = Date.now() - start;
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`^covenant run: the watcher \\(pid ${h.pid}, started [^)]+\\) holds the lock on ${s.state} \\(waited 1\\.\\ds, --lock-wait\\); not running twice\\n$`));
    expect(took).toBeGreaterThan(900);
    expect(took).toBeLessThan(10_000);
  });

  it("another run is not waited for unless asked: at once by default, up to --lock-wait when given", async () => {
    const s = scene();
    const h = await holder(s.state, "run", 3_000);
    const start = Date.now();
    const blocked = await covenantAsync(["run", "--state", s.state, s.policy]);
    expect(blocked.code).toBe(2);
    expect(blocked.err).toContain(`covenant run: another run (pid ${h.pid}, started `);
    expect(blocked.err).not.toContain("waited");
    // no wait at all: long before the holder lets go
    expect(Date.now() - start).toBeLessThan(2_500);
    const waited = await covenantAsync(["run", "--lock-wait", "30s", "--state", s.state, s.policy]);
    expect(waited.err).toBe("");
    expect(waited.code).toBe(0);
    expect(waited.out).toContain(`held by another run (pid ${h.pid}, started `);
  });

  it("--lock-wait 0 does not wait even for the watcher", async () => {
    const s = scene();
    const h = await holder(s.state, "watch");
    const start = Date.now();
    const r = await covenantAsync(["run", "--lock-wait", "0", "--state", s.state, s.policy]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`covenant run: the watcher (pid ${h.pid}, started `);
    expect(r.err).not.toContain("waited");
    expect(Date.now() - start).toBeLessThan(10_000);
  });

  it("a wait that is not a duration from 0 to 1h is refused before anything runs", () => {
    const s = scene();
    for (const bad of ["forever", "-1s", "2h", ""]) {
      const r = covenant(["run", "--lock-wait", bad, "--state", s.state, s.policy]);
      expect(r.code, bad).toBe(2);
      expect(r.err).toContain(`covenant run: --lock-wait wants a duration from 0s to 1h, such as 0, 30s or 2m, got \``);
    }
  });
});
