// `covenant check [paths...]`: parse and check policies, print every diagnostic.
import { checkPaths } from "../../checker/check.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { renderDiagnostic, SourceMap, summaryLine, toJson } from "../render.js";

export interface CheckCommandOptions {
  format: "text" | "json";
  strict: boolean;
  today?: string;
}

export function runCheck(paths: string[], opts: CheckCommandOptions, io: Io): number {
  const result = checkPaths(paths.length > 0 ? paths : ["."], opts.today ? { today: opts.today } : {});
  const map = new SourceMap(result.files);
  const errors = result.diagnostics.filter((d) => d.severity === "error").length;
  const warnings = result.diagnostics.length - errors;
  if (opts.format === "json") {
    const promises = result.policy?.controls.reduce((n, c) => n + c.promises.length, 0);
    io.out(
      JSON.stringify(
        {
          files: result.files.map((f) => f.path),
          diagnostics: result.diagnostics.map((d) => toJson(d, map)),
          summary: { files: result.files.length, errors, warnings, controls: result.policy?.controls.length ?? null, promises: promises ?? null },
        },
        null,
        2,
      ),
    );
  } else {
    for (const d of result.diagnostics) io.out(`${renderDiagnostic(d, map, io.style)}\n`);
    io.out(summaryLine(result.diagnostics, result.files.length));
  }
  if (errors > 0 || (opts.strict && warnings > 0)) return EXIT.policyError;
  return EXIT.ok;
}
