// `covenant fmt [paths...]`: rewrite policies in the canonical layout.
import { readFileSync, writeFileSync } from "node:fs";
import { displayPath, expandPaths } from "../../checker/load.js";
import { format } from "../../formatter/format.js";
import { capDiagnostics, compareDiagnostics } from "../../parser/diagnostics.js";
import { parseSource } from "../../parser/parse.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { renderDiagnostic, SourceMap } from "../render.js";

export interface FmtCommandOptions {
  check: boolean;
  stdout: boolean;
}

export function runFmt(paths: string[], opts: FmtCommandOptions, io: Io): number {
  const { files, diagnostics } = expandPaths(paths.length > 0 ? paths : ["."]);
  let failed = diagnostics.length > 0;
  for (const d of diagnostics) io.err(renderDiagnostic(d, new SourceMap([]), io.errStyle));
  const changed: string[] = [];
  for (const path of files) {
    const shown = displayPath(path);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      io.err(`${shown}: error E006: cannot read: ${(err as Error).message}`);
      failed = true;
      continue;
    }
    const file = parseSource(shown, text);
    // in the order `check` prints them: the scanner's and the literals' come after the grammar's
    const errors = capDiagnostics(file.diagnostics.filter((d) => d.severity === "error").sort(compareDiagnostics), { errors: file.dropped?.errors ?? 0, warnings: 0 });
    if (errors.length > 0) {
      // Never rewrite a file we could not fully parse: formatting must not lose a byte of meaning.
      const map = new SourceMap([file]);
      for (const d of errors) io.err(renderDiagnostic(d, map, io.errStyle));
      failed = true;
      continue;
    }
    const formatted = format(file);
    if (opts.stdout) {
      io.out(formatted.replace(/\n$/, ""));
      continue;
    }
    if (formatted === text) continue;
    changed.push(shown);
    if (opts.check) io.out(`would reformat ${shown}`);
    else {
      writeFileSync(path, formatted);
      io.out(`formatted ${shown}`);
    }
  }
  if (failed) return EXIT.policyError;
  if (opts.check && changed.length > 0) return EXIT.deficiencies;
  return EXIT.ok;
}
