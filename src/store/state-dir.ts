// Where a host keeps its state: /var/lib/covenant as root, the XDG state directory otherwise,
// or what --state says. The directory holds the store, its host key and the run lock.
import { chmodSync, mkdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { operationalError } from "./errors.js";
import { keyKeptElsewhere } from "./host-key.js";
import { checkStateDirectory, checkStateFiles } from "./trust.js";

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): string {
  if (uid === 0) return "/var/lib/covenant";
  const xdg = env["XDG_STATE_HOME"];
  return join(xdg && xdg.startsWith("/") ? xdg : join(homedir(), ".local", "state"), "covenant");
}

/**
 * Creates the directory (owner-only: it holds the host key) and returns its absolute path. As
 * root, a directory (or a directory above it, or a file in it) that another user owns or can
 * write is refused first, with the fix: root must not use, or even chmod, state it did not make.
 */
export function ensureStateDir(dir: string): string {
  const abs = resolve(dir);
  checkStateDirectory(abs);
  try {
    mkdirSync(abs, { recursive: true, mode: 0o700 });
    checkStateDirectory(abs);
    checkStateFiles(abs, keyKeptElsewhere());
    if ((statSync(abs).mode & 0o777) !== 0o700) chmodSync(abs, 0o700);
  } catch (err) {
    throw operationalError(err, `cannot use the state directory ${abs}`) ?? err;
  }
  return abs;
}
