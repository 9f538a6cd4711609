// What makes a policy's text a file mode, an absolute path or a regular expression (values.ts
// checks the value's kind and finds its text; these say what is wrong with the text itself).
import { globProblem } from "./glob.js";
import { linearTimeProblem } from "./regex-safety.js";

/** What is wrong with a text, for a diagnostic (E103), and how to write it instead. */
export interface TextProblem {
  message: string;
  suggestion?: string;
}

/** a `.` or `..` path component (tested without splitting every path into an array of parts) */
const DOT_COMPONENT = /(?:^|\/)\.\.?(?:\/|$)/;

/** Why `raw` is not an octal file mode (the whole message), or undefined when it is one. */
export function modeProblem(raw: string): string | undefined {
  if (/^[0-7]{3,4}$/.test(raw)) return undefined;
  const hint = /^\d{3,4}$/.test(raw) ? "digits must be 0 to 7" : "write three or four octal digits such as `0640`";
  return `\`${raw}\` is not an octal file mode: ${hint}`;
}

/** Why `s` is not an absolute path for `subject` (`glob`: globs allowed), or undefined when it is one. */
export function pathProblem(s: string, glob: boolean | undefined, subject: string): TextProblem | undefined {
  if (!s.startsWith("/")) return { message: `${subject} must be an absolute path, got \`${s}\``, suggestion: s.startsWith(".") ? "paths are not relative to the policy: write the full path" : `write \`/${s}\`` };
  // a `..` would make the same text name different files in a sandbox and on the host, and
  // lead a sandboxed run out of its sandbox
  if (DOT_COMPONENT.test(s)) return { message: `\`${s}\` is not valid for ${subject}: a path may not have \`.\` or \`..\` components`, suggestion: "write the path without them" };
  const problem = glob ? globProblem(s) : /[*?[]/.test(s) ? "globs are not allowed here" : undefined;
  return problem ? { message: `\`${s}\` is not valid for ${subject}: ${problem}` } : undefined;
}

/** Why `s` is not a regular expression (`linear`: one RE2 runs), or undefined when it is one. */
export function regexProblem(s: string, linear: boolean | undefined): TextProblem | undefined {
  // a linear pattern runs on RE2 alone, so RE2 alone says what it may be: `(?i)` is RE2's
  // and not JavaScript's, lookaround is JavaScript's and not RE2's
  if (!linear) {
    try {
      new RegExp(s);
    } catch (err) {
      return { message: `\`${s}\` is not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: \/.*\/\w*: /, "")}` };
    }
  }
  const problem = linear ? linearTimeProblem(s) : undefined;
  if (problem) return { message: `\`${s}\` cannot run in time linear in the line (RE2): ${problem}`, suggestion: "secret patterns run on RE2's engine, which has no lookaround and no backreference: write it without them, such as `(?<secret>\\S.*)$`" };
  return undefined;
}
