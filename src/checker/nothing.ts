// A run or check that finds no promise has nothing to evaluate: an empty directory, an empty
// file, a file of comments or `let`s only, a path mistyped in a crontab. Reporting "no
// deficiencies" for it would vouch for a host nothing was checked on, so it is an error (E010,
// exit 2) that says why nothing was found.
import type { SourceFile } from "../parser/ast.js";
import { diagnostic, type Diagnostic } from "../parser/diagnostics.js";
import { displayPath } from "./load.js";
import type { Policy } from "./policy.js";

const quoted = (names: string[]) => names.map((n) => `\`${n}\``).join(", ");
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** What the policy's files hold when they hold no control: "only comments", "only `let`, `stakeholder` declarations". */
function holdings(files: SourceFile[]): string {
  const kinds = [...new Set(files.flatMap((f) => f.statements.map((s) => s.kind)))];
  if (kinds.length > 0) return `only ${kinds.map((k) => `\`${k}\``).join(", ")} declarations`;
  if (files.some((f) => f.comments.length > 0)) return "only comments";
  return files.length === 1 ? "it is empty" : "they are empty";
}

/**
 * E010 when there is nothing to evaluate, undefined otherwise. `paths` are those named (the
 * current directory when none were); `emptyDirectories` those of them holding no policy file.
 * With other errors, it is added only when no policy file could be read at all: otherwise
 * those errors say what is wrong.
 */
export function nothingToEvaluate(paths: string[], emptyDirectories: string[], files: SourceFile[], diagnostics: Diagnostic[], policy: Policy | undefined): Diagnostic | undefined {
  const at = { file: displayPath(paths[0] ?? "."), start: 0, end: 0 };
  const hasErrors = diagnostics.some((d) => d.severity === "error");
  if (files.length === 0) {
    if (emptyDirectories.length === paths.length && !hasErrors) {
      return diagnostic("E010", `nothing to evaluate: no .promise file in ${quoted(emptyDirectories.map(displayPath))}`, at, { suggestion: "name the directory that holds the policy, or its .promise files" });
    }
    return diagnostic("E010", "nothing to evaluate: no policy file could be read (see above)", at);
  }
  if (hasErrors || !policy) return undefined;
  // a control without promises is an error already (E104): a policy without errors has promises if it has controls
  if (policy.controls.length > 0) return undefined;
  const which = files.length === 1 ? `\`${files[0]!.path}\` holds` : `the policy's ${plural(files.length, "file")} hold`;
  return diagnostic("E010", `nothing to evaluate: ${which} no control: ${holdings(files)}`, files.length === 1 ? { file: files[0]!.path, start: 0, end: 0 } : at, { suggestion: "a policy's promises are declared in `control` blocks: check that the path names the policy" });
}
