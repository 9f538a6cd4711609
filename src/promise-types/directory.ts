// The schema of `directory`: what a `directory` promise may say. Its behaviour is src/evaluator/promise-types/directory.ts.
import { ownershipAttributes, type PromiseTypeSpec } from "./schema.js";

export const directory: PromiseTypeSpec = {
  name: "directory",
  summary: "Existence, permissions and ownership of directories, optionally of the files below them.",
  description:
    "Promises that the directory exists with the given mode, owner and group. With `recurse`, the same promise holds for every entry below it, down to `max_depth` levels. `watch = realtime` asks for files created, changed or removed inside it (down to `max_depth` with `recurse`) to be evaluated as they happen by `covenant watch`; `covenant run` evaluates every promise each time it runs.",
  promiser: { type: { kind: "path", glob: true }, description: "Absolute path or glob of the directories." },
  attributes: [
    {
      name: "exists",
      type: { kind: "boolean", or: ["optional"] },
      description:
        "Whether the directory must exist (`false`: must be absent). `optional` is the \"if present\" form (SCAP Security Guide's `missing_file_pass`): a missing directory, or a glob that matches none, is kept, and one that is there is judged by all the other attributes; `repair = create` never creates an optional directory. With `integrity`, entries approved and since removed are still `deleted` drift. A symbolic link at the path is never followed: it is drift (`type`).",
      default: "true",
    },
    ...ownershipAttributes("directory"),
    { name: "recurse", type: { kind: "boolean" }, description: "Apply owner, group and `max_mode` to every entry below.", default: "false" },
    { name: "max_depth", type: { kind: "integer", min: 1, max: 64 }, description: "How deep `recurse` goes.", default: "16" },
    { name: "watch", type: { kind: "enum", values: ["realtime", "scheduled"] }, description: "`realtime`: read by `covenant watch`, which evaluates the promise as soon as inotify reports a change inside the directory; `covenant run` evaluates every promise each time it runs. It makes the promise an integrity promise: the directory and what is directly in it (with `recurse`, its whole tree to `max_depth`) keep an approved state, and every entry added, removed or changed since is reported in AIDE's terms, with a diff for small text files (docs/watch-findings.md); `covenant approve` accepts a change. Without `integrity` the changes are shown and are not drift.", default: "scheduled" },
    {
      name: "integrity",
      type: { kind: "enum", values: ["sha256", "sha512"] },
      description:
        "Keep the tree as approved: the directory and what is in it (with `recurse`, its whole tree to `max_depth`) keep an approved state, as with `watch = realtime`, and an unapproved change of any entry (created, deleted, status, type, link target, content, mode, owner, group) is a deficiency until `covenant approve` accepts it. A change of only an mtime, inode or link count (a `touch`, a `sed -i` that changes nothing) is reported and is not drift; mode, owner and group the promise states itself (with `recurse`, the entries' owner, group and `max_mode`) are judged by those attributes, not by the approved state. The entries' approved states are compared by AIDE's attributes with sha256 whichever algorithm is named; the name is kept for symmetry with `file`.",
    },
    {
      name: "mask",
      type: { kind: "list", of: { kind: "regex", linear: true } },
      description:
        "More secret patterns for this promise's files, added to the built-in ones (docs/watch-findings.md, \"What is masked\"): each a regular expression applied to every line of a diff and of an approved copy, and to every argument of the command line of a process found at a changed file. Where one matches, its named group `secret` (or, without one, the whole match) is shown as `****` and kept only as a keyed digest. The patterns run on RE2's engine, in time linear in the line whatever they are (a file written to make a pattern backtrack cannot stall Covenant); what RE2 cannot run (lookaround, backreferences) is refused (E103). Add a pattern before the file is approved: a copy approved before it was written keeps the line as it was then.",
      comparable: false,
    },
    { name: "repair", type: { kind: "oneOrMany", of: { kind: "enum", values: ["perms", "create"] } }, description: "`perms` fixes mode, owner and group; `create` creates a missing directory." },
  ],
  constraints: [{ kind: "exclusive", attributes: ["mode", "max_mode"] }],
  repairs: "Mode, owner and group (`repair = perms`); creation of a missing directory (`repair = create`).",
  example: `directory "/srv/ledger" {
  mode      = 0750
  owner     = "ledger"
  group     = "finance"
  watch     = realtime
  integrity = sha256
}`,
};
