// `covenant check [paths...]`: parse and check policies, print every diagnostic.
import { checkFiles } from "../../checker/check.js";
import { loadPolicy } from "../../checker/load.js";
import { countDiagnostics } from "../../parser/diagnostics.js";
import { nothingToEvaluate } from "../../checker/nothing.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { checkConfiguration } from "../../config/check.js";
import { SourceMap } from "../../parser/source-map.js";
import { renderDiagnostic, summaryLine, toJson } from "../render.js";

export interface CheckCommandOptions {
  format: "text" | "json";
  strict: boolean;
  today?: string;
  /** directories whose .promise files may be imported besides the policy's own (--include) */
  include?: string[];
  /** the largest policy file read, in bytes (--max-file-size) */
  maxFileSize?: number;
  /** covenant.yaml (--config); else the one found where `run` would look (docs/configuration.md) */
  config?: string;
}

export function runCheck(paths: string[], opts: CheckCommandOptions, io: Io): number {
  const t0 = performance.now();
  const named = paths.length > 0 ? paths : ["."];
  const loaded = loadPolicy(named, { include: opts.include ?? [], ...(opts.maxFileSize !== undefined ? { maxFileSize: opts.maxFileSize } : {}) });
  const t1 = performance.now();
  const result = checkFiles(loaded.files, loaded.diagnostics, opts.today ? { today: opts.today } : {});
  // a policy with no promise checks nothing: never "clean"
  const nothing = nothingToEvaluate(named, loaded.emptyDirectories, result.files, result.diagnostics, result.policy);
  if (nothing) result.diagnostics.push(nothing);
  const map = new SourceMap(result.files);
  const config = checkConfiguration(opts.config, result.policy, map);
  result.diagnostics.push(...config.diagnostics);
  const fileCount = result.files.length + (config.read ? 1 : 0);
  const t2 = performance.now();
  const { errors, warnings } = countDiagnostics(result.diagnostics);
  if (opts.format === "json") {
    const promises = result.policy?.controls.reduce((n, c) => n + c.promises.length, 0);
    io.out(
      JSON.stringify(
        {
          files: result.files.map((f) => f.path),
          config: config.path ?? null,
          diagnostics: result.diagnostics.map((d) => toJson(d, map)),
          summary: { files: fileCount, errors, warnings, controls: result.policy?.controls.length ?? null, promises: promises ?? null },
        },
        null,
        2,
      ),
    );
  } else {
    for (const d of result.diagnostics) io.out(`${renderDiagnostic(d, map, io.style)}\n`);
    io.out(summaryLine(result.diagnostics, fileCount));
  }
  if (process.env["COVENANT_TIMINGS"]) {
    // for performance work: where a run spends its time, on stderr
    const ms = (a: number, b: number) => `${(b - a).toFixed(1)} ms`;
    io.err(`timings: start-up ${ms(0, t0)}, read+parse ${ms(t0, t1)}, check ${ms(t1, t2)}, report ${ms(t2, performance.now())}`);
  }
  if (errors > 0 || (opts.strict && warnings > 0)) return EXIT.policyError;
  return EXIT.ok;
}
