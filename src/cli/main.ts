// The `covenant` command line: wires parser, checker and formatter to subcommands.
import { Option, type Command } from "commander";
// Subcommands are loaded when run (the bundle is split per command): `observe` must not pay
// for loading the policy parser, and `check` not for the probes.
const checkCommand = () => import("./commands/check.js");
const fmtCommand = () => import("./commands/fmt.js");
const lspCommand = () => import("./commands/lsp.js");
const historyCommand = () => import("./commands/history.js");
const pruneCommand = () => import("./commands/prune.js");
import { EXIT } from "./exit-codes.js";
import type { BundleLoans } from "./hand-over.js";
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
import { configOption, fileSize, includeOption, maxFileSizeOption, parseDuration, policyPaths, prepareProgram, runPrepared, version, type DefineCommands } from "./program.js";
import { addRunCommand } from "./run-command.js";

/** What the bundle lends a run started from the run snapshot (hand-over.ts). */
export const bundleLoans: BundleLoans = { hubPush: () => import("./hub-push.js") };

/** Every command, on the root program (program.ts), in the order help lists them. */
const addCommands: DefineCommands = (program, io, setExit) => {
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
};

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

/** Runs a command line, with every command defined. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  return runPrepared(argv, prepareProgram(io, addCommands));
}
