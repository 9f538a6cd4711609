// What must hold for any input to `check` and `fmt`, run in-process through the functions behind
// them: no exception escapes (a policy error is a diagnostic, never a throw), every diagnostic
// lies within its file, the rendered diagnostics hold no raw control character, and on input that
// parses cleanly `fmt`'s output re-parses without errors and formats to itself.
import { copyFileSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkFiles } from "../../src/checker/check.ts";
import { loadPolicy } from "../../src/checker/load.ts";
import { SourceMap } from "../../src/parser/source-map.ts";
import { renderDiagnostic, toJson } from "../../src/cli/render.ts";
import { makeStyle } from "../../src/text/style.ts";
import { format } from "../../src/formatter/format.ts";
import type { Diagnostic } from "../../src/parser/diagnostics.ts";
import { parseSource } from "../../src/parser/parse.ts";

export interface Finding {
  kind: "crash" | "invariant";
  /** which step: parse, load, check, render, fmt */
  step: string;
  message: string;
  stack?: string;
}

/**
 * A directory holding the policy under test (written there for each input, read back as `check`
 * reads it) beside a real `common.promise`, so that mutated imports of it resolve and others miss.
 */
class Sandbox {
  readonly dir: string;
  readonly main: string;
  constructor() {
    // `npm run fuzz` hands its processes one directory, which it removes when it ends
    this.dir = realpathSync(process.env["COVENANT_FUZZ_DIR"] ?? mkdtempSync(join(tmpdir(), "covenant-fuzz-")));
    this.main = join(this.dir, "main.promise");
    copyFileSync("examples/sox/common.promise", join(this.dir, "common.promise"));
    copyFileSync("examples/sox/common.promise", this.main);
  }
}

let sandbox: Sandbox | undefined;
/** The fuzz directory (made on first use) for callers that want to remove it. */
export function fuzzDirectory(): string {
  sandbox ??= new Sandbox();
  return sandbox.dir;
}

const TODAY = "2026-12-05";
// Control characters, line breaks and bidirectional controls: none may reach a terminal raw.
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const plain = makeStyle(false);

function failure(step: string, err: unknown): Finding {
  const e = err instanceof Error ? err : new Error(String(err));
  return { kind: "crash", step, message: `${e.name}: ${e.message}`, stack: e.stack };
}

/** Runs `check` and `fmt`'s functions on one input and returns every broken invariant (none when all hold). */
export function examine(text: string): Finding[] {
  return [...examineCheck(text), ...formatting(text)];
}

/** `check`'s steps: load (imports resolved beside the file), check, render every diagnostic. */
export function examineCheck(text: string): Finding[] {
  const box = (sandbox ??= new Sandbox());
  const findings: Finding[] = [];
  let step = "load";
  try {
    // the policy under test is written where `check` reads it, beside the files it may import
    writeFileSync(box.main, text);
    const loaded = loadPolicy([box.main]);
    step = "check";
    const result = checkFiles(loaded.files, loaded.diagnostics, { today: TODAY });
    step = "positions";
    findings.push(...positions(result.diagnostics, new Map(result.files.map((f) => [f.path, f.text.length]))));
    step = "render";
    const map = new SourceMap(result.files);
    for (const d of result.diagnostics) {
      const shown = renderDiagnostic(d, map, plain);
      if (RAW.test(shown)) findings.push({ kind: "invariant", step, message: `a rendered ${d.code} holds a raw control character: ${JSON.stringify(shown)}` });
      JSON.stringify(toJson(d, map));
    }
  } catch (err) {
    findings.push(failure(step, err));
  }
  return findings;
}

/** Every span of a diagnostic lies within its file (files that could not be read have no length, and no check). */
export function positions(diagnostics: Diagnostic[], lengths: Map<string, number>): Finding[] {
  const out: Finding[] = [];
  const inside = (span: { file: string; start: number; end: number }, what: string) => {
    const length = lengths.get(span.file);
    if (length === undefined) return; // a file that could not be read: its span is 0..0
    if (!(span.start >= 0 && span.start <= span.end && span.end <= length)) {
      out.push({ kind: "invariant", step: "positions", message: `${what} at ${span.start}..${span.end} lies outside ${span.file} (${length} characters)` });
    }
  };
  for (const d of diagnostics) {
    inside(d.span, d.code);
    for (const r of d.related ?? []) inside(r.span, `${d.code}'s related note`);
  }
  return out;
}

/** `fmt`'s steps: only a file that parses without errors is rewritten. */
export function formatting(text: string): Finding[] {
  let step = "parse";
  try {
    const file = parseSource("main.promise", text);
    if (file.diagnostics.some((d) => d.severity === "error")) return [];
    step = "fmt";
    const once = format(file);
    step = "re-parse";
    const again = parseSource("main.promise", once);
    const errors = again.diagnostics.filter((d) => d.severity === "error");
    if (errors.length > 0) {
      return [{ kind: "invariant", step, message: `fmt's output does not parse: ${errors.map((d) => `${d.code} ${d.message}`).join("; ")}\n--- output ---\n${once}` }];
    }
    step = "fmt twice";
    const twice = format(again);
    if (twice !== once) return [{ kind: "invariant", step, message: `fmt is not idempotent\n--- once ---\n${once}\n--- twice ---\n${twice}` }];
  } catch (err) {
    return [failure(step, err)];
  }
  return [];
}
