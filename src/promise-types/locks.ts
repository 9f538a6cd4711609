// The schema of `locks`: what a `locks` promise may say. Its behaviour is src/evaluator/promise-types/locks.ts.
import type { PromiseTypeSpec } from "./schema.js";

export const locks: PromiseTypeSpec = {
  name: "locks",
  summary: "Who holds locks on files, from /proc/locks.",
  description:
    "Promises that locks (POSIX, flock or OFD) on the matching files are held only by the allowed processes, and that the number of locks stays within bounds. A lock that must be held (a posting service that owns the ledger) is written with `min`. A holder is allowed when it matches every one of `holders`, `holder_exe` and `holder_user` that is set. Which of them can be forged: a process's name (`holders`, the kernel's comm) and its command line are set by whoever starts it, and by the process itself, so any user can run a program called `ledger-postd`; its executable (`holder_exe`: the file the /proc/PID/exe link leads to, set by the kernel at exec, compared with the file at the promised path on the host, not only by its path, which a process in a mount namespace of its own can fake) and its user (`holder_user`, the effective uid in /proc/PID/status) cannot be changed by the process. Anyone can run the real program, so `holder_exe` proves the program, `holder_user` who runs it: use both where it matters.",
  promiser: { type: { kind: "path", glob: true }, description: "Absolute path or glob of the locked files." },
  attributes: [
    {
      name: "holders",
      type: { kind: "list", of: { kind: "string", nonEmpty: true } },
      description: "Process names (comm) allowed to hold the locks. Any user can give a program any name: pair it with `holder_exe` or `holder_user`, which cannot be forged.",
    },
    {
      name: "holder_exe",
      type: { kind: "oneOrMany", of: { kind: "path" } },
      description: "Executables allowed to hold the locks, from /proc/PID/exe Reading another user's process needs root. The executable is judged by file, not by the path the kernel shows: the process must run the very file (device and inode) at that path on the host; a copy shown under the same path in another mount namespace, or a program deleted or replaced since the process started it (an upgrade: restart it), does not match.",
    },
    { name: "holder_user", type: { kind: "list", of: { kind: "string", nonEmpty: true } }, description: "Users (names or numeric uids) allowed to hold the locks: the holder's effective uid, from /proc/PID/status." },
    { name: "min", type: { kind: "integer", min: 0 }, description: "Fewest locks that must be held." },
    { name: "max", type: { kind: "integer", min: 0 }, description: "Most locks that may be held." },
    { name: "kind", type: { kind: "oneOrMany", of: { kind: "enum", values: ["posix", "flock", "ofd"] } }, description: "Only count locks of these kinds." },
    { name: "access", type: { kind: "enum", values: ["read", "write", "any"] }, description: "Only count locks of this access.", default: "any" },
  ],
  constraints: [
    { kind: "lessOrEqual", lower: "min", upper: "max" },
    { kind: "atLeastOne", attributes: ["holders", "holder_exe", "holder_user", "min", "max"] },
  ],
  repairs: "None: lock findings are reported only.",
  example: `locks "/srv/ledger/*.dat" {
  holders     = ["ledger-postd"]
  holder_exe  = "/usr/local/bin/ledger-postd"
  holder_user = ["ledger"]
}`,
};
