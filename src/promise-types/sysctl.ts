// The schema of `sysctl`: what a `sysctl` promise may say. Its behaviour is src/evaluator/promise-types/sysctl.ts.
import type { PromiseTypeSpec } from "./schema.js";

export const sysctl: PromiseTypeSpec = {
  name: "sysctl",
  summary: "Kernel parameters under /proc/sys.",
  description: "Promises the value of a kernel parameter, read from /proc/sys. Values are compared as the kernel prints them, with runs of white space folded.",
  promiser: {
    type: { kind: "string", pattern: /^[a-z0-9_*-]+(\.[a-zA-Z0-9_*-]+)+$/, patternHint: "a dotted key such as `net.ipv4.ip_forward`" },
    description: "Dotted parameter name, as `sysctl` shows it.",
  },
  attributes: [
    { name: "value", type: { kind: "union", of: [{ kind: "integer" }, { kind: "string" }] }, description: "Value the parameter must have.", required: true },
    { name: "repair", type: { kind: "enum", values: ["set"] }, description: "Write the value to /proc/sys when it differs." },
  ],
  repairs: "Write the value (`repair = set`).",
  example: `sysctl "net.ipv4.ip_forward" {
  value = 0
}`,
};
