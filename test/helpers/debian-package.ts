// The system's own tool a live cross-check compares Covenant with, installed from Debian when it
// is missing, so that the comparison runs on a clean machine (CI) instead of being skipped.
// As root only; argv only, never a shell; noninteractive; without recommends. Installing must
// start no daemon: Debian's maintainer scripts start services through invoke-rc.d unless
// /usr/sbin/policy-rc.d exits 101, so one is put there for the install when there is none (an
// existing one is left alone). Installs from several vitest workers take turns under a lock file
// of ours (the policy-rc.d one worker puts there must not be removed under another's install),
// and apt-get waits for dpkg's own lock rather than failing at once.
import { spawnSync } from "node:child_process";
import { chmodSync, closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { delimiter, join } from "node:path";

export const POLICY_RC_D = "/usr/sbin/policy-rc.d";
const INSTALL_LOCK = "/run/covenant-tests-apt.lock";
const LOCK_WAIT_MS = 600_000;
const APT_TIMEOUT_MS = 300_000;

/**
 * undefined when `binary` (a path, or a name looked up on PATH) is there, or was installed now
 * from Debian's package `pkg`; else why it is not there (not root, apt-get failed and what it said).
 */
export function ensureDebianTool(binary: string, pkg: string): string | undefined {
  if (findProgram(binary)) return undefined;
  if (process.getuid?.() !== 0) return `${binary} is missing and only root can install ${pkg}`;
  const lock = takeLock(INSTALL_LOCK, LOCK_WAIT_MS);
  if (typeof lock === "string") return `${binary} is missing and ${pkg} was not installed: ${lock}`;
  try {
    if (findProgram(binary)) return undefined; // another worker installed it while this one waited
    const failed = withServicesHeld(() => aptInstall(pkg));
    if (failed) return `apt-get install ${pkg} failed: ${failed}`;
    return findProgram(binary) ? undefined : `${pkg} is installed but ${binary} is not found${binary.includes("/") ? "" : ` on PATH (${process.env.PATH ?? ""})`}`;
  } finally {
    releaseLock(INSTALL_LOCK, lock);
  }
}

/**
 * Runs `fn` with a policy-rc.d that forbids starting services: one that exits 101 is created at
 * `path` when nothing is there (mode 0755, created exclusively: a link is never followed) and
 * removed afterwards; whatever was there already is neither changed nor removed.
 */
export function withServicesHeld<T>(fn: () => T, path = POLICY_RC_D): T {
  let created = false;
  try {
    writeFileSync(path, "#!/bin/sh\nexit 101\n", { flag: "wx", mode: 0o755 });
    created = true;
    chmodSync(path, 0o755); // the mode above is narrowed by the umask
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  try {
    return fn();
  } finally {
    if (created) rmSync(path, { force: true });
  }
}

/** undefined on success, else the last lines apt-get wrote to stderr. Updates the package lists once when the package is unknown (a fresh image has none). */
function aptInstall(pkg: string): string | undefined {
  const first = apt(["install", "-y", "-qq", "--no-install-recommends", "--", pkg]);
  if (first === undefined || !/Unable to locate package|has no installation candidate/.test(first)) return first;
  const update = apt(["update", "-qq"]);
  if (update !== undefined) return `${first}\n(apt-get update failed too: ${update})`;
  return apt(["install", "-y", "-qq", "--no-install-recommends", "--", pkg]);
}

function apt(args: string[]): string | undefined {
  const r = spawnSync("apt-get", ["-o", "DPkg::Lock::Timeout=120", ...args], { encoding: "utf8", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, timeout: APT_TIMEOUT_MS });
  if (r.status === 0) return undefined;
  const said = (r.stderr ?? "").trim().split("\n").slice(-5).join("\n");
  return said || r.error?.message || `exited with status ${r.status ?? r.signal}`;
}

/** The program's path: `binary` itself when it names a path, else the first executable of that name on PATH. */
export function findProgram(binary: string): string | undefined {
  if (binary.includes("/")) return existsSync(binary) ? binary : undefined;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, binary);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The lock file's descriptor, holding this process's pid; or why it could not be taken. A lock whose holder has died is taken over. */
function takeLock(path: string, waitMs: number): number | string {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, String(process.pid));
      return fd;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") return `cannot create ${path}: ${(err as Error).message}`;
    }
    const holder = holderOf(path);
    if (holder !== undefined && !alive(holder)) {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) return `${path} is still held by pid ${holder ?? "?"} after ${waitMs / 1000} s`;
    sleep(200);
  }
}

function releaseLock(path: string, lock: number | string): void {
  if (typeof lock === "string") return;
  closeSync(lock);
  rmSync(path, { force: true });
}

/** undefined while the holder has not yet written its pid (or the file is gone) */
function holderOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
