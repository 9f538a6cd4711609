// `covenant report`: the evidence report over a period, from the host's store opened read-only
// (beside a running run, or on a copy an auditor was given), as JSON (the model as it is),
// Markdown, CSV (one file per table) or HTML. Exit 1 when the chain over the period does not
// verify: the report is still written, and says so.
import { lstatSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { PeriodError } from "../../facts/period.js";
import { buildReport, UnknownControlError, type BuildOptions } from "../../report/report-build.js";
import { renderReportCsv } from "../../report/report-csv.js";
import { reportHtmlPieces } from "../../report/report-html.js";
import { reportJsonPieces } from "../../report/report-json.js";
import { renderReportMarkdown } from "../../report/report-markdown.js";
import type { EvidenceReport } from "../../report/report-model.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { writeReportPieces } from "../report-file.js";
import { reportPeriod } from "../report-period.js";
import { withStoreForReading } from "../store-access.js";

export type ReportFormat = "html" | "json" | "csv" | "md";

export interface ReportOptions {
  from: string;
  to: string;
  controls: string[];
  format: ReportFormat;
  out?: string;
  sample?: { size: number; seed: string };
  /** the most episodes and repairs listed per control; null for every one; undefined for the format's own (below) */
  list?: number | null;
  tz?: string;
  state?: string;
  expectedEveryMs?: number;
  generator: string;
  now?: Date;
}

/** A report for reading lists 100 episodes and repairs per control; one for machines lists every one. */
export const DEFAULT_LIST = 100;

function listFor(opts: ReportOptions): number | undefined {
  if (opts.list === null) return undefined;
  if (opts.list !== undefined) return opts.list;
  return opts.format === "html" || opts.format === "md" ? DEFAULT_LIST : undefined;
}

/** The files of one format: name and text, in pieces. */
function filesOf(report: EvidenceReport, format: ReportFormat): Map<string, Iterable<string>> {
  if (format === "json") return new Map([["report.json", reportJsonPieces(report)]]);
  if (format === "md") return new Map([["report.md", [`${renderReportMarkdown(report)}\n`]]]);
  if (format === "csv") return new Map([...renderReportCsv(report)].map(([name, text]) => [name, [text]]));
  return new Map([["report.html", reportHtmlPieces(report)]]);
}

/** The output directory: made when missing (0755), never a link; an existing one must be a directory. */
function outDir(dir: string): string | undefined {
  try {
    mkdirSync(dir, { mode: 0o755 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") return String((err as NodeJS.ErrnoException).code ?? (err as Error).message);
  }
  const st = lstatSync(dir);
  return st.isDirectory() ? undefined : "it is not a directory (a link is not followed)";
}

export async function runReport(opts: ReportOptions, io: Io): Promise<number> {
  if (opts.format === "csv" && opts.out === undefined) {
    io.err("covenant report: --format csv writes one file per table (controls, episodes, gaps, sample): give --out DIR");
    return EXIT.policyError;
  }
  let report: EvidenceReport | undefined;
  const code = withStoreForReading(opts.state, io, "report", (store) => {
    try {
      const { period } = reportPeriod(store, opts.from, opts.to, opts.tz);
      const build: BuildOptions = { period, controls: opts.controls, generator: opts.generator };
      if (opts.sample) build.sample = opts.sample;
      const list = listFor(opts);
      if (list !== undefined) build.list = list;
      if (opts.expectedEveryMs !== undefined) build.expectedEveryMs = opts.expectedEveryMs;
      if (opts.now) build.now = opts.now;
      report = buildReport(store, build);
      return EXIT.ok;
    } catch (err) {
      if (!(err instanceof PeriodError) && !(err instanceof UnknownControlError)) throw err;
      io.err(`covenant report: ${escapeText(err.message)}`);
      return EXIT.policyError;
    }
  });
  if (code !== EXIT.ok || !report) return code;
  const files = filesOf(report, opts.format);
  const done = report.integrity.verdict === "tampered" ? EXIT.deficiencies : EXIT.ok;
  if (done !== EXIT.ok) io.err(`covenant report: TAMPERED: ${escapeText(report.integrity.tampering?.message ?? "the chain over the period does not verify")}; the report says so; run \`covenant verify\``);
  if (opts.out === undefined) {
    for (const pieces of files.values()) await printPieces(pieces, io);
    return done;
  }
  const refused = outDir(opts.out);
  if (refused) {
    io.err(`covenant report: cannot write to ${escapeText(opts.out)}: ${escapeText(refused)}`);
    return EXIT.policyError;
  }
  for (const [name, pieces] of files) {
    try {
      writeReportPieces(join(opts.out, name), pieces);
    } catch (err) {
      io.err(`covenant report: cannot write ${escapeText(join(opts.out, name))}: ${escapeText(String((err as NodeJS.ErrnoException).code ?? (err as Error).message))}`);
      return EXIT.policyError;
    }
  }
  return done;
}

/** Chunks below V8's largest young object (128 KiB): a megabyte chunk goes to the old generation, and a year's JSON peaked at ~200 MB of heap so. */
export const PRINT_CHUNK = 1 << 16;

/**
 * Prints a report given in pieces 64 KiB at a time, each chunk ending at a line's end (so `out`
 * adds no newline of its own), waiting for each to leave the process: a year's JSON is never one
 * string, nor queued whole in memory for a slow pipe.
 */
export async function printPieces(pieces: Iterable<string>, io: Io): Promise<void> {
  let pending = "";
  for (const piece of pieces) {
    pending += piece;
    if (pending.length < PRINT_CHUNK) continue;
    const cut = pending.lastIndexOf("\n") + 1;
    if (cut === 0) continue;
    const chunk = pending.slice(0, cut);
    pending = pending.slice(cut);
    if (io.outFlushed) await io.outFlushed(chunk);
    else io.out(chunk);
  }
  const rest = pending.replace(/\n$/, "");
  if (rest.length > 0 || pending.length > 0) io.out(rest);
}
