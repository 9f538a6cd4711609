import type { PromiseBehaviour } from "../contract.js";
import type { PromiseTypeSpec } from "../schema.js";

export const command: PromiseTypeSpec = {
  name: "command",
  summary: "A check-only command: its exit status and output.",
  description:
    "Runs a command (an argv list: no shell, no interpolation of observed data) and promises its exit status and, optionally, that its standard output matches a pattern. Commands never repair anything.",
  promiser: { type: { kind: "argv" }, description: "The argv list; the first element is an absolute path to the program." },
  attributes: [
    { name: "exit_code", type: { kind: "integer", min: 0, max: 255 }, description: "Exit status the command must end with.", default: "0" },
    { name: "output_matches", type: { kind: "regex" }, description: "Pattern standard output must match." },
    { name: "output_excludes", type: { kind: "regex" }, description: "Pattern standard output must not match." },
    { name: "user", type: { kind: "string", nonEmpty: true }, description: "Run as this user (needs root)." },
    { name: "max_output", type: { kind: "size" }, description: "Output kept for matching and reports; the rest is discarded.", default: "64KiB" },
  ],
  repairs: "None: commands are check-only.",
  example: `command ["/usr/bin/test", "-f", "/srv/ledger/.closed"] {
  exit_code = 0
}`,
};

/** Behaviour: observe, judge and repair (see ../contract.ts). Not yet implemented. */
export const commandBehaviour: PromiseBehaviour<unknown> | undefined = undefined;
