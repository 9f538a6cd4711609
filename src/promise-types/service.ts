// The schema of `service`: what a `service` promise may say. Its behaviour is src/evaluator/promise-types/service.ts.
import type { PromiseTypeSpec } from "./schema.js";

export const service: PromiseTypeSpec = {
  name: "service",
  summary: "State of systemd units: running or stopped, enabled or not.",
  description:
    "Promises the state of a systemd unit, read with `systemctl show`. Where systemd is not running the outcome is `error` with that reason, never a false `stopped`.",
  promiser: { type: { kind: "string", pattern: /^[A-Za-z0-9:_.@][A-Za-z0-9:_.@\\-]*$/, patternHint: "a unit name such as `postgresql` or `cron.service`" }, description: "Unit name; `.service` is implied." },
  attributes: [
    { name: "state", type: { kind: "enum", values: ["running", "stopped"] }, description: "Whether the unit must be active.", default: "running" },
    { name: "enabled", type: { kind: "boolean" }, description: "Whether the unit must be enabled at boot." },
    { name: "repair", type: { kind: "enum", values: ["start", "restart", "stop"] }, description: "How to bring the unit to `state`." },
  ],
  repairs: "`systemctl start`, `restart` or `stop` (argv, never a shell).",
  example: `service "postgresql" -> [dba_oncall] {
  state  = running
  repair = restart
}`,
};
