// The schema of `lines`: what a `lines` promise may say. Its behaviour is src/evaluator/promise-types/lines.ts.
import type { PromiseTypeSpec } from "./schema.js";

export const lines: PromiseTypeSpec = {
  name: "lines",
  summary: "Lines present in, or absent from, a file or a glob of files, for text that has no format of its own.",
  description:
    "Promises that a file (or the files a glob matches, with a quantifier: `every`, `at_least_one` or `none` of them) holds the given lines, holds a line matching each given pattern, and holds no line matching a forbidden pattern. Lines are the file's newline-separated lines, compared without the newline (a `\\r` before it is part of the line). Patterns are anchored: each must match a whole line. They run on RE2's engine, in time linear in the line whatever they are, since a file's content may be written by an adversary; what RE2 cannot run (lookaround, backreferences) is refused (E103). A file is read without following a symbolic link: a link where a file is named is judged as not holding the lines. Findings quote the offending line with secrets masked (the built-in patterns of docs/watch-findings.md), escaped and cut to 200 characters, never more of the file; with `nodiff = true` they quote nothing of it.",
  promiser: { type: { kind: "path", glob: true }, description: "Absolute path or glob of the files." },
  attributes: [
    {
      name: "present",
      selects: true,
      type: { kind: "list", of: { kind: "string", pattern: /^[^\n]*$/, patternHint: "one line, without its newline" }, nonEmpty: true },
      description: "Lines that must each be in the file, exactly (without the newline). `repair = append` appends a missing one at the end of the file.",
    },
    {
      name: "matching",
      selects: true,
      type: { kind: "list", of: { kind: "regex", linear: true }, nonEmpty: true },
      description: "Anchored patterns, each of which must match at least one whole line. Not repaired: a pattern says what may be there, not what to write.",
    },
    {
      name: "absent",
      selects: true,
      type: { kind: "list", of: { kind: "regex", linear: true }, nonEmpty: true },
      description: "Anchored patterns no whole line may match (as CFEngine's `delete_lines`): `\"PermitRootLogin\\\\s+yes\"` forbids that line with any spacing. `repair = remove` deletes every matching line.",
    },
    {
      name: "quantifier",
      type: { kind: "enum", values: ["every", "at_least_one", "none"] },
      description:
        "For a glob: `every` matching file must hold the promise (and at least one file must match); `at_least_one` of them must (its repair changes nothing unless exactly one file matches); `none` may (a glob matching no file keeps it; not repaired). A path without wildcards is one file: a missing one does not hold the promise.",
      default: "every",
    },
    {
      name: "max_size",
      type: { kind: "size" },
      description: "Largest file read; a larger one makes the promise `error`, saying so.",
      default: "4MiB",
    },
    {
      name: "repair",
      type: { kind: "oneOrMany", of: { kind: "enum", values: ["append", "remove"] } },
      description:
        "`append`: add each missing `present` line at the end of the file (after a newline, if the file does not end with one). `remove`: delete each line an `absent` pattern matches. The edit keeps every other byte of the file, its mode and its owner; it replaces the file by a new one renamed over it, so extended attributes and ACLs are not kept, and a file with more than one hard link is not edited (held). It is made only if the file is still the one observed, with the same content; a missing file is not created.",
    },
    {
      name: "nodiff",
      type: { kind: "boolean" },
      description: "For files holding secrets: findings name the file and the line number, never the line's text.",
      default: "false",
    },
  ],
  constraints: [{ kind: "atLeastOne", attributes: ["present", "matching", "absent"] }],
  repairs: "A minimal edit of the file (`repair = append` adds missing lines, `repair = remove` deletes forbidden ones), keeping the rest byte for byte, its mode and owner; through the change gate, only to the file observed, never through a link.",
  example: `lines "/etc/security/limits.conf" {
  present = ["*               hard    core            0"]
  absent  = ["\\\\*\\\\s+soft\\\\s+core\\\\s+unlimited"]
  repair  = [append, remove]
}`,
};
