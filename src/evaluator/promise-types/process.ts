import type { PromiseBehaviour } from "../contract.js";
import type { PromiseTypeSpec } from "../schema.js";

export const process: PromiseTypeSpec = {
  name: "process",
  summary: "Processes that must, or must not, run: counts, users, command lines.",
  description:
    "Promises about the processes whose name matches the promiser: how many run (`min`, `max`; `max = 0` forbids them), which user they run as and what their command line looks like. Read from /proc/[pid]/stat, status and cmdline.",
  promiser: { type: { kind: "string", nonEmpty: true }, description: "Process name (the kernel's `comm`, up to 15 characters)." },
  attributes: [
    { name: "min", type: { kind: "integer", min: 0 }, description: "Fewest matching processes.", default: "1" },
    { name: "max", type: { kind: "integer", min: 0 }, description: "Most matching processes (`0`: must not run)." },
    { name: "user", type: { kind: "string", nonEmpty: true }, description: "User every matching process must run as." },
    { name: "cmdline", type: { kind: "regex" }, description: "Only count processes whose command line matches." },
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
}`,
};

/** Behaviour: observe, judge and repair (see ../contract.ts). Not yet implemented. */
export const processBehaviour: PromiseBehaviour<unknown> | undefined = undefined;
