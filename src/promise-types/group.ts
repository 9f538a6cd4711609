// The schema of `group`: what a `group` promise may say. Its behaviour is src/evaluator/promise-types/group.ts.
import type { PromiseTypeSpec } from "./schema.js";

export const group: PromiseTypeSpec = {
  name: "group",
  summary: "Membership of privileged groups, from /etc/group and /etc/passwd.",
  description:
    "Promises who may be in a group: `allowed` lists the only permitted members (anyone else is a deficiency), `required` those who must be in it, `forbidden` those who must never be, and `max_members` caps its size. Primary-group members from /etc/passwd count as members.",
  promiser: { type: { kind: "string", pattern: /^[a-z_][a-z0-9_.-]*\$?$/i, patternHint: "a group name such as `sudo`" }, description: "Group name." },
  attributes: [
    { name: "allowed", type: { kind: "list", of: { kind: "string", nonEmpty: true } }, description: "The only users permitted in the group." },
    { name: "required", type: { kind: "list", of: { kind: "string", nonEmpty: true } }, description: "Users who must be in the group." },
    { name: "forbidden", type: { kind: "list", of: { kind: "string", nonEmpty: true } }, description: "Users who must not be in the group." },
    { name: "max_members", type: { kind: "integer", min: 0 }, description: "Most members the group may have." },
    { name: "exists", type: { kind: "boolean" }, description: "Whether the group must exist.", default: "true" },
  ],
  constraints: [{ kind: "atLeastOne", attributes: ["allowed", "required", "forbidden", "max_members", "exists"] }],
  repairs: "None: membership changes go through the access-management process.",
  example: `group "sudo" -> [security] {
  allowed = ["alice", "bob"]
}`,
};
