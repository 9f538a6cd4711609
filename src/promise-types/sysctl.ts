// The schema of `sysctl`: what a `sysctl` promise may say. Its behaviour is src/evaluator/promise-types/sysctl.ts.
import type { PromiseTypeSpec } from "./schema.js";

export const sysctl: PromiseTypeSpec = {
  name: "sysctl",
  summary: "Kernel parameters under /proc/sys.",
  description:
    "Promises the value of a kernel parameter, read from /proc/sys. Values are compared as the kernel prints them, with runs of white space folded. With `persistent = true`, also the value it will have after a reboot: the `key = value` lines of the sysctl.d(5) files, judged as the SCAP Security Guide judges them.",
  promiser: {
    type: { kind: "string", pattern: /^[a-z0-9_*-]+(\.[a-zA-Z0-9_*-]+)+$/, patternHint: "a dotted key such as `net.ipv4.ip_forward`" },
    description: "Dotted parameter name, as `sysctl` shows it.",
  },
  attributes: [
    { name: "value", type: { kind: "union", of: [{ kind: "integer" }, { kind: "string" }] }, description: "Value the parameter must have.", required: true },
    {
      name: "persistent",
      type: { kind: "boolean" },
      description:
        "Also judge the configuration read at boot: at least one line sets the key in /etc/sysctl.conf or a `*.conf` of /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d or /usr/lib/sysctl.d, every such line outside /usr/lib sets the promised value (those of /usr/lib, which packages own, are judged only when no other file sets the key), and the line that applies last at boot sets it too.",
      default: "false",
    },
    {
      name: "repair",
      type: { kind: "enum", values: ["set"] },
      description: "Write the value to /proc/sys when it differs; with `persistent = true`, also write /etc/sysctl.d/99-covenant-<key>.conf when the configuration read at boot is not as promised.",
    },
  ],
  repairs: "Write the value to /proc/sys, and with `persistent = true` a sysctl.d file of its own (`repair = set`).",
  example: `sysctl "net.ipv4.ip_forward" {
  value      = 0
  persistent = true
}`,
};
