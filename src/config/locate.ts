// Where covenant.yaml is: the file named with --config; else, as root, the system's
// (/etc/covenant/covenant.yaml: a run from cron or systemd must not depend on its working
// directory); else ./covenant.yaml in the working directory. Nothing found: undefined, and
// notifications are off (`check` says so, W301).
import { lstatSync } from "node:fs";
import { resolve } from "node:path";

const SYSTEM_CONFIG = "/etc/covenant/covenant.yaml";
const LOCAL_CONFIG = "covenant.yaml";

function exists(path: string): boolean {
  try {
    // lstat: a link or a FIFO there is found, then refused by the loader with its reason
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The configuration to load, absolute; `explicit` is returned even when it does not exist (the loader says so). */
export function findConfig(opts: { explicit?: string; root: boolean; cwd: string }): string | undefined {
  if (opts.explicit !== undefined) return resolve(opts.cwd, opts.explicit);
  const candidate = opts.root ? SYSTEM_CONFIG : resolve(opts.cwd, LOCAL_CONFIG);
  return exists(candidate) ? candidate : undefined;
}

/** Where findConfig looked, for the message that says nothing was found. */
export function searchedFor(opts: { root: boolean; cwd: string }): string {
  return opts.root ? SYSTEM_CONFIG : resolve(opts.cwd, LOCAL_CONFIG);
}
