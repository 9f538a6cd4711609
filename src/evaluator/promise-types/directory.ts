import type { PromiseBehaviour } from "../contract.js";
import { ownershipAttributes, type PromiseTypeSpec } from "../schema.js";

export const directory: PromiseTypeSpec = {
  name: "directory",
  summary: "Existence, permissions and ownership of directories, optionally of the files below them.",
  description:
    "Promises that the directory exists with the given mode, owner and group. With `recurse`, the same promise holds for every entry below it, down to `max_depth` levels. With `watch = realtime` files created, changed or removed inside it are reported as they happen.",
  promiser: { type: { kind: "path", glob: true }, description: "Absolute path or glob of the directories." },
  attributes: [
    { name: "exists", type: { kind: "boolean" }, description: "Whether the directory must exist.", default: "true" },
    ...ownershipAttributes("directory"),
    { name: "recurse", type: { kind: "boolean" }, description: "Apply owner, group and `max_mode` to every entry below.", default: "false" },
    { name: "max_depth", type: { kind: "integer", min: 1, max: 64 }, description: "How deep `recurse` goes.", default: "16" },
    { name: "watch", type: { kind: "enum", values: ["realtime", "scheduled"] }, description: "`realtime`: report changes inside the directory as they happen.", default: "scheduled" },
    { name: "repair", type: { kind: "oneOrMany", of: { kind: "enum", values: ["perms", "create"] } }, description: "`perms` fixes mode, owner and group; `create` creates a missing directory." },
  ],
  constraints: [{ kind: "exclusive", attributes: ["mode", "max_mode"] }],
  repairs: "Mode, owner and group (`repair = perms`); creation of a missing directory (`repair = create`).",
  example: `directory "/srv/ledger" {
  mode  = 0750
  owner = "ledger"
  group = "finance"
  watch = realtime
}`,
};

/** Behaviour: observe, judge and repair (see ../contract.ts). Not yet implemented. */
export const directoryBehaviour: PromiseBehaviour<unknown> | undefined = undefined;
