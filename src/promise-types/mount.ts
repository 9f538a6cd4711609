// The schema of `mount`: what a `mount` promise may say. Its behaviour is src/evaluator/promise-types/mount.ts.
import type { PromiseTypeSpec } from "./schema.js";

export const mount: PromiseTypeSpec = {
  name: "mount",
  summary: "Mount points and their options, from /proc/self/mountinfo.",
  description: "Promises that a path is a mount point (or is not), of the given file system type and source, with the required options set and the forbidden ones absent.",
  promiser: { type: { kind: "path" }, description: "Absolute path of the mount point." },
  attributes: [
    { name: "present", type: { kind: "boolean" }, description: "Whether the path must be a mount point.", default: "true" },
    { name: "fstype", type: { kind: "string", nonEmpty: true }, description: "File system type, such as `ext4` or `tmpfs`." },
    { name: "source", type: { kind: "string", nonEmpty: true }, description: "Mounted device or source." },
    { name: "options", type: { kind: "list", of: { kind: "string", nonEmpty: true } }, description: "Options that must be set, such as `nodev`, `nosuid`, `noexec`, `ro`." },
    { name: "forbidden_options", type: { kind: "list", of: { kind: "string", nonEmpty: true } }, description: "Options that must not be set." },
  ],
  repairs: "None: remounting is left to the operators.",
  example: `mount "/tmp" {
  options = ["nodev", "nosuid", "noexec"]
}`,
};
