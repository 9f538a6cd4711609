// The `covenant` program before its commands: its name, version, help and how it writes, the
// options several commands share, and how a program is prepared and run once. main.ts adds every
// command; the run snapshot (run-snapshot.ts) adds only `run` (run-command.ts), so that it holds
// no other command's definitions: every object a snapshot holds is made again in every run.
import { Argument, Command, CommanderError, Help, Option } from "commander";
import { escapeText } from "./escape.js";
import { EXIT } from "./exit-codes.js";
import { HandOver } from "./hand-over.js";
import type { Io } from "./io.js";
import { LARGEST_MAX_FILE_SIZE } from "../checker/policy-file.js";
import { parseSize } from "./sizes.js";

declare const COVENANT_VERSION: string;
export const version = typeof COVENANT_VERSION === "string" ? COVENANT_VERSION : "0.0.0-dev";

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

/** The program with no command yet: its name, version, help texts, and output through `io`, escaped. */
export function rootProgram(io: Io): Command {
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
  return program;
}

/** The policy paths argument: without any, `run`, `check` and `fmt` search the current directory, and help says so (not `[]`). */
export function policyPaths(): Argument {
  return new Argument("[paths...]", "policy files or directories (searched for *.promise)").default([], "the current directory");
}

/** `--include DIR`, repeatable: a directory whose .promise files policies may import (a shared control library). */
export function includeOption(): Option {
  return new Option("--include <dir>", "also allow imports of .promise files below this directory (repeatable), such as a shared control library")
    .argParser((dir: string, dirs: string[]) => [...dirs, dir])
    .default([], "none: only below the policy's own directories");
}

/** `--config FILE`: covenant.yaml, the notification configuration (docs/configuration.md). */
export function configOption(): Option {
  return new Option("--config <file>", "the notification configuration, covenant.yaml (default: /etc/covenant/covenant.yaml as root, ./covenant.yaml otherwise)");
}

/** `--max-file-size SIZE`: the largest policy file read. */
export function maxFileSizeOption(): Option {
  return new Option("--max-file-size <size>", "refuse policy files larger than this, such as 16MiB or 500KB").default("16MiB");
}

/** The size `--max-file-size` gives, or undefined after saying why it is wrong. */
export function fileSize(text: string, command: string, io: Io): number | undefined {
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

/** What defines a program's commands on the root program: main.ts's every command, or the run snapshot's `run`. */
export type DefineCommands = (program: Command, io: Io, setExit: (code: number) => void) => void;

/**
 * The program with the commands `define` adds, for `runPrepared` to run once. The run snapshot
 * prepares its program when it is built (src/cli/run-snapshot.ts): defining commands and their
 * options is a few milliseconds of every start, and reads nothing of the host (io is lazy:
 * processIo makes its streams when first written to).
 */
export function prepareProgram(io: Io, define: DefineCommands): PreparedProgram {
  let code: number = EXIT.ok;
  const program = rootProgram(io);
  define(program, io, (c) => (code = c));
  return { program, io, exitCode: () => code };
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
    if (process.env["COVENANT_DEBUG"]) io.err(stackText(err as Error));
    io.err("This is a bug in Covenant; please report it with the command you ran.");
    return EXIT.internal;
  }
}

/**
 * An error's stack for COVENANT_DEBUG: its first line is the message, outside text and all, so it
 * is escaped onto one line as the message is; the frames below it are Covenant's own, one a line.
 */
function stackText(err: Error): string {
  const stack = String(err.stack ?? "");
  const head = `${err.name}: ${err.message}`;
  if (!stack.startsWith(head)) return escapeText(stack);
  return [escapeText(head), ...stack.slice(head.length).split("\n").filter((l) => l !== "").map(escapeText)].join("\n");
}
