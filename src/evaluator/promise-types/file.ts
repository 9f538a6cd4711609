import type { PromiseBehaviour } from "../contract.js";
import { ownershipAttributes, type PromiseTypeSpec } from "../schema.js";

export const file: PromiseTypeSpec = {
  name: "file",
  summary: "Permissions, ownership, content integrity and lock holders of files.",
  description:
    "Promises that every file matching the path or glob exists (unless `exists = false`) with the given mode, owner and group, that its content matches the approved baseline hash, and that only the named processes hold locks on it.",
  promiser: { type: { kind: "path", glob: true }, description: "Absolute path or glob of the files." },
  attributes: [
    { name: "exists", type: { kind: "boolean" }, description: "Whether the file must exist (`false`: must be absent).", default: "true" },
    ...ownershipAttributes("file"),
    { name: "integrity", type: { kind: "enum", values: ["sha256", "sha512"] }, description: "Keep a baseline content hash; any unapproved change is a deficiency." },
    { name: "watch", type: { kind: "enum", values: ["realtime", "scheduled"] }, description: "`realtime`: react to inotify events between runs; `scheduled`: check on each run only.", default: "scheduled" },
    { name: "locked_by", type: { kind: "list", of: { kind: "string", nonEmpty: true } }, description: "Process names that alone may hold locks on the file (from /proc/locks)." },
    { name: "max_size", type: { kind: "size" }, description: "Largest size the file may have." },
    { name: "max_age", type: { kind: "duration" }, description: "Oldest modification time allowed (for files that must be refreshed, such as exports)." },
    { name: "baseline", type: { kind: "path" }, description: "Approved copy of the content, used by `repair = content`." },
    {
      name: "repair",
      type: { kind: "oneOrMany", of: { kind: "enum", values: ["perms", "content"] } },
      description: "What may be repaired: `perms` fixes mode, owner and group; `content` restores the approved baseline copy. Content drift is otherwise only reported.",
    },
    { name: "nodiff", type: { kind: "boolean" }, description: "Never record a text diff of the content (for files holding secrets).", default: "false" },
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

/** Behaviour: observe, judge and repair (see ../contract.ts). Not yet implemented. */
export const fileBehaviour: PromiseBehaviour<unknown> | undefined = undefined;
