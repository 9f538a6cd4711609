// The schema of `process`: what a `process` promise may say. Its behaviour is src/evaluator/promise-types/process.ts.
import type { PromiseTypeSpec } from "./schema.js";

export const process: PromiseTypeSpec = {
  name: "process",
  summary: "Processes that must, or must not, run: counts, users, programs, command lines.",
  description:
    "Promises about the processes whose name matches the promiser: how many run (`min`, `max`; `max = 0` forbids them), which user they run as, which program they run and what their command line looks like. Read from /proc/[pid]/stat, status and cmdline, and /proc/[pid]/exe only when `exe` is set. What can be forged: the name (the kernel's comm, which the promiser matches) and the command line (`cmdline`, argv[0] included) are chosen by whoever starts the process and can be changed by the process itself, so any user can run a program called `postgres`. The executable (`exe`: the file the /proc/PID/exe link leads to, set by the kernel at exec, compared with the file at the promised path on the host, not only by its path, which a process in a mount namespace of its own can fake) and the user (`user`: the effective uid in /proc/PID/status) cannot be changed by the process. Anyone may run the real program, so `exe` proves which program runs and `user` who runs it: use both where it matters.",
  promiser: { type: { kind: "string", nonEmpty: true }, description: "Process name (the kernel's `comm`, up to 15 characters)." },
  attributes: [
    {
      name: "min",
      type: { kind: "integer", min: 0 },
      description: "Fewest matching processes. Unset, it is 1, or 0 when `max = 0`: `max = 0` alone forbids the process.",
      default: "1 (0 with max = 0)",
    },
    { name: "max", type: { kind: "integer", min: 0 }, description: "Most matching processes (`0`: must not run; `min` then defaults to 0)." },
    { name: "user", type: { kind: "string", nonEmpty: true }, description: "User every matching process must run as: its effective uid, from /proc/PID/status (cannot be forged)." },
    { name: "cmdline", type: { kind: "regex" }, description: "Only count processes whose command line matches (set by whoever starts the process: it can be forged)." },
    {
      name: "exe",
      type: { kind: "oneOrMany", of: { kind: "path" } },
      description:
        "Only count processes that run this executable (or one of these), from /proc/PID/exe; other processes of the same name are named in a note. The executable is judged by file, not by the path the kernel shows: the process must run the very file (device and inode) at that path on the host; a copy shown under the same path in another mount namespace, or a program deleted or replaced since the process started it (an upgrade: restart it), does not match. Reading another user's process needs root: when it cannot be read, the outcome is `error`.",
    },
    { name: "max_age", type: { kind: "duration" }, description: "Oldest a matching process may be (for jobs that must not hang)." },
    { name: "start", type: { kind: "argv" }, description: "Command (argv; no shell) that starts the process when too few run." },
    { name: "repair", type: { kind: "oneOrMany", of: { kind: "enum", values: ["start", "kill"] } }, description: "`start` runs `start` when too few run; `kill` terminates processes over `max`." },
  ],
  constraints: [
    { kind: "lessOrEqual", lower: "min", upper: "max" },
    { kind: "requires", attribute: "start", whenAttribute: "repair", hasValue: "start" },
  ],
  repairs: "Start through the declared `start` argv (`repair = start`); terminate forbidden or surplus processes (`repair = kill`).",
  example: `process "postgres" {
  min  = 1
  user = "postgres"
  exe  = "/usr/lib/postgresql/15/bin/postgres"
}`,
};
