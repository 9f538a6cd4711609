// `covenant report`: its options and help, wired to src/cli/commands/report.ts (loaded when run).
import { Option, type Command } from "commander";
import { setFlagsFromString } from "node:v8";
import { escapeText } from "./escape.js";
import { EXIT } from "./exit-codes.js";
import type { Io } from "./io.js";

const reportCommand = () => import("./commands/report.js");

interface Flags {
  from: string;
  to: string;
  control: string[];
  format: "html" | "json" | "csv" | "md";
  out?: string;
  sample?: string;
  seed?: string;
  list?: string;
  tz?: string;
  state?: string;
  config?: string;
}

export function addReportCommand(program: Command, io: Io, setExit: (code: number) => void, version: string): void {
  program
    .command("report")
    .description("the evidence report over a period: each control's design and operation, exceptions, integrity, and an auditor's sample")
    .requiredOption("--from <date>", "the first day of the period, YYYY-MM-DD (included)")
    .requiredOption("--to <date>", "the last day of the period, YYYY-MM-DD (included)")
    .addOption(new Option("--control <id>", "only this control (repeatable)").argParser((id: string, ids: string[]) => [...ids, id]).default([], "every control of the period"))
    .addOption(new Option("--format <format>", "output format").choices(["html", "json", "csv", "md"]).default("html"))
    .option("--out <dir>", "write the report into this directory (report.html, report.json, report.md, or one .csv per table) instead of standard output")
    .option("--sample <n>", "an auditor's sample: pick N evaluations of each control, reproducibly (with --seed)")
    .option("--seed <seed>", "the sample's seed: the same store, period, N and seed pick the same evaluations")
    .option("--list <n>", "list at most N episodes and N repairs per control, or `all` (default: 100 in html and md, all in json and csv; the figures are always over every one)")
    .option("--tz <zone>", "read the days in this IANA time zone (default: the policy calendar's, else the host's)")
    .option("--state <dir>", "state directory (as for `run`)")
    .option("--config <file>", "covenant.yaml: `report.expected_every` sets the cadence every control is held to")
    .addHelpText(
      "after",
      "\nReads the store without changing it: beside a running run, or on a read-only copy. Dry runs and sandbox runs\nare never counted as operation. docs/report.md says what each figure means and what the report proves.\n\nExamples:\n  covenant report --from 2026-01-01 --to 2026-03-31 --out q1\n  covenant report --from 2026-01-01 --to 2026-12-31 --control ITGC-CM-02 --format md --sample 25 --seed audit-2026\n\nExit codes: 0 report made, 1 report made but the chain over the period does not verify (the report says so),\n2 bad dates or options, an unknown control, no store in the state directory, or a file that cannot be written.",
    )
    .action(async (f: Flags) => {
      // The pass over a year's history parses 325,000 records' bodies: short-lived garbage that a
      // young generation grown to 16 MiB per semi-space holds ~40 MB of at once. Kept at its
      // first size (as `run` and `watch` keep it, run-command.ts), a year's HTML report peaks ~40 MB
      // lower for no more CPU (bench/report).
      setFlagsFromString("--semi-space-growth-factor=1");
      const sample = sampleOf(f, io);
      if (sample === null) return setExit(EXIT.policyError);
      const expected = f.config !== undefined ? await expectedEvery(f.config, io) : undefined;
      if (expected === null) return setExit(EXIT.policyError);
      const list = listOf(f.list, io);
      if (list === false) return setExit(EXIT.policyError);
      const opts: import("./commands/report.js").ReportOptions = { from: f.from, to: f.to, controls: f.control, format: f.format, generator: version };
      if (list !== undefined) opts.list = list;
      if (f.out !== undefined) opts.out = f.out;
      if (sample) opts.sample = sample;
      if (f.tz !== undefined) opts.tz = f.tz;
      if (f.state !== undefined) opts.state = f.state;
      if (expected !== undefined) opts.expectedEveryMs = expected;
      setExit(await (await reportCommand()).runReport(opts, io));
    });
}

const MAX_SAMPLE = 10_000;

/** `--list N` or `--list all` (null); undefined when not given; false after saying what is wrong. */
function listOf(given: string | undefined, io: Io): number | null | undefined | false {
  if (given === undefined) return undefined;
  if (given === "all") return null;
  if (!/^\d{1,7}$/.test(given)) {
    io.err(`covenant report: --list wants a whole number or \`all\`, got \`${escapeText(given)}\``);
    return false;
  }
  return Number(given);
}

/** `--sample N --seed S`: both or neither; null after saying what is wrong. */
function sampleOf(f: Flags, io: Io): { size: number; seed: string } | undefined | null {
  if (f.sample === undefined && f.seed === undefined) return undefined;
  if (f.sample === undefined || f.seed === undefined) {
    io.err("covenant report: --sample and --seed go together: the seed makes the sample reproducible");
    return null;
  }
  if (!/^\d{1,5}$/.test(f.sample) || Number(f.sample) < 1 || Number(f.sample) > MAX_SAMPLE) {
    io.err(`covenant report: --sample wants a whole number from 1 to ${MAX_SAMPLE}, got \`${escapeText(f.sample)}\``);
    return null;
  }
  if (f.seed.length === 0 || f.seed.length > 200) {
    io.err("covenant report: --seed wants 1 to 200 characters");
    return null;
  }
  return { size: Number(f.sample), seed: f.seed };
}

/** covenant.yaml's `report.expected_every` (ms); undefined when it sets none; null after saying why it cannot be read. */
async function expectedEvery(path: string, io: Io): Promise<number | undefined | null> {
  const { loadConfig } = await import("../config/load.js");
  const loaded = loadConfig(path, { checkSecretFiles: false });
  const errors = loaded.diagnostics.filter((d) => d.severity === "error");
  if (!loaded.config || errors.length > 0) {
    for (const d of errors) io.err(`${escapeText(d.file)}:${d.line}:${d.column}: error[${d.code}]: ${escapeText(d.message)}`);
    io.err(`covenant report: the configuration ${escapeText(path)} has errors (see \`covenant check --config\`)`);
    return null;
  }
  return loaded.config.report?.expectedEveryMs;
}
