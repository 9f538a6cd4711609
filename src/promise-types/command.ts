// The schema of `command`: what a `command` promise may say. Its behaviour is src/evaluator/promise-types/command.ts.
import type { PromiseTypeSpec } from "./schema.js";

export const command: PromiseTypeSpec = {
  name: "command",
  summary: "A check-only command: its exit status and output.",
  description:
    "Runs a command (an argv list: no shell, no interpolation of observed data) and promises its exit status and, optionally, that its standard output matches a pattern (read line by line: `^` and `$` match at each line). A reason quotes the line that broke the promise (the first line where `output_excludes` matches) or the first line of standard error, escaped and cut to 200 characters, and never the rest of the output; with `nodiff = true` it quotes nothing at all. Commands never repair anything. Two promises on the same argv are two runs with their own checks: they contradict (E111) only by promising different `exit_code`s, not by matching different patterns.",
  promiser: { type: { kind: "argv" }, description: "The argv list; the first element is an absolute path to the program." },
  attributes: [
    { name: "exit_code", type: { kind: "integer", min: 0, max: 255 }, description: "Exit status the command must end with.", default: "0" },
    // Two promises on one command are two runs of it, each with its own checks: one output can
    // match two patterns, and runs as two users or with two limits are different runs. Only the
    // exit status is a single fact of one command that two promises can contradict.
    { name: "output_matches", type: { kind: "regex" }, description: "Pattern standard output must match.", comparable: false },
    { name: "output_excludes", type: { kind: "regex" }, description: "Pattern standard output must not match.", comparable: false },
    { name: "user", type: { kind: "string", nonEmpty: true }, description: "Run as this user (needs root).", comparable: false },
    { name: "max_output", type: { kind: "size" }, description: "Output kept for matching; the rest is discarded.", default: "64KiB", comparable: false },
    {
      name: "nodiff",
      type: { kind: "boolean" },
      description:
        "The output may hold secrets: no byte the command writes (standard output or error) reaches a reason, a difference, the store, a report or any message. Reasons then give line numbers only (`line 3 of the output matches /.../`).",
      default: "false",
      comparable: false,
    },
  ],
  repairs: "None: commands are check-only.",
  example: `command ["/usr/bin/test", "-f", "/srv/ledger/.closed"] {
  exit_code = 0
}`,
};
