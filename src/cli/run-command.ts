// The `run` command's definition: its arguments, options and help, and its flags checked and
// turned into the run's options (commands/run.ts runs it). Both programs hold it: main.ts's, and
// the run snapshot's, which holds no other command (program.ts).
import { Option, type Command } from "commander";
import { setFlagsFromString } from "node:v8";
import { defaultRoots } from "../probes/result.js";
import { escapeText } from "./escape.js";
import { EXIT } from "./exit-codes.js";
import type { Io } from "./io.js";
import { configOption, fileSize, includeOption, maxFileSizeOption, parseDuration, policyPaths } from "./program.js";

const runCommand = () => import("./commands/run.js");

/** The flags of `run`, as commander gives them. */
type RunFlags = { state?: string; dryRun: boolean; json: boolean; junit?: string; quiet: boolean; timeout: string; lockWait?: string; sandbox: boolean; sandboxDir?: string; sandboxManifest?: string; procRoot: string; etcRoot: string; now?: string; include: string[]; maxFileSize: string; config?: string; notify: boolean; push: boolean; fromHub: boolean; policyCache: boolean };

export function addRunCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command("run")
    .description("evaluate every promise in scope on this host, repair what the policy allows, record changes of state")
    .addArgument(policyPaths())
    .option("--state <dir>", "state directory (default: /var/lib/covenant as root, $XDG_STATE_HOME/covenant otherwise)")
    .option("-n, --dry-run", "report what would be repaired; change nothing on the host", false)
    .option("--json", "print the report as JSON", false)
    .option("--junit <file>", "also write the report as JUnit XML to this file")
    .option("-q, --quiet", "print nothing when every promise is kept (for cron)", false)
    .option("--timeout <duration>", "stop evaluating new promises after this long, such as 10m", "10m")
    .option("--lock-wait <duration>", "how long to wait for the lock another process holds, then fail (default: 60s for the watcher, 0s for another run)")
    .option("--sandbox", "run against a sandbox of ledger-like files (sandbox.json beside the policy) and this machine's /proc, or the sandbox's own when sandbox.json has `proc`; needs no root, changes nothing outside it", false)
    .option("--sandbox-dir <dir>", "where the sandbox lives (implies --sandbox; default: $TMPDIR/covenant-sandbox-UID)")
    .option("--sandbox-manifest <file>", "the sandbox's manifest instead of the sandbox.json beside the policy, such as a fixture host (implies --sandbox; read when the sandbox is created, not when it is reused)")
    .option("--proc-root <dir>", "read /proc from here (a container watching its host: /host/proc)", defaultRoots.proc)
    .option("--etc-root <dir>", "read /etc/passwd, group, shadow, login.defs and os-release from here (nothing else: see docs/cli.md)", defaultRoots.etc)
    .addOption(includeOption())
    .addOption(maxFileSizeOption())
    .addOption(configOption())
    .option("--notify", "send notifications even from a dry run or a sandbox (a deliberate test)", false)
    .option("--no-push", "do not push to the fleet hub after the run (an enrolled host pushes, for at most 15 s)")
    .option("--from-hub", "run the hub's policy version in force for this host (fetched, checked with the hub's key and here; the last good one when the hub is out of reach)", false)
    .option("--no-policy-cache", "check the policy and load the configuration in full, without their caches in the state directory")
    .addOption(new Option("--now <instant>", "evaluate as if it were this instant (ISO 8601)").hideHelp())
    .addHelpText(
      "after",
      "\nExamples:\n  covenant run --sandbox examples/sox      # try it: no root, nothing outside the sandbox changes\n  covenant run --dry-run /etc/covenant/policies\n  covenant run --quiet --junit /var/log/covenant/last.xml /etc/covenant/policies   # from cron\n\nExit codes: 0 no deficiencies (kept, repaired, skipped or waived), 1 deficiencies (drift, failed or error),\n2 policy or configuration error (or nothing to evaluate, or, as root, a policy file another user can change,\nor another run or the watcher holds the lock past --lock-wait), 3 internal error.",
    )
    .action((paths: string[], o: RunFlags) => startRun(paths, o, io, setExit));
}

/** `run`'s flags checked and turned into its options; then the run. */
async function startRun(paths: string[], o: RunFlags, io: Io, setExit: (code: number) => void): Promise<void> {
  const maxFileSize = fileSize(o.maxFileSize, "run", io);
  if (maxFileSize === undefined) return setExit(EXIT.policyError);
  const timeoutMs = parseDuration(o.timeout);
  const now = o.now !== undefined ? new Date(o.now) : undefined;
  // at most a day: beyond 2^31 ms, timers overflow (Node fires them at once), and a run from
  // cron that lasts longer than a day is stuck, not slow (MAX_RUN_MS in hard-stop.ts)
  const badTimeout = timeoutMs === undefined || timeoutMs < 1000 || timeoutMs > 24 * 3_600_000;
  // at most an hour: a run from cron that waits longer for the lock would overlap the next one
  const lockWaitMs = o.lockWait === undefined ? undefined : o.lockWait.trim() === "0" ? 0 : parseDuration(o.lockWait);
  if (o.lockWait !== undefined && (lockWaitMs === undefined || lockWaitMs > 3_600_000)) {
    io.err(`covenant run: --lock-wait wants a duration from 0s to 1h, such as 0, 30s or 2m, got \`${escapeText(o.lockWait)}\``);
    setExit(EXIT.policyError);
    return;
  }
  if (badTimeout || (now && Number.isNaN(now.getTime()))) {
    io.err(badTimeout ? `covenant run: --timeout wants a duration from 1s to 24h, such as 90s, 10m or 1h, got \`${escapeText(String(o.timeout))}\`` : `covenant run: --now wants an ISO 8601 instant, got \`${escapeText(String(o.now))}\``);
    setExit(EXIT.policyError);
    return;
  }
  // A run is started every few minutes on every host: its peak memory matters more than
  // the last few percent of speed (bench/run). The optimising compiler's code and work cost
  // ~12 MB at 2,000 promises and save no time in a run this short; and a young generation
  // kept at its first size (1 MiB per semi-space, instead of growing to 16) stops the
  // parse's short-lived garbage from growing the heap by ~20 MB. V8 reads both flags when
  // it uses them, so they take effect here; `check` keeps the defaults, which parse large
  // policies much faster (bench/parse).
  setFlagsFromString("--no-opt");
  setFlagsFromString("--semi-space-growth-factor=1");
  // V8's low-memory heuristics (the old generation grows by less before a full collection,
  // among others): a run that tells 450 messages peaks ~13 MB lower (bench/notify) for
  // ~0.3 s more CPU; a run with nothing to tell barely changes (bench/run)
  setFlagsFromString("--optimize-for-size");
  // a sandbox's directory asks for the sandbox: never a real run because `--sandbox` was left out
  const sandbox = o.sandbox || o.sandboxDir !== undefined || o.sandboxManifest !== undefined;
  const opts: import("./commands/run.js").RunOptions = { dryRun: o.dryRun, json: o.json, quiet: o.quiet, timeoutMs: timeoutMs!, sandbox, procRoot: o.procRoot, etcRoot: o.etcRoot, include: o.include, maxFileSize };
  if (o.state !== undefined) opts.state = o.state;
  if (o.junit !== undefined) opts.junit = o.junit;
  if (o.sandboxDir !== undefined) opts.sandboxDir = o.sandboxDir;
  if (o.sandboxManifest !== undefined) opts.sandboxManifest = o.sandboxManifest;
  if (o.config !== undefined) opts.config = o.config;
  if (o.notify) opts.notify = true;
  if (!o.push) opts.push = false;
  if (!o.policyCache) opts.policyCache = false;
  if (o.fromHub) {
    if (paths.length > 0 || o.sandbox) {
      io.err("covenant run: --from-hub runs the hub's policy: give no policy paths and no --sandbox with it");
      return setExit(EXIT.policyError);
    }
    opts.fromHub = true;
  }
  if (lockWaitMs !== undefined) opts.lockWaitMs = lockWaitMs;
  if (now) opts.now = now;
  setExit(await (await runCommand()).runRun(paths, opts, io));
}
