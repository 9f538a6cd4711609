// The schema of `connections`: what a `connections` promise may say. Its behaviour is src/evaluator/promise-types/connections.ts.
import type { PromiseTypeSpec } from "./schema.js";

export const connections: PromiseTypeSpec = {
  name: "connections",
  summary: "Who is connected to a port: allowed sources and connection counts.",
  description:
    "Promises that established TCP connections on the given local port(s) (`direction = inbound`) or to the given remote port(s) (`outbound`) come only from the allowed networks, and stay under per-source and total limits. Read from /proc/net/tcp and tcp6.",
  promiser: { type: { kind: "oneOrMany", of: { kind: "port" } }, description: "Port or list of ports." },
  attributes: [
    { name: "direction", type: { kind: "enum", values: ["inbound", "outbound"] }, description: "`inbound`: the port is local (a server); `outbound`: the port is remote.", default: "inbound" },
    { name: "sources", type: { kind: "oneOrMany", of: { kind: "cidr" } }, description: "Networks the peers must belong to; any other peer is a deficiency." },
    { name: "max_per_source", type: { kind: "integer", min: 0 }, description: "Most connections one peer address may hold." },
    { name: "max_total", type: { kind: "integer", min: 0 }, description: "Most connections in all." },
    { name: "min_total", type: { kind: "integer", min: 0 }, description: "Fewest connections in all (for links that must stay up)." },
    { name: "process", type: { kind: "string", nonEmpty: true }, description: "Name of the process that must own the local end." },
  ],
  constraints: [
    { kind: "lessOrEqual", lower: "max_per_source", upper: "max_total" },
    { kind: "lessOrEqual", lower: "min_total", upper: "max_total" },
    { kind: "atLeastOne", attributes: ["sources", "max_per_source", "max_total", "min_total", "process"] },
  ],
  repairs: "None: connection findings are reported only.",
  example: `connections [5432, 1433] -> [dba_oncall] {
  sources        = ["10.20.0.0/24", "10.20.1.15"]
  max_per_source = 40
  max_total      = 200
}`,
};
