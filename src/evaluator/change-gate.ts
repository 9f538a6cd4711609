// The change gate: every change Covenant makes to a host goes through here, and nowhere else.
// It honours --dry-run (report what would change, change nothing) and a sandbox's confinement
// (change nothing outside the sandbox's directory), and it runs programs only as argv arrays,
// never through a shell, so nothing observed on the host can become part of a command line.
import { chrootRefusal, findOnPath, programRefusal } from "../trust/programs.js";
import { runningAsRoot } from "../trust/strict-modes.js";
import { closeSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import { resolve } from "node:path";
import { readStat } from "../probes/processes.js";
import { safeFs } from "../native/safe-fs.js";
import { childProcess } from "../native/builtins-on-use.js";
import type { SpawnOptions } from "node:child_process";
import { ChangeRefused, FileChanges, type ChangeGuard, type Identity, type RestoreTarget } from "./file-changes.js";
import { applyLineEdit, describeLineEdit, replaceObservedFile, type LineEditChange } from "./line-edit.js";
import { applyPackageChange, describePackageChange, type PackageChange } from "./package-changes.js";
import { applyPluginChange, type PluginChange } from "./plugin-changes.js";

export type Change =
  | ({ op: "chmod"; path: string; mode: number } & ChangeGuard)
  | ({ op: "chown"; path: string; uid?: number; gid?: number; owner?: string; group?: string } & ChangeGuard)
  /** replace the file's content with the approved copy; mode and owner as promised, else the approved copy's */
  | ({ op: "restore"; path: string; from: string; owner?: string; group?: string } & ChangeGuard & RestoreTarget)
  /** create a missing directory (and its missing parents), with the promised mode, owner and group */
  | { op: "mkdir"; path: string; mode?: number; uid?: number; gid?: number; owner?: string; group?: string }
  | { op: "systemctl"; verb: "start" | "restart" | "stop"; unit: string }
  /** start a program, detached; `uid`/`gid` to run it as another user (needs root) */
  | { op: "spawn"; argv: string[]; uid?: number; gid?: number; user?: string }
  /** terminate a process; `startTicks` guards against the pid having been reused since it was observed */
  | { op: "kill"; pid: number; startTicks: number; name: string }
  /** write a kernel parameter (path is the /proc/sys file) */
  | { op: "sysctl"; key: string; path: string; value: string }
  /** write a file of Covenant's own (a drop-in it keeps), replacing the one observed there (`expect`) or creating it */
  | ({ op: "write"; path: string; content: string; mode: number } & ChangeGuard)
  /** rewrite an existing file with an edit of it (a `config` repair: values changed in place, lines added or taken out), keeping its mode and owner; only while it is the file observed (`expect`) holding the bytes observed (`digest`, sha256), as `edit-lines` (line-edit.ts) */
  | { op: "edit"; path: string; content: string; digest: string; summary: string; expect: Identity }
  /** unload a kernel module: `modprobe -r -- module` */
  | { op: "modprobe-remove"; module: string }
  /** change a local account with shadow-utils (argv: program, `-R root` when the accounts are not the host's /etc, args, `--`, user) */
  | AccountChange
  /** install or remove packages through the package manager (package-changes.ts) */
  | PackageChange
  /** a minimal edit of a text file: remove lines, append lines (line-edit.ts) */
  | LineEditChange
  /** ask a site's plugin to repair a promise of its type (plugin-changes.ts) */
  | PluginChange;

/** `usermod`/`chage` options for one account; `root` is the directory holding the `etc` whose accounts are changed */
export interface AccountChange {
  op: "account";
  program: "chage" | "usermod";
  args: string[];
  user: string;
  root?: string;
}

/** The argv of an account change: the user after `--`, so no name can be read as an option. */
export function accountArgv(c: AccountChange): string[] {
  return [c.program, ...(c.root !== undefined ? ["-R", c.root] : []), ...c.args, "--", c.user];
}

/**
 * applied: done; planned: a dry run's; held: not attempted (outside a sandbox, a hard-linked
 * file); failed: attempted and refused or not done; skipped: nothing left to do when the gate
 * came to it (a process to stop had already exited, or its pid now belongs to another process).
 */
export type ChangeStatus = "applied" | "planned" | "held" | "failed" | "skipped";

export interface ChangeRecord {
  change: Change;
  description: string;
  status: ChangeStatus;
  /** why a change failed, was held or skipped */
  detail?: string;
}

/** What performing a change came to, when it was not simply applied (or was, with what it did: a plugin's own account). */
type Outcome = { status: "skipped" | "applied"; detail: string } | undefined | void;

export interface GateOptions {
  dryRun: boolean;
  /** a sandbox: changes to files outside this directory, and to processes, services and the kernel, are held */
  confineTo?: string;
  /** how long to wait for a terminated process to exit before killing it (ms) */
  killGraceMs?: number;
  procRoot?: string;
  /** the systemctl program (tests put a stand-in first on PATH) */
  systemctl?: string;
  /** the modprobe program (tests put a stand-in first on PATH) */
  modprobe?: string;
  /** asked before each change: a reason to hold every change from now on (the run's store failed) */
  hold?: () => string | undefined;
}

export function describeChange(c: Change): string {
  switch (c.op) {
    case "chmod":
      return `chmod ${c.mode.toString(8).padStart(4, "0")} ${c.path}`;
    case "chown":
      return `chown ${c.owner ?? c.uid ?? ""}${c.gid !== undefined ? `:${c.group ?? c.gid}` : ""} ${c.path}`;
    case "restore":
      return `restore ${c.path} from the approved copy ${c.from}${ownership(c)}`;
    case "mkdir":
      return `mkdir ${c.mode !== undefined ? `-m ${c.mode.toString(8).padStart(4, "0")} ` : ""}${c.path}${ownership(c)}`;
    case "systemctl":
      return `systemctl ${c.verb} ${c.unit}`;
    case "spawn":
      return `start ${JSON.stringify(c.argv)}${c.user ? ` as ${c.user}` : ""}`;
    case "kill":
      return `terminate ${c.name} (pid ${c.pid})`;
    case "sysctl":
      return `sysctl ${c.key}=${c.value}`;
    case "write":
      return `write ${c.path} (mode ${c.mode.toString(8).padStart(4, "0")}, ${c.content.split("\n").filter((l) => l !== "").length} lines)`;
    case "edit":
      return `edit ${c.path}: ${c.summary}`;
    case "modprobe-remove":
      return `modprobe -r ${c.module}`;
    case "account":
      return accountArgv(c).join(" ");
    case "package":
      return describePackageChange(c);
    case "edit-lines":
      return describeLineEdit(c);
    case "plugin":
      return `ask the plugin for \`${c.type}\` to repair ${typeof c.request.promiser === "string" ? c.request.promiser : "the promise"}`;
  }
}

/** ", mode 0640, owner ledger:finance" for a change that creates a file or directory. */
function ownership(c: { mode?: number | undefined; owner?: string | undefined; group?: string | undefined; uid?: number | undefined; gid?: number | undefined; op: string }): string {
  const parts: string[] = [];
  if (c.op === "restore" && c.mode !== undefined) parts.push(`mode ${c.mode.toString(8).padStart(4, "0")}`);
  const user = c.owner ?? (c.uid !== undefined ? String(c.uid) : undefined);
  const group = c.group ?? (c.gid !== undefined ? String(c.gid) : undefined);
  if (user !== undefined || group !== undefined) parts.push(`owner ${user ?? ""}${group !== undefined ? `:${group}` : ""}`);
  return parts.length > 0 ? `, ${parts.join(", ")}` : "";
}

export class ChangeGate {
  /** every change asked for in this run, in order */
  readonly log: ChangeRecord[] = [];
  private readonly files: FileChanges;

  constructor(readonly options: GateOptions) {
    this.files = new FileChanges(options.confineTo);
  }

  /** Lets go of the descriptors the gate keeps (the sandbox's root). */
  close(): void {
    this.files.close();
  }

  get dryRun(): boolean {
    return this.options.dryRun;
  }

  /**
   * Makes the changes in order and returns their records. Each record is also appended to
   * `records` (the caller's list) before its change is attempted, and updated when it is done:
   * a promise whose timeout expires mid-change still reports, and records in its history, what
   * was being done ("in progress when the promise's timeout expired" until it completes).
   */
  async apply(changes: Change[], signal?: AbortSignal, records: ChangeRecord[] = []): Promise<ChangeRecord[]> {
    const out: ChangeRecord[] = [];
    for (const change of changes) {
      const record: ChangeRecord = { change, description: describeChange(change), status: "planned" };
      out.push(record);
      records.push(record);
      this.log.push(record);
      const held = this.heldReason(change);
      if (signal?.aborted) {
        // the promise timed out: make no further change on its behalf
        record.status = "failed";
        record.detail = "not attempted: the promise's timeout expired";
      } else if (held) {
        record.status = "held";
        record.detail = held;
      } else if (!this.options.dryRun) {
        record.status = "failed";
        record.detail = "in progress when the promise's timeout expired";
        try {
          const outcome = await this.perform(change, signal);
          record.status = outcome?.status ?? "applied";
          if (outcome) record.detail = outcome.detail;
          else delete record.detail;
        } catch (err) {
          record.status = err instanceof ChangeRefused ? err.status : "failed";
          record.detail = (err as Error).message;
        }
      }
    }
    return out;
  }

  /**
   * Why a change is held: every change once the run can no longer record them (its store
   * failed); from a sandbox, files outside it, and processes, services and the kernel.
   */
  private heldReason(c: Change): string | undefined {
    const stopped = this.options.hold?.();
    if (stopped) return stopped;
    const root = this.options.confineTo;
    if (root === undefined) return undefined;
    const paths = c.op === "chmod" || c.op === "chown" || c.op === "mkdir" || c.op === "write" || c.op === "edit-lines" || c.op === "edit" ? [c.path] : c.op === "restore" ? [c.path, c.from] : undefined;
    if (!paths) return `the sandbox changes only files below ${root}`;
    // judged on the path as written here; below the sandbox the kernel refuses any link
    // (file-changes.ts), so no link inside it can lead a change outside
    const top = resolve(root);
    for (const p of paths) {
      const abs = resolve(p);
      if (abs !== top && !abs.startsWith(top + "/")) return `${p} is outside the sandbox ${root}`;
    }
    return undefined;
  }

  private async perform(c: Change, signal?: AbortSignal): Promise<Outcome> {
    switch (c.op) {
      case "chmod":
        return this.files.chmod(c.path, c.mode, c);
      case "chown":
        return this.files.chown(c.path, c.uid, c.gid, c);
      case "restore":
        return this.files.restore(c.path, c.from, c, c);
      case "mkdir":
        return this.files.mkdir(c.path, c.mode, c.uid, c.gid);
      case "systemctl":
        return run([this.options.systemctl ?? "systemctl", c.verb, "--", c.unit], signal);
      case "spawn":
        return start(c.argv, c.uid, c.gid);
      case "kill":
        return terminate(c.pid, c.startTicks, this.options.procRoot ?? "/proc", this.options.killGraceMs ?? 5000, signal);
      case "sysctl":
        writeFileSync(c.path, c.value + "\n");
        return;
      case "write":
        return this.files.write(c.path, c.content, c.mode, c);
      case "edit":
        return replaceObservedFile(this.files, c.path, c.expect, c.digest, () => Buffer.from(c.content, "utf8"));
      case "modprobe-remove":
        return run([this.options.modprobe ?? "modprobe", "-r", "--", c.module], signal);
      case "account":
        return runAccountTool(accountArgv(c), c.root, signal);
      case "package":
        // not given the promise's signal: a package manager stopped half-way leaves dpkg's database broken
        return applyPackageChange(c);
      case "edit-lines":
        return applyLineEdit(this.files, c);
      case "plugin":
        return applyPluginChange(c, signal);
    }
  }
}

function run(argv: string[], signal?: AbortSignal): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const opts = signal ? { signal, timeout: 120_000 } : { timeout: 120_000 };
    childProcess().execFile(argv[0]!, argv.slice(1), opts, (err, _stdout, stderr) => {
      if (!err) return resolvePromise();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return reject(new Error(`${argv[0]} is not installed`));
      const text = String(stderr).trim().split("\n")[0];
      reject(new Error(`${argv.slice(0, 2).join(" ")} exited with status ${(err as { code?: unknown }).code ?? "?"}${text ? `: ${text}` : ""}`));
    });
  });
}

/**
 * Runs usermod or chage, found on PATH as systemctl is; as root, only one no other user can
 * change (trust/programs.ts), since it rewrites /etc/shadow, and with `-R` only into a directory
 * no other user can change, since the tool runs chrooted there.
 */
function runAccountTool(argv: string[], root: string | undefined, signal?: AbortSignal): Promise<void> {
  const program = findOnPath(argv[0]!, process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin");
  if (!program) return Promise.reject(new Error(`${argv[0]} is not installed (not found on PATH)`));
  const refused = runningAsRoot() ? (programRefusal(program) ?? (root !== undefined ? chrootRefusal(root) : undefined)) : undefined;
  if (refused) return Promise.reject(new Error(`${program} was not run: ${refused}`));
  return run([program, ...argv.slice(1)], signal);
}

/** Starts a detached program; fails if it cannot be started at all (missing, not executable). */
function start(argv: string[], uid?: number, gid?: number): Promise<void> {
  // as root, a program another user can change is not started (trust/programs.ts)
  const refused = runningAsRoot() && (uid === undefined || uid === 0) ? programRefusal(argv[0]!) : undefined;
  if (refused) return Promise.reject(new Error(`${argv[0]} was not started: ${refused}`));
  return new Promise((resolvePromise, reject) => {
    const opts: SpawnOptions = { detached: true, stdio: "ignore" };
    if (uid !== undefined) opts.uid = uid;
    if (gid !== undefined) opts.gid = gid;
    let child;
    try {
      child = childProcess().spawn(argv[0]!, argv.slice(1), opts);
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

/**
 * SIGTERM, then SIGKILL after the grace period; never signals a pid that now belongs to another
 * process. A process already gone, or whose pid was reused, is `skipped`: nothing was done. The
 * process is held by a pidfd opened before its start time is checked, and signalled through it,
 * so that the pid being reused between the check and the signal cannot redirect it.
 */
async function terminate(pid: number, startTicks: number, procRoot: string, graceMs: number, signal?: AbortSignal): Promise<Outcome> {
  if (resolve(procRoot) !== "/proc") throw new Error(`processes are observed through ${procRoot}, which may be another pid namespace: pid ${pid} is not signalled from here`);
  const target = openProcess(pid);
  if (!target) return { status: "skipped", detail: `pid ${pid} had already exited; nothing was signalled` };
  try {
    const now = readStat({ proc: procRoot }, pid);
    if (!now) return { status: "skipped", detail: `pid ${pid} had already exited; nothing was signalled` };
    if (now.startTicks !== startTicks) return { status: "skipped", detail: `pid ${pid} now belongs to another process (started later); it was not signalled` };
    target.signal("SIGTERM");
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      const later = readStat({ proc: procRoot }, pid);
      if (later?.startTicks !== startTicks || later.state === "Z") return;
      if (signal?.aborted) throw new Error(`pid ${pid} ignored SIGTERM; not killed: the promise's timeout expired`);
    }
    target.signal("SIGKILL");
    return undefined;
  } finally {
    target.close();
  }
}

/** A handle on one process: a pidfd where the native helper is built, the bare pid otherwise. */
function openProcess(pid: number): { signal(sig: "SIGTERM" | "SIGKILL"): void; close(): void } | undefined {
  const native = safeFs();
  if (!native) return { signal: (sig) => process.kill(pid, sig), close: () => undefined };
  let fd: number;
  try {
    fd = native.pidfdOpen(pid);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return undefined;
    throw err;
  }
  return {
    signal(sig) {
      try {
        native.pidfdSignal(fd, constants.signals[sig]);
      } catch (err) {
        // the process has exited since: nothing left to signal
        if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
      }
    },
    close: () => closeSync(fd),
  };
}
