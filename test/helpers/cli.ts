// Running the built CLI as users do. `npm test` builds before testing; a test file run on its
// own builds once if there is no build yet. Tests never rebuild while others may be running it.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** the installed command: the launcher, which starts `check` and `fmt` from the startup snapshot */
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
