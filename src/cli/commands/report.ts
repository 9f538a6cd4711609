// `covenant report`: the evidence report over a period, from the host's store opened read-only
// (beside a running run, or on a copy an auditor was given), as JSON (the model as it is),
// Markdown, CSV (one file per table) or HTML. Exit 1 when the chain over the period does not
// verify: the report is still written, and says so.
import { lstatSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { PeriodError } from "../../facts/period.js";
import { buildReport, UnknownControlError, type BuildOptions } from "../../report/report-build.js";
import { renderReportCsv } from "../../report/report-csv.js";
import { renderReportHtml } from "../../report/report-html.js";
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
  tz?: string;
  state?: string;
  expectedEveryMs?: number;
  generator: string;
  now?: Date;
}

/** The files of one format: name and text, in pieces. */
function filesOf(report: EvidenceReport, format: ReportFormat): Map<string, Iterable<string>> {
  if (format === "json") return new Map([["report.json", reportJsonPieces(report)]]);
  if (format === "md") return new Map([["report.md", [`${renderReportMarkdown(report)}\n`]]]);
  if (format === "csv") return new Map([...renderReportCsv(report)].map(([name, text]) => [name, [text]]));
  return new Map([["report.html", [renderReportHtml(report)]]]);
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
    for (const pieces of files.values()) io.out([...pieces].join("").replace(/\n$/, ""));
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
