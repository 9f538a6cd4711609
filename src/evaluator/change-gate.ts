// The change gate: every change Covenant makes to a host goes through here, and nowhere else.
// It honours --dry-run (report what would change, change nothing) and a sandbox's confinement
// (change nothing outside the sandbox's directory), and it runs programs only as argv arrays,
// never through a shell, so nothing observed on the host can become part of a command line.
import { execFile, spawn } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, fsyncSync, lchownSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve, isAbsolute } from "node:path";
import { parseStat } from "../probes/processes.js";

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
      if (held) {
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
    for (const p of paths) {
      const rel = relative(resolve(root), resolve(p));
      if (rel.startsWith("..") || isAbsolute(rel)) return `${p} is outside the sandbox ${root}`;
    }
    return undefined;
  }

  private async perform(c: Change, signal?: AbortSignal): Promise<void> {
    switch (c.op) {
      case "chmod":
        if (lstatSync(c.path).isSymbolicLink()) throw new Error(`${c.path} is a symbolic link; its mode cannot be changed`);
        chmodSync(c.path, c.mode);
        return;
      case "chown": {
        const st = lstatSync(c.path);
        lchownSync(c.path, c.uid ?? st.uid, c.gid ?? st.gid);
        return;
      }
      case "restore":
        return restore(c.path, c.from);
      case "mkdir":
        mkdirSync(c.path, { recursive: true, mode: c.mode ?? 0o755 });
        if (c.mode !== undefined) chmodSync(c.path, c.mode);
        return;
      case "systemctl":
        return run([this.options.systemctl ?? "systemctl", c.verb, "--", c.unit], signal);
      case "spawn":
        return start(c.argv, c.uid, c.gid);
      case "kill":
        return terminate(c.pid, c.startTicks, this.options.procRoot ?? "/proc", this.options.killGraceMs ?? 5000);
      case "sysctl":
        writeFileSync(c.path, c.value + "\n");
        return;
    }
  }
}

/** Atomic replacement: copy beside the file, give it the file's mode and owner, flush, rename. */
function restore(path: string, from: string): void {
  const st = lstatSync(path, { throwIfNoEntry: false });
  const tmp = join(dirname(path), `.${basename(path)}.covenant-${process.pid}`);
  try {
    copyFileSync(from, tmp);
    if (st) {
      chmodSync(tmp, st.mode & 0o7777);
      lchownSync(tmp, st.uid, st.gid);
    }
    const fd = openSync(tmp, "r+");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
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

function startTicksOf(procRoot: string, pid: number): number | undefined {
  try {
    return parseStat(readFileSync(join(procRoot, String(pid), "stat"), "utf8"))?.startTicks;
  } catch {
    return undefined;
  }
}

/** SIGTERM, then SIGKILL after the grace period; never signals a pid that now belongs to another process. */
async function terminate(pid: number, startTicks: number, procRoot: string, graceMs: number): Promise<void> {
  const same = () => startTicksOf(procRoot, pid) === startTicks;
  if (!same()) return; // already gone (or the pid was reused): nothing of ours to stop
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    if (!same() || isZombie(procRoot, pid)) return;
  }
  if (same()) process.kill(pid, "SIGKILL");
}

function isZombie(procRoot: string, pid: number): boolean {
  try {
    return parseStat(readFileSync(join(procRoot, String(pid), "stat"), "utf8"))?.state === "Z";
  } catch {
    return false;
  }
}
