// The change gate: every change Covenant makes to a host goes through here, and nowhere else.
// It honours --dry-run (report what would change, change nothing) and a sandbox's confinement
// (change nothing outside the sandbox's directory), and it runs programs only as argv arrays,
// never through a shell, so nothing observed on the host can become part of a command line.
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, fsyncSync, lchownSync, lstatSync, mkdirSync, openSync, readSync, realpathSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { basename, dirname, join, relative, resolve, isAbsolute } from "node:path";
import { readStat } from "../probes/processes.js";

export type Change =
  | { op: "chmod"; path: string; mode: number }
  | { op: "chown"; path: string; uid?: number; gid?: number; owner?: string; group?: string }
  /** replace the file's content with the approved copy, keeping its mode and owner */
  | { op: "restore"; path: string; from: string }
  | { op: "mkdir"; path: string; mode?: number }
  | { op: "systemctl"; verb: "start" | "restart" | "stop"; unit: string }
  /** start a program, detached; `uid`/`gid` to run it as another user (needs root) */
  | { op: "spawn"; argv: string[]; uid?: number; gid?: number; user?: string }
  /** terminate a process; `startTicks` guards against the pid having been reused since it was observed */
  | { op: "kill"; pid: number; startTicks: number; name: string }
  /** write a kernel parameter (path is the /proc/sys file) */
  | { op: "sysctl"; key: string; path: string; value: string };

export type ChangeStatus = "applied" | "planned" | "held" | "failed";

export interface ChangeRecord {
  change: Change;
  description: string;
  status: ChangeStatus;
  /** why a change failed or was held */
  detail?: string;
}

export interface GateOptions {
  dryRun: boolean;
  /** a sandbox: changes to files outside this directory, and to processes, services and the kernel, are held */
  confineTo?: string;
  /** how long to wait for a terminated process to exit before killing it (ms) */
  killGraceMs?: number;
  procRoot?: string;
  /** the systemctl program (tests put a stand-in first on PATH) */
  systemctl?: string;
}

export function describeChange(c: Change): string {
  switch (c.op) {
    case "chmod":
      return `chmod ${c.mode.toString(8).padStart(4, "0")} ${c.path}`;
    case "chown":
      return `chown ${c.owner ?? c.uid ?? ""}${c.gid !== undefined ? `:${c.group ?? c.gid}` : ""} ${c.path}`;
    case "restore":
      return `restore ${c.path} from the approved copy ${c.from}`;
    case "mkdir":
      return `mkdir ${c.mode !== undefined ? `-m ${c.mode.toString(8).padStart(4, "0")} ` : ""}${c.path}`;
    case "systemctl":
      return `systemctl ${c.verb} ${c.unit}`;
    case "spawn":
      return `start ${JSON.stringify(c.argv)}${c.user ? ` as ${c.user}` : ""}`;
    case "kill":
      return `terminate ${c.name} (pid ${c.pid})`;
    case "sysctl":
      return `sysctl ${c.key}=${c.value}`;
  }
}

export class ChangeGate {
  /** every change asked for in this run, in order */
  readonly log: ChangeRecord[] = [];

  constructor(readonly options: GateOptions) {}

  get dryRun(): boolean {
    return this.options.dryRun;
  }

  async apply(changes: Change[], signal?: AbortSignal): Promise<ChangeRecord[]> {
    const out: ChangeRecord[] = [];
    for (const change of changes) {
      const record: ChangeRecord = { change, description: describeChange(change), status: "planned" };
      const held = this.heldReason(change);
      if (signal?.aborted) {
        // the promise timed out: make no further change on its behalf
        record.status = "failed";
        record.detail = "not attempted: the promise's timeout expired";
      } else if (held) {
        record.status = "held";
        record.detail = held;
      } else if (!this.options.dryRun) {
        try {
          await this.perform(change, signal);
          record.status = "applied";
        } catch (err) {
          record.status = "failed";
          record.detail = (err as Error).message;
        }
      }
      out.push(record);
      this.log.push(record);
    }
    return out;
  }

  private heldReason(c: Change): string | undefined {
    const root = this.options.confineTo;
    if (root === undefined) return undefined;
    const paths = c.op === "chmod" || c.op === "chown" || c.op === "mkdir" ? [c.path] : c.op === "restore" ? [c.path, c.from] : undefined;
    if (!paths) return `the sandbox changes only files below ${root}`;
    // compare real paths: a symbolic link inside the sandbox must not lead a change outside it
    const realRoot = realpathSync(root);
    for (const p of paths) {
      const rel = relative(realRoot, realOf(p));
      if (rel.startsWith("..") || isAbsolute(rel)) return `${p} is outside the sandbox ${root}`;
    }
    return undefined;
  }

  private async perform(c: Change, signal?: AbortSignal): Promise<void> {
    switch (c.op) {
      case "chmod":
        return chmodNoFollow(c.path, c.mode);
      case "chown": {
        const st = lstatSync(c.path);
        lchownSync(c.path, c.uid ?? st.uid, c.gid ?? st.gid);
        return;
      }
      case "restore":
        return restore(c.path, c.from);
      case "mkdir":
        mkdirSync(c.path, { recursive: true, mode: c.mode ?? 0o755 });
        if (c.mode !== undefined) chmodNoFollow(c.path, c.mode);
        return;
      case "systemctl":
        return run([this.options.systemctl ?? "systemctl", c.verb, "--", c.unit], signal);
      case "spawn":
        return start(c.argv, c.uid, c.gid);
      case "kill":
        return terminate(c.pid, c.startTicks, this.options.procRoot ?? "/proc", this.options.killGraceMs ?? 5000, signal);
      case "sysctl":
        writeFileSync(c.path, c.value + "\n");
        return;
    }
  }
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest. */
function realOf(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(realOf(parent), basename(abs));
  }
}

const NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** chmod through a descriptor opened without following links: a link swapped in is refused. */
function chmodNoFollow(path: string, mode: number): void {
  let fd: number;
  try {
    fd = openSync(path, NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOOP") throw new Error(`${path} is a symbolic link; its mode is not changed`);
    throw err;
  }
  try {
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

/**
 * Atomic replacement: the approved copy is written to a new file of a random name beside the
 * target (created exclusively and never through a link), given the target's mode and owner,
 * flushed, and renamed over the target.
 */
function restore(path: string, from: string): void {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st?.isSymbolicLink()) throw new Error(`${path} is a symbolic link; its content is not replaced`);
  const tmp = join(dirname(path), `.${basename(path)}.covenant-${randomBytes(8).toString("hex")}`);
  const src = openSync(from, NOFOLLOW);
  let fd: number | undefined;
  try {
    if (!fstatSync(src).isFile()) throw new Error(`the approved copy ${from} is not a regular file`);
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    const buf = Buffer.allocUnsafe(1 << 16);
    for (;;) {
      const n = readSync(src, buf, 0, buf.length, null);
      if (n === 0) break;
      let off = 0;
      while (off < n) off += writeSync(fd, buf, off, n - off);
    }
    if (st) {
      fchownSync(fd, st.uid, st.gid);
      fchmodSync(fd, st.mode & 0o7777);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  } finally {
    closeSync(src);
  }
}

function run(argv: string[], signal?: AbortSignal): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const opts = signal ? { signal, timeout: 120_000 } : { timeout: 120_000 };
    execFile(argv[0]!, argv.slice(1), opts, (err, _stdout, stderr) => {
      if (!err) return resolvePromise();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return reject(new Error(`${argv[0]} is not installed`));
      const text = String(stderr).trim().split("\n")[0];
      reject(new Error(`${argv.slice(0, 2).join(" ")} exited with status ${(err as { code?: unknown }).code ?? "?"}${text ? `: ${text}` : ""}`));
    });
  });
}

/** Starts a detached program; fails if it cannot be started at all (missing, not executable). */
function start(argv: string[], uid?: number, gid?: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const opts: Parameters<typeof spawn>[2] = { detached: true, stdio: "ignore" };
    if (uid !== undefined) opts.uid = uid;
    if (gid !== undefined) opts.gid = gid;
    let child;
    try {
      child = spawn(argv[0]!, argv.slice(1), opts);
    } catch (err) {
      reject(err as Error);
      return;
    }
    child.once("error", (err) => reject(new Error(`cannot start ${argv[0]}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    child.once("spawn", () => {
      child.unref();
      resolvePromise();
    });
  });
}

/** SIGTERM, then SIGKILL after the grace period; never signals a pid that now belongs to another process. */
async function terminate(pid: number, startTicks: number, procRoot: string, graceMs: number, signal?: AbortSignal): Promise<void> {
  const same = () => readStat({ proc: procRoot }, pid)?.startTicks === startTicks;
  if (!same()) return; // already gone (or the pid was reused): nothing of ours to stop
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    const now = readStat({ proc: procRoot }, pid);
    if (now?.startTicks !== startTicks || now.state === "Z") return;
    if (signal?.aborted) throw new Error(`pid ${pid} ignored SIGTERM; not killed: the promise's timeout expired`);
  }
  if (same()) process.kill(pid, "SIGKILL");
}
