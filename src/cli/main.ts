// The `covenant` command line: wires parser, checker and formatter to subcommands.
import { Argument, Command, CommanderError, Help, Option } from "commander";
import { setFlagsFromString } from "node:v8";
// Subcommands are loaded when run (the bundle is split per command): `observe` must not pay
// for loading the policy parser, and `check` not for the probes.
const checkCommand = () => import("./commands/check.js");
const fmtCommand = () => import("./commands/fmt.js");
const lspCommand = () => import("./commands/lsp.js");
const runCommand = () => import("./commands/run.js");
const historyCommand = () => import("./commands/history.js");
const pruneCommand = () => import("./commands/prune.js");
import { defaultRoots } from "../probes/result.js";
import { escapeText } from "./escape.js";
import { EXIT } from "./exit-codes.js";
import { HandOver, type BundleLoans } from "./hand-over.js";
import { processIo, type Io } from "./io.js";
export { exitOnceWritten, streamsInUse } from "./io.js";
import { addNotifyCommands } from "./notify-commands.js";
import { addIntegrityCommands } from "./integrity-command.js";
import { addWatchCommand } from "./watch-command.js";
import { addMapCommand } from "./map-command.js";
import { addTestCommand } from "./test-command.js";
import { addEvidenceCommands } from "./evidence-command.js";
import { addHubCommands } from "./hub-command.js";
import { addReportCommand } from "./report-command.js";
import { addHubClientCommands } from "./hub-client-command.js";
import { addObserveCommands } from "./observe-command.js";
import { LARGEST_MAX_FILE_SIZE } from "../checker/policy-file.js";
import { parseSize } from "./sizes.js";

/** What the bundle lends a run started from the run snapshot (hand-over.ts). */
export const bundleLoans: BundleLoans = { hubPush: () => import("./hub-push.js") };

declare const COVENANT_VERSION: string;
const version = typeof COVENANT_VERSION === "string" ? COVENANT_VERSION : "0.0.0-dev";

const exitCodesHelp = `
Exit codes:
  0  ok
  1  deficiencies found (fmt --check: files would change)
  2  policy or configuration error
  3  internal error
  4  push, enroll: the hub could not be reached (the records wait)
  5  push, enroll: the hub refused

Environment:
  NO_COLOR     disable colours (colours are also off when output is not a terminal)
  FORCE_COLOR  force colours`;

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command();
  program
    .name("covenant")
    .description("Declarative, promise-based compliance engine: SOX controls as promises, checked on every host.")
    .version(version, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", exitCodesHelp)
    .exitOverride()
    // help shows real defaults: none for a flag that is off unless given (not "(default: false)")
    .configureHelp({ optionDescription: (o: Option) => (o.isBoolean() && o.defaultValue === false ? o.description : Help.prototype.optionDescription.call(new Help(), o)) })
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, "")),
      writeErr: (s) => io.err(s.replace(/\n$/, "")),
      // commander's messages quote the arguments they were given (`unknown option '…'`): one line, escaped
      outputError: (s, write) => write(`${escapeText(s.replace(/\n$/, ""))}\n`),
    });

  addPolicyCommands(program, io, setExit);
  addRunCommand(program, io, setExit);
  addNotifyCommands(program, io, setExit, parseDuration);
  addWatchCommand(program, io, setExit, parseDuration);
  addIntegrityCommands(program, io, setExit);
  addHistoryCommand(program, io, setExit);
  addMapCommand(program, io, setExit, { policyPaths, includeOption, maxFileSizeOption, fileSize });
  addTestCommand(program, io, setExit, { includeOption });
  addEvidenceCommands(program, io, setExit, version);
  addHubCommands(program, io, setExit, version);
  addReportCommand(program, io, setExit, version);
  addHubClientCommands(program, io, setExit);
  addVerifyAndPruneCommands(program, io, setExit);
  addObserveCommands(program, io, setExit);
  return program;
}

/** `check`, `fmt` and `lsp`: what is done with a policy's text, before anything is run. */
function addPolicyCommands(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command("check")
    .description("parse and check policies; report every error and warning with its position")
    .addArgument(policyPaths())
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    // as `run --json` and `history --json` say it
    .addOption(new Option("--json", "print the diagnostics as JSON (the same as --format json)").conflicts("format"))
    .option("--strict", "treat warnings as errors (exit 2)", false)
    .addOption(new Option("--today <date>", "date used for waiver expiry (YYYY-MM-DD)").hideHelp())
    .addOption(includeOption())
    .addOption(maxFileSizeOption())
    .addOption(configOption())
    .addHelpText("after", "\nExamples:\n  covenant check examples/sox\n  covenant check --config examples/sox/covenant.yaml examples/sox\n  covenant check --json policies/ > diagnostics.json\n  covenant check --include /usr/share/covenant/controls policies/\n\nExit codes: 0 clean (warnings allowed), 2 errors found (or nothing to evaluate: no promise in the policy).")
    .action(async (paths: string[], opts: { format: "text" | "json"; json?: boolean; strict: boolean; today?: string; include: string[]; maxFileSize: string; config?: string }) => {
      const maxFileSize = fileSize(opts.maxFileSize, "check", io);
      if (maxFileSize === undefined) return setExit(EXIT.policyError);
      setExit((await checkCommand()).runCheck(paths, { ...opts, format: opts.json ? "json" : opts.format, maxFileSize }, io));
    });

  program
    .command("fmt")
    .description("rewrite policies in the canonical layout, keeping every comment")
    .addArgument(policyPaths())
    .option("--check", "change nothing; list files that would change and exit 1 if any", false)
    .option("--stdout", "print the formatted text instead of writing files", false)
    .addOption(maxFileSizeOption())
    .addHelpText("after", "\nExamples:\n  covenant fmt policies/\n  covenant fmt --check policies/   # in CI\n\nExit codes: 0 done (or nothing to change), 1 files would change (--check), 2 a file has syntax errors or cannot be read.")
    .action(async (paths: string[], opts: { check: boolean; stdout: boolean; maxFileSize: string }) => {
      const maxFileSize = fileSize(opts.maxFileSize, "fmt", io);
      if (maxFileSize === undefined) return setExit(EXIT.policyError);
      setExit((await fmtCommand()).runFmt(paths, { ...opts, maxFileSize }, io));
    });

  program
    .command("lsp")
    .description("the language server for editors: diagnostics as `check` gives them, and more, over stdio (docs/editors.md)")
    .option("--stdio", "speak over stdin and stdout (the only transport; accepted because editors pass it)", false)
    .addOption(includeOption())
    .addOption(maxFileSizeOption())
    .addOption(configOption())
    .addHelpText("after", "\nEditors start it; see docs/editors.md for VS Code, Neovim and Emacs.\n\nExit codes: 0 after the client's shutdown and exit, 1 when the client went away without them.")
    .action(async (opts: { include: string[]; maxFileSize: string; config?: string }) => {
      const maxFileSize = fileSize(opts.maxFileSize, "lsp", io);
      if (maxFileSize === undefined) return setExit(EXIT.policyError);
      setExit(await (await lspCommand()).runLsp({ include: opts.include, maxFileSize, ...(opts.config !== undefined ? { config: opts.config } : {}) }, io));
    });
}

/** The flags of `run`, as commander gives them. */
type RunFlags = { state?: string; dryRun: boolean; json: boolean; junit?: string; quiet: boolean; timeout: string; lockWait?: string; sandbox: boolean; sandboxDir?: string; sandboxManifest?: string; procRoot: string; etcRoot: string; now?: string; include: string[]; maxFileSize: string; config?: string; notify: boolean; push: boolean; fromHub: boolean; policyCache: boolean };

function addRunCommand(program: Command, io: Io, setExit: (code: number) => void): void {
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

function addHistoryCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command("history")
    .description("the host's record of changes of state, and one summary per run")
    .option("--state <dir>", "state directory (as for `run`)")
    .option("--control <id>", "only changes of this control")
    .option("--since <date>", "only records from this date (YYYY-MM-DD) on")
    .option("--changes", "leave out the run summaries", false)
    .option("--json", "print the records as JSON", false)
    .addHelpText(
      "after",
      "\nEach record is checked against the chain as it is read: one whose MAC fails is marked UNVERIFIED.\nReads the store without changing it: beside a running run, or on a read-only copy.\n\nExamples:\n  covenant history --control ITGC-CM-02 --since 2026-10-01\n\nExit codes: 0 shown, 1 a record failed its check or records were cut off the end, 2 no store in the state directory,\nit cannot be read, or bad arguments.",
    )
    .action(async (o: { state?: string; control?: string; since?: string; changes: boolean; json: boolean }) => {
      setExit((await historyCommand()).runHistory(o, io));
    });
}

/** `verify` and `prune`: the history's chain proved, and its oldest runs removed once a signed pack holds them. */
function addVerifyAndPruneCommands(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command("verify")
    .description("prove the history was not altered: report the first altered, inserted or deleted record")
    .option("--state <dir>", "state directory (as for `run`)")
    .option("--json", "print the report as JSON", false)
    .option("--known-head <seq:mac>", "a head an earlier verify printed, kept off the host: fail unless the history still holds it")
    .addHelpText(
      "after",
      "\nReads the store without changing it: beside a running run, or on a read-only copy. Prints the head it\nvouches for: keep it off the host to detect a later rollback of the whole store.\n\nExit codes: 0 intact, 1 tampering found, 2 no store in the state directory, or it cannot be read.",
    )
    .action(async (o: { state?: string; json: boolean; knownHead?: string }) => {
      setExit((await historyCommand()).runVerify(o, io));
    });

  program
    .command("prune")
    .description("remove history older than a date, once a signed evidence pack holds it, leaving a sealed checkpoint")
    .requiredOption("--before <date>", "remove whole runs that finished before this day (YYYY-MM-DD) began")
    .requiredOption("--pack <pack>", "the evidence pack that holds every record removed (`covenant evidence`): its directory or .tar.gz")
    .option("--public-key <file>", "the public key (PEM) the pack is checked with (default: this host's signing key in force)")
    .option("--state <dir>", "state directory (as for `run`)")
    .option("--tz <zone>", "the time zone DATE is a day in (default: the host's)")
    .option("-n, --dry-run", "say how many records and runs would go; change nothing", false)
    .option("--json", "print what was (or would be) removed as JSON", false)
    .addHelpText(
      "after",
      "\nTakes the run lock, as `ack` does. The pack is verified whole (as `covenant evidence verify` does) with this host's\nsigning key, or the public key given (a key since rotated away), and it must hold\nevery record removed; the records later ones name are kept, and the history then starts at a checkpoint\nsealed with the host key, which `verify` checks.\n\nExamples:\n  covenant prune --before 2026-01-01 --pack /srv/evidence/2025.tar.gz --dry-run\n\nExit codes: 0 pruned (or, with --dry-run, planned), 2 bad arguments, a pack that does not verify or does not hold\nthe records, a history that does not verify, nothing to prune, or the store cannot be written.",
    )
    .action(async (o: { before: string; pack: string; publicKey?: string; state?: string; tz?: string; dryRun: boolean; json: boolean }) => {
      setExit(await (await pruneCommand()).runPrune(o, io));
    });
}

/** The policy paths argument: without any, `run`, `check` and `fmt` search the current directory, and help says so (not `[]`). */
function policyPaths(): Argument {
  return new Argument("[paths...]", "policy files or directories (searched for *.promise)").default([], "the current directory");
}

/** `--include DIR`, repeatable: a directory whose .promise files policies may import (a shared control library). */
function includeOption(): Option {
  return new Option("--include <dir>", "also allow imports of .promise files below this directory (repeatable), such as a shared control library")
    .argParser((dir: string, dirs: string[]) => [...dirs, dir])
    .default([], "none: only below the policy's own directories");
}

/** `--config FILE`: covenant.yaml, the notification configuration (docs/configuration.md). */
function configOption(): Option {
  return new Option("--config <file>", "the notification configuration, covenant.yaml (default: /etc/covenant/covenant.yaml as root, ./covenant.yaml otherwise)");
}

/** `--max-file-size SIZE`: the largest policy file read. */
function maxFileSizeOption(): Option {
  return new Option("--max-file-size <size>", "refuse policy files larger than this, such as 16MiB or 500KB").default("16MiB");
}

/** The size `--max-file-size` gives, or undefined after saying why it is wrong. */
function fileSize(text: string, command: string, io: Io): number | undefined {
  const bytes = parseSize(text);
  if (bytes === undefined || bytes < 1 || bytes > LARGEST_MAX_FILE_SIZE) {
    io.err(`covenant ${command}: --max-file-size wants a size from 1B to 256MiB, such as 16MiB, 500KB or 4096, got \`${escapeText(text)}\``);
    return undefined;
  }
  return bytes;
}


const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `90s`, `10m`, `1h` → milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  return m ? Number(m[1]) * durationUnits[m[2]!]! : undefined;
}

/** A program built and not yet run, with the exit code its commands set. */
export interface PreparedProgram {
  readonly program: Command;
  readonly io: Io;
  exitCode(): number;
}

/**
 * The program with every command defined, for `main` or `runPrepared` to run once. The run snapshot prepares it
 * when it is built (src/cli/run-snapshot.ts): defining the commands, their subcommands and
 * options is a few milliseconds of every start, and reads nothing of the host (io is lazy:
 * processIo makes its streams when first written to).
 */
export function prepareProgram(io: Io = processIo()): PreparedProgram {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => (code = c));
  return { program, io, exitCode: () => code };
}

/** Runs a command line. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  return runPrepared(argv, prepareProgram(io));
}

/** Runs a command line with a program prepared before (the run snapshot's), once: a program keeps what it parsed. */
export async function runPrepared(argv: string[], prepared: PreparedProgram): Promise<number> {
  const { io } = prepared;
  try {
    await prepared.program.parseAsync(argv, { from: "user" });
    return prepared.exitCode();
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return EXIT.ok;
      // help asked for is no error; help shown because a command or probe is missing is
      if (err.code === "commander.help") return err.exitCode === 0 ? EXIT.ok : EXIT.policyError;
      return EXIT.policyError;
    }
    // the run snapshot gives the command to the bundle (hand-over.ts)
    if (err instanceof HandOver) throw err;
    // a message can carry outside text (SQLite's, a file name): escaped, it cannot drive the terminal
    io.err(`covenant: internal error: ${escapeText(String((err as Error).message))}`);
    if (process.env["COVENANT_DEBUG"]) io.err(String((err as Error).stack));
    io.err("This is a bug in Covenant; please report it with the command you ran.");
    return EXIT.internal;
  }
}
