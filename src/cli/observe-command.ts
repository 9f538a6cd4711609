// `covenant observe <probe>`: what a probe sees on this host now, one subcommand per probe. The
// probes' modules load only when run (the bundle is split per command).
import type { Command } from "commander";
import type { ConnectionFilters } from "./commands/observe-connections.js";
import type { ObserveOptions } from "./commands/observe-report.js";
import { defaultRoots } from "../probes/result.js";
import { closest } from "../parser/suggest.js";
import { escapeText } from "./escape.js";
import { EXIT } from "./exit-codes.js";
import type { Io } from "./io.js";

const observeCommand = () => import("./commands/observe.js");
const observeConnectionsCommand = () => import("./commands/observe-connections.js");
const observeKernelCommand = () => import("./commands/observe-kernel.js");
const observeJobsCommand = () => import("./commands/observe-jobs.js");
const observeShadowCommand = () => import("./commands/observe-shadow.js");
const observePackagesCommand = () => import("./commands/observe-packages.js");

export function addObserveCommands(program: Command, io: Io, setExit: (code: number) => void): void {
  const observe = program
    .command("observe")
    .description("show what a probe sees on this host now: the facts promises are judged on")
    .option("--json", "print the observation as JSON", false)
    .option("--proc-root <dir>", "read /proc from here (a container watching its host: /host/proc)", defaultRoots.proc)
    .option("--etc-root <dir>", "read /etc/passwd, group, shadow, login.defs and os-release from here", defaultRoots.etc)
    .addHelpText("after", "\nExit codes: 0 observed, 2 bad arguments or the probe could not observe (the reason is printed).");
  const wiring: Probes = {
    observe,
    observeOpts: () => observe.opts<ObserveOptions>(),
    // runs a subcommand from its module, loaded now; a usage error it throws is exit 2
    guarded: async (load, fn) => {
      const o = await load();
      try {
        setExit(await fn(o));
      } catch (err) {
        if (!(err instanceof o.UsageError)) throw err;
        io.err(`covenant observe: ${escapeText(err.message)}`);
        setExit(EXIT.policyError);
      }
    },
    io,
  };
  addHolderProbes(wiring);
  addHostProbes(wiring);
  addResourceProbes(wiring);

  // an unknown probe: name the known ones (exit 2), rather than commander's bare "unknown command"
  observe.on("command:*", (operands: string[]) => {
    const probes = observe.commands.map((c) => c.name());
    const near = closest(operands[0] ?? "", probes);
    io.err(`covenant observe: unknown probe \`${escapeText(operands[0] ?? "")}\`${near ? ` (did you mean \`${near}\`?)` : ""}; probes: ${probes.join(", ")}`);
    setExit(EXIT.policyError);
  });
}

/** What every probe's subcommand is defined with. */
interface Probes {
  observe: Command;
  /** `observe`'s own options (--json, --proc-root, --etc-root) */
  observeOpts: () => ObserveOptions;
  guarded: <M extends { UsageError: new (...a: never[]) => Error }>(load: () => Promise<M>, fn: (o: M) => number | Promise<number>) => Promise<void>;
  io: Io;
}

/** Sockets and file locks, with the processes that hold them. */
function addHolderProbes(p: Probes): void {
  const { observe, observeOpts, guarded, io } = p;
  observe
    .command("connections")
    .description("TCP sockets with their owning process and user (from the kernel through sock_diag, or /proc/net/tcp{,6})")
    .option("--port <port>", "local port (a server's port)")
    .option("--remote-port <port>", "remote port")
    .option("--remote <address>", "remote address")
    .option("--state <state>", "TCP state, such as established or listen")
    .option("--listening", "only listening sockets", false)
    .option("--count-by <side>", "count connections per `remote` or `local` address instead of listing them")
    .addHelpText("after", "\nExamples:\n  covenant observe connections --port 5432\n  covenant observe connections --listening --json")
    .action((f: ConnectionFilters) => guarded(observeConnectionsCommand, (o) => o.observeConnections(f, observeOpts(), io)));
  observe
    .command("locks")
    .description("file locks (POSIX, flock, OFD, leases) from /proc/locks, with their holders")
    .argument("[paths...]", "only locks on these files, or on the files below these directories")
    .addHelpText("after", "\nExamples:\n  covenant observe locks /srv/ledger")
    .action((paths: string[]) => guarded(observeCommand, (o) => o.observeLocks(paths, observeOpts(), io)));
}

/** The host as a whole: its facts, load, packages, kernel parameters and modules, scheduled jobs. */
function addHostProbes(p: Probes): void {
  const { observe, observeOpts, guarded, io } = p;
  observe
    .command("facts")
    .description("host facts that contexts and `when` conditions test, with their values now")
    .argument("[policy...]", "policy files whose `calendar` gives the business days and time zone")
    .action((paths: string[]) => guarded(observeCommand, (o) => o.observeFacts(paths, observeOpts(), io)));
  observe
    .command("system")
    .description("file handles, load averages and memory (/proc/sys/fs/file-nr, /proc/loadavg, /proc/meminfo)")
    .action(() => guarded(observeCommand, (o) => o.observeSystem(observeOpts(), io)));
  observe
    .command("packages")
    .description("installed packages with version, architecture and status, from /var/lib/dpkg/status (read directly) or `rpm -qa`")
    .argument("[pattern]", "only these: a name, or a pattern with * and ?, optionally :ARCH")
    .option("--root <dir>", "read the package database of this root (a container's or a sandbox's)", "/")
    .addHelpText("after", "\nExamples:\n  covenant observe packages 'openssh*'\n  covenant observe packages libc6:amd64 --json")
    .action((pattern: string | undefined, f: { root: string }) => guarded(observePackagesCommand, (o) => o.observePackages(pattern, f, observeOpts(), io)));
  observe
    .command("sysctl")
    .description("kernel parameters by their dotted names, from /proc/sys")
    .argument("<keys...>", "such as net.ipv4.ip_forward")
    .option("--boot", "also every line of sysctl.d and /etc/sysctl.conf that sets each key, and the one that wins at boot", false)
    .option("--config-root <dir>", "read the sysctl.d files below this directory (a fixture, or /host in a container)")
    .action((keys: string[], f: { boot: boolean; configRoot?: string }) =>
      f.boot ? guarded(observeKernelCommand, (o) => o.observeSysctlBoot(keys, f, observeOpts(), io)) : guarded(observeCommand, (o) => o.observeSysctl(keys, observeOpts(), io)),
    );
  observe
    .command("modules")
    .description("loaded kernel modules (/proc/modules), and what modprobe.d says of each: the install rule run instead, blacklists, loading at boot")
    .argument("[modules...]", "only these modules, loaded or not")
    .option("--config-root <dir>", "read modprobe.d and modules-load.d below this directory (a fixture, or /host in a container)")
    .addHelpText("after", "\nExamples:\n  covenant observe modules usb-storage cramfs")
    .action((names: string[], f: { configRoot?: string }) => guarded(observeKernelCommand, (o) => o.observeModules(names, f, observeOpts(), io)));
  observe
    .command("jobs")
    .description("scheduled jobs as scheduled promises see them: cron's (crontab, cron.d, users' crontabs, run-parts) and systemd timers, with their user and schedule, and what cron would not run")
    .option("--config-root <dir>", "read /etc, /var/spool/cron and the systemd unit directories below this directory (a fixture, or /host in a container)")
    .action((f: { configRoot?: string }) => guarded(observeJobsCommand, (o) => o.observeJobs(f, observeOpts(), io)));
}

/** One thing of the host at a time: a mount, a file, a service, accounts and groups, passwords, processes. */
function addResourceProbes(p: Probes): void {
  const { observe, observeOpts, guarded, io } = p;
  observe
    .command("mounts")
    .description("mount points with their type, source and options, from /proc/self/mountinfo")
    .argument("[path]", "only the mount this path is on")
    .action((path: string | undefined) => guarded(observeCommand, (o) => o.observeMounts(path, observeOpts(), io)));
  observe
    .command("file")
    .description("a file's type, mode, owner, group, size, modification time and, with --hash, its digest")
    .argument("<path>")
    .option("--hash <algorithm>", "sha256 or sha512, computed without reading the file into memory")
    .action((path: string, flags: { hash?: string }) => guarded(observeCommand, (o) => o.observeFile(path, flags.hash, observeOpts(), io)));
  observe
    .command("service")
    .description("a systemd unit's state through `systemctl show`; says so when systemd is not running")
    .argument("<unit>")
    .action((unit: string) => guarded(observeCommand, (o) => o.observeService(unit, observeOpts(), io)));
  observe
    .command("accounts")
    .description("uid 0 accounts and group membership (listed and primary), from /etc/passwd and /etc/group")
    .argument("[group]", "only this group")
    .action((group: string | undefined) => guarded(observeCommand, (o) => o.observeAccounts(group, observeOpts(), io)));
  observe
    .command("shadow")
    .description("each account's password state (empty, locked, hashed and its scheme; never the hash) and aging, from /etc/shadow")
    .argument("[user]", "only this account")
    .action((user: string | undefined) => guarded(observeShadowCommand, (o) => o.observeShadow(user, observeOpts(), io)));
  observe
    .command("processes")
    .description("processes with their user and command line, from /proc/[pid]")
    .argument("[name]", "only processes with this name")
    .action((name: string | undefined) => guarded(observeCommand, (o) => o.observeProcesses(name, observeOpts(), io)));
}
