import type { PromiseBehaviour } from "../contract.js";
import type { PromiseTypeSpec } from "../schema.js";

export const locks: PromiseTypeSpec = {
  name: "locks",
  summary: "Who holds locks on files, from /proc/locks.",
  description:
    "Promises that locks (POSIX, flock or OFD) on the matching files are held only by the named processes, and that the number of locks stays within bounds. A lock that must be held (a posting service that owns the ledger) is written with `min`.",
  promiser: { type: { kind: "path", glob: true }, description: "Absolute path or glob of the locked files." },
  attributes: [
    { name: "holders", type: { kind: "list", of: { kind: "string", nonEmpty: true } }, description: "Process names allowed to hold the locks." },
    { name: "min", type: { kind: "integer", min: 0 }, description: "Fewest locks that must be held." },
    { name: "max", type: { kind: "integer", min: 0 }, description: "Most locks that may be held." },
    { name: "kind", type: { kind: "oneOrMany", of: { kind: "enum", values: ["posix", "flock", "ofd"] } }, description: "Only count locks of these kinds." },
    { name: "access", type: { kind: "enum", values: ["read", "write", "any"] }, description: "Only count locks of this access.", default: "any" },
  ],
  constraints: [
    { kind: "lessOrEqual", lower: "min", upper: "max" },
    { kind: "atLeastOne", attributes: ["holders", "min", "max"] },
  ],
  repairs: "None: lock findings are reported only.",
  example: `locks "/srv/ledger/*.dat" {
  holders = ["ledger-postd"]
}`,
};

/** Behaviour: observe, judge and repair (see ../contract.ts). Not yet implemented. */
export const locksBehaviour: PromiseBehaviour<unknown> | undefined = undefined;
