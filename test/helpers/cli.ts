// Running the built CLI as users do. `npm test` builds before testing; a test file run on its
// own builds once if there is no build yet. Tests never rebuild while others may be running it.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** the installed command: the launcher, which starts `check` and `fmt`, and `run`, from their start-up snapshots */
export const bin = join(process.cwd(), "bin/covenant");

export function ensureBuilt(): void {
  if (existsSync(join(process.cwd(), "dist/covenant.js")) && existsSync(join(process.cwd(), "dist/snapshot/node"))) return;
  const r = spawnSync(process.execPath, ["scripts/build.mjs"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
}

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

export function covenant(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  // start from the caller's environment without its colour settings, then apply the case's
  const { NO_COLOR: _n, FORCE_COLOR: _f, ...base } = process.env;
  const env = { ...base, ...opts.env };
  const r = spawnSync(bin, args, { cwd: opts.cwd ?? process.cwd(), env, encoding: "utf8", maxBuffer: 1 << 26 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * As `covenant`, without blocking: for runs that talk to servers the test itself runs (an SMTP
 * server in this process must answer while the run waits for it). `onStart` gets the child, to
 * kill it mid-run.
 */
export function covenantAsync(args: string[], opts: { cwd?: string; env?: Record<string, string>; onStart?: (child: import("node:child_process").ChildProcess) => void } = {}): Promise<CliResult> {
  const { NO_COLOR: _n, FORCE_COLOR: _f, ...base } = process.env;
  const env = { ...base, ...opts.env };
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: opts.cwd ?? process.cwd(), env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out: Buffer.concat(out).toString("utf8"), err: Buffer.concat(err).toString("utf8") }));
    opts.onStart?.(child);
  });
}
