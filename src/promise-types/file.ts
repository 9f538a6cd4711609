// The schema of `file`: what a `file` promise may say. Its behaviour is src/evaluator/promise-types/file.ts.
import { ownershipAttributes, type PromiseTypeSpec } from "./schema.js";

export const file: PromiseTypeSpec = {
  name: "file",
  summary: "Permissions, ownership, content integrity and lock holders of files.",
  description:
    "Promises that every file matching the path or glob exists (unless `exists = false`, or `exists = optional`: only if it is there) with the given mode, owner and group, that its content matches the approved baseline hash, and that only the named processes hold locks on it. A symbolic link at the path is never followed: it is drift (`type`: not a regular file), whatever else the promise says, with `exists = optional` too. OpenSCAP, judging SCAP Security Guide's file rules (`file_permissions`, `file_owner`, `file_groupowner`), reads a link itself as well (`lstat`), never its target: the owner and group it judges are the link's, and the mode, always 0777 for a link on Linux, fails every permissions rule. So a link fails here wherever it fails there, and also where SSG would pass it on owner or group alone.",
  promiser: { type: { kind: "path", glob: true }, description: "Absolute path or glob of the files." },
  attributes: [
    {
      name: "exists",
      type: { kind: "boolean", or: ["optional"] },
      description:
        "Whether the file must exist (`false`: must be absent). `optional` is the \"if present\" form of SCAP Security Guide rules (their `missing_file_pass`, OVAL's `check_existence=\"any_exist\"`): a missing file, or a glob that matches none, is kept, and every file that is there is judged by all the other attributes. With `integrity`, a file approved as absent may stay absent, and one approved present that disappears is still `deleted` drift until `covenant approve` accepts it: the approved state is what an integrity promise keeps. `repair = content` never creates a file that is merely missing; with `integrity` it restores one approved there and since deleted, as it would without `optional`. Two promises on one path with different `exists` (`optional` and `true` too) contradict (E111): say one thing.",
      default: "true",
    },
    ...ownershipAttributes("file"),
    {
      name: "integrity",
      type: { kind: "enum", values: ["sha256", "sha512"] },
      description:
        "Keep a baseline content hash, and keep the file as approved: each file's approved state (AIDE's attributes, and a copy of a small text file with secret lines masked) is kept, and every change since is reported in AIDE's terms with a diff (docs/watch-findings.md). An unapproved change of what the file is (created, deleted, status, type, link target, content, mode, owner, group) is a deficiency until `covenant approve` accepts it; a change of only its mtime, inode or link count (a `touch`, a `sed -i` that changes nothing) is reported and is not drift. A `mode`, `owner` or `group` the promise states, and with `baseline` the content, are judged by those instead of the approved state. A glob's files are kept as a set: until any file it matches has an approved state, what it names is approved as first seen; from then on a new file it matches is `created` and one approved that it no longer matches (deleted, or renamed away) is `deleted`, as AIDE reports a selection.",
    },
    { name: "watch", type: { kind: "enum", values: ["realtime", "scheduled"] }, description: "`realtime`: read by `covenant watch`, which evaluates the promise as soon as inotify reports a change to it (and on its schedule too); `covenant run` evaluates every promise each time it runs, as it does `scheduled`. `scheduled`: evaluated by each run and on the watcher's schedule only. `realtime` makes the promise an integrity promise: what changed since the file's approved state is reported in AIDE's terms (docs/watch-findings.md); without `integrity` the changes are shown and are not drift.", default: "scheduled" },
    {
      name: "locked_by",
      type: { kind: "list", of: { kind: "string", nonEmpty: true } },
      description: "Process names (comm) that alone may hold locks on the file (from /proc/locks). Any user can give a program any name: pair it with `locked_by_exe` or `locked_by_user`, which cannot be forged.",
    },
    {
      name: "locked_by_exe",
      type: { kind: "oneOrMany", of: { kind: "path" } },
      description: "Executables that alone may hold locks on the file, from /proc/PID/exe Reading another user's process needs root. The executable is judged by file, not by the path the kernel shows: the process must run the very file (device and inode) at that path on the host; a copy shown under the same path in another mount namespace, or a program deleted or replaced since the process started it (an upgrade: restart it), does not match.",
    },
    { name: "locked_by_user", type: { kind: "list", of: { kind: "string", nonEmpty: true } }, description: "Users (names or numeric uids) that alone may hold locks on the file: the holder's effective uid, from /proc/PID/status." },
    { name: "max_size", type: { kind: "size" }, description: "Largest size the file may have." },
    {
      name: "max_links",
      type: { kind: "integer", min: 1, max: 65000 },
      description: "Most hard links (names) the file may have; `1` promises that no other name reaches its content.",
    },
    { name: "max_age", type: { kind: "duration" }, description: "Oldest modification time allowed (for files that must be refreshed, such as exports)." },
    { name: "baseline", type: { kind: "path" }, description: "Approved copy of the content, used by `repair = content`. `covenant approve` replaces it with the approved content, so a content repair cannot undo an approved change." },
    {
      name: "max_hash_size",
      type: { kind: "size" },
      description:
        "Largest file whose content is hashed (for `integrity` and `baseline`); a larger file is not read and the promise is `error`, saying so. Hashing also stops at the promise's `timeout`.",
    },
    {
      name: "repair",
      type: { kind: "oneOrMany", of: { kind: "enum", values: ["perms", "content"] } },
      description: "What may be repaired: `perms` fixes mode, owner and group; `content` restores the approved baseline copy. Content drift is otherwise only reported.",
    },
    {
      name: "mask",
      type: { kind: "list", of: { kind: "regex", linear: true } },
      description:
        "More secret patterns for this promise's files, added to the built-in ones (docs/watch-findings.md, \"What is masked\"): each a regular expression applied to every line of a diff and of an approved copy, and to every argument of the command line of a process found at a changed file. Where one matches, its named group `secret` (or, without one, the whole match) is shown as `****` and kept only as a keyed digest. The patterns run on RE2's engine, in time linear in the line whatever they are (a file written to make a pattern backtrack cannot stall Covenant); what RE2 cannot run (lookaround, backreferences) is refused (E103). Add a pattern before the file is approved: a copy approved before it was written keeps the line as it was then.",
      comparable: false,
    },
    {
      name: "nodiff",
      type: { kind: "boolean" },
      description:
        "For files holding secrets. Covenant never records or shows a file's content, nor a diff of it; with `nodiff = true` no digest of it appears in reasons, differences, reports (text, JSON, JUnit) or the history's change records either: a digest of a short secret (a PIN) finds it by trying every guess. Nor does the store: the approved baseline and its approval in the history keep an HMAC of the digest under the host key, which cannot be tried without the key (integrity compares the content's keyed digest with it, and `covenant history` shows `(withheld: nodiff)` where it records the approval), and so does the state that tells a second change from the first.",
      default: "false",
    },
  ],
  constraints: [
    { kind: "exclusive", attributes: ["mode", "max_mode"] },
    { kind: "requires", attribute: "baseline", whenAttribute: "repair", hasValue: "content" },
  ],
  repairs: "Mode, owner and group (`repair = perms`); content from the approved `baseline` copy (`repair = content`).",
  example: `file "/srv/ledger/*.dat" -> [compliance] {
  mode      = 0640
  owner     = "ledger"
  group     = "finance"
  integrity = sha256
  repair    = perms
}`,
};
