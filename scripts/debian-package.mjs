// A Debian package installed when a program or file it ships is missing: for the live
// cross-checks of the tests (test/helpers/debian-package.ts) and for the benchmarks
// (bench/lib.mjs), so that both run on a clean machine instead of being skipped. As root only;
// argv only, never a shell; noninteractive; without recommends; `--` before the package name.
// Installing must start no daemon: Debian's maintainer scripts start services through invoke-rc.d
// unless /usr/sbin/policy-rc.d exits 101, so one is put there for the install when there is none
// (an existing one is left alone). Installs from several processes (vitest workers) take turns
// under a lock file of ours (the policy-rc.d one puts there must not be removed under another's
// install), and apt-get waits for dpkg's own lock rather than failing at once.
import { spawnSync } from "node:child_process";
import { accessSync, chmodSync, closeSync, constants, existsSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { delimiter, join } from "node:path";

export const POLICY_RC_D = "/usr/sbin/policy-rc.d";
const INSTALL_LOCK = "/run/covenant-tests-apt.lock";
const LOCK_WAIT_MS = 600_000;
const APT_TIMEOUT_MS = 300_000;

/**
 * undefined when `binary` (a path, or a name looked up on PATH) is there, or was installed now
 * from Debian's package `pkg`; else why it is not there (not root, apt-get failed and what it said).
 * @param {string} binary
 * @param {string} pkg
 * @returns {string | undefined}
 */
export function ensureDebianTool(binary, pkg) {
  if (findProgram(binary)) return undefined;
  if (process.getuid?.() !== 0) return `${binary} is missing and only root can install ${pkg}`;
  const lock = takeLock(INSTALL_LOCK, LOCK_WAIT_MS);
  if (typeof lock === "string") return `${binary} is missing and ${pkg} was not installed: ${lock}`;
  try {
    if (findProgram(binary)) return undefined; // another process installed it while this one waited
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
 * @template T
 * @param {() => T} fn
 * @param {string} [path]
 * @returns {T}
 */
export function withServicesHeld(fn, path = POLICY_RC_D) {
  let created = false;
  try {
    writeFileSync(path, "#!/bin/sh\nexit 101\n", { flag: "wx", mode: 0o755 });
    created = true;
    chmodSync(path, 0o755); // the mode above is narrowed by the umask
  } catch (err) {
    if (err.code !== "EEXIST") throw err;
  }
  try {
    return fn();
  } finally {
    if (created) rmSync(path, { force: true });
  }
}

/** undefined on success, else the last lines apt-get wrote to stderr. Updates the package lists once when the package is unknown (a fresh image has none). */
function aptInstall(pkg) {
  const first = apt(["install", "-y", "-qq", "--no-install-recommends", "--", pkg]);
  if (first === undefined || !/Unable to locate package|has no installation candidate/.test(first)) return first;
  const update = apt(["update", "-qq"]);
  if (update !== undefined) return `${first}\n(apt-get update failed too: ${update})`;
  return apt(["install", "-y", "-qq", "--no-install-recommends", "--", pkg]);
}

function apt(args) {
  const r = spawnSync("apt-get", ["-o", "DPkg::Lock::Timeout=120", ...args], { encoding: "utf8", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, timeout: APT_TIMEOUT_MS });
  if (r.status === 0) return undefined;
  const said = (r.stderr ?? "").trim().split("\n").slice(-5).join("\n");
  return said || r.error?.message || `exited with status ${r.status ?? r.signal}`;
}

/**
 * The program's path: `binary` itself when it names a path (which exists), else the first
 * executable regular file of that name on PATH, as the shell's `command -v` finds it.
 * @param {string} binary
 * @returns {string | undefined}
 */
export function findProgram(binary) {
  if (binary.includes("/")) return existsSync(binary) ? binary : undefined;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not there, or not executable: the next directory
    }
  }
  return undefined;
}

/** The lock file's descriptor, holding this process's pid; or why it could not be taken. A lock whose holder has died is taken over. */
function takeLock(path, waitMs) {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, String(process.pid));
      return fd;
    } catch (err) {
      if (err.code !== "EEXIST") return `cannot create ${path}: ${err.message}`;
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

function releaseLock(path, lock) {
  if (typeof lock === "string") return;
  closeSync(lock);
  rmSync(path, { force: true });
}

/** undefined while the holder has not yet written its pid (or the file is gone) */
function holderOf(path) {
  try {
    const pid = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
