// `covenant watch`: the long-running watcher, and `--status` for whoever checks on it (cron,
// systemd, a monitoring agent). Its module loads only when run (the bundle is split per command).
import type { Command } from "commander";
import { setFlagsFromString } from "node:v8";
import { defaultRoots } from "../probes/result.js";
import { escapeText } from "./escape.js";
import { EXIT } from "./exit-codes.js";
import type { Io } from "./io.js";

const watchCommand = () => import("./commands/watch.js");

interface WatchFlags {
  state?: string;
  config?: string;
  every: string;
  /** false: --no-policy-cache */
  policyCache: boolean;
  heartbeat: string;
  coalesce: string;
  rescan: string;
  timeout: string;
  status: boolean;
  json: boolean;
  procRoot: string;
  etcRoot: string;
  include: string[];
}

/** A duration flag within [min, max] ms, or undefined after saying why not. */
function durationFlag(name: string, text: string, min: number, max: number, parseDuration: (t: string) => number | undefined, io: Io): number | undefined {
  const ms = parseDuration(text);
  if (ms === undefined || ms < min || ms > max) {
    io.err(`covenant watch: --${name} wants a duration from ${min < 1000 ? `${min}ms` : `${min / 1000}s`} to ${max / 3_600_000 >= 1 ? `${max / 3_600_000}h` : `${max / 1000}s`}, got \`${escapeText(text)}\``);
    return undefined;
  }
  return ms;
}

/**
 * COVENANT_WATCH_MAX_DIRS, for tests: at most this many inotify watches, as if
 * fs.inotify.max_user_watches were reached there (a test must not change the host's sysctls).
 * null after saying it is not a whole number.
 */
function watchCap(text: string | undefined, io: Io): number | undefined | null {
  if (text === undefined || text === "") return undefined;
  if (!/^\d{1,9}$/.test(text)) {
    io.err(`covenant watch: COVENANT_WATCH_MAX_DIRS wants a whole number of watches, got \`${escapeText(text)}\``);
    return null;
  }
  return Number(text);
}

export function addWatchCommand(program: Command, io: Io, setExit: (code: number) => void, parseDuration: (text: string) => number | undefined): void {
  program
    .command("watch")
    .description("watch the policy's `watch = realtime` files and directories as they change, and run every promise on its schedule (`every`)")
    .argument("[paths...]", "policy files or directories (default: the current directory)")
    .option("--state <dir>", "state directory (as for `run`)")
    .option("--config <file>", "the notification configuration (as for `run`)")
    .option("--every <duration>", "the schedule of promises that set no `every`", "5m")
    .option("--heartbeat <duration>", "how often the watcher records that it is alive (`watch --status`, and `run`, call it stale after three missed)", "10s")
    .option("--coalesce <duration>", "events closer together than this are evaluated together", "10ms")
    .option("--rescan <duration>", "how often every realtime promise is evaluated again whatever inotify said (bounds what an unseen change can hide)", "1h")
    .option("--timeout <duration>", "how long one evaluation may take", "10m")
    .option("--status", "say whether a watcher is running and beating (cheap), instead of watching", false)
    .option("--json", "with --status: the status as JSON", false)
    .option("--proc-root <dir>", "read /proc from here", defaultRoots.proc)
    .option("--etc-root <dir>", "read /etc/passwd, /etc/group and /etc/os-release from here", defaultRoots.etc)
    .option("--include <dir>", "a directory whose .promise files may be imported (repeatable)", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option("--no-policy-cache", "check the policy and load the configuration in full at start and at each reload, without their caches (as for `run`)")
    .addHelpText("after", "\nExamples:\n  covenant watch /etc/covenant/policies          # as a service (examples/systemd)\n  covenant watch --status                         # from cron or monitoring: exit 1 when it is not running\n\nExit codes: 0 stopped cleanly (SIGTERM, SIGINT), or --status: running; 1 --status: stale, stopped or never run;\n2 policy, configuration or store error, 3 internal error.")
    .action(async (paths: string[], o: WatchFlags) => {
      if (o.status) return setExit((await watchCommand()).runWatchStatus({ ...(o.state !== undefined ? { state: o.state } : {}), json: o.json }, io));
      const everyMs = durationFlag("every", o.every, 10_000, 86_400_000, parseDuration, io);
      const heartbeatMs = durationFlag("heartbeat", o.heartbeat, 1000, 3_600_000, parseDuration, io);
      const coalesceMs = durationFlag("coalesce", o.coalesce, 1, 10_000, parseDuration, io);
      const timeoutMs = durationFlag("timeout", o.timeout, 1000, 86_400_000, parseDuration, io);
      const rescanMs = durationFlag("rescan", o.rescan, 1000, 7 * 86_400_000, parseDuration, io);
      const maxWatches = watchCap(process.env["COVENANT_WATCH_MAX_DIRS"], io);
      // a process that lives for months: its peak memory matters more than the last percent of
      // speed. A young generation kept at its first size and V8's low-memory heuristics (as
      // `run` sets them, run-command.ts) take its peak RSS on 10,000 watched files from ~105 MB to ~75 MB
      // (bench/watch); the optimising compiler stays on, as evaluations repeat
      setFlagsFromString("--semi-space-growth-factor=1");
      setFlagsFromString("--optimize-for-size");
      if (everyMs === undefined || heartbeatMs === undefined || coalesceMs === undefined || timeoutMs === undefined || rescanMs === undefined || maxWatches === null) return setExit(EXIT.policyError);
      setExit(await (await watchCommand()).runWatch(paths, { ...(o.state !== undefined ? { state: o.state } : {}), ...(o.config !== undefined ? { config: o.config } : {}), everyMs, heartbeatMs, coalesceMs, rescanMs, ...(maxWatches !== undefined ? { maxWatches } : {}), timeoutMs, procRoot: o.procRoot, etcRoot: o.etcRoot, include: o.include, ...(o.policyCache ? {} : { policyCache: false }) }, io));
    });
}
