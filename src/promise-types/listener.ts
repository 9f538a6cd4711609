// The schema of `listener`: what a `listener` promise may say. Its behaviour is src/evaluator/promise-types/listener.ts.
import type { PromiseTypeSpec } from "./schema.js";

export const listener: PromiseTypeSpec = {
  name: "listener",
  summary: "Which ports are listened on, on which addresses, by whom.",
  description:
    "Promises that a TCP or UDP port is listened on (or, with `present = false`, that nothing listens on it), bound only to the allowed addresses and owned by the named process and user. For TCP a listening socket is one in `LISTEN`; for UDP, which has no listen, it is a bound socket not connected to a peer (state `07` in /proc/net/udp, `UNCONN` in `ss -ul`), which receives from anyone: a client socket connect()ed to a server is not one. Owners are attributed alike: the processes holding the socket's inode.",
  promiser: { type: { kind: "oneOrMany", of: { kind: "port" } }, description: "Port or list of ports." },
  attributes: [
    {
      name: "protocol",
      type: { kind: "enum", values: ["tcp", "udp"] },
      description: "Which transport the port is of: two promises on one port and different protocols are about different sockets.",
      default: "tcp",
      selects: true,
    },
    { name: "present", type: { kind: "boolean" }, description: "Whether something must listen on the port.", default: "true" },
    { name: "addresses", type: { kind: "oneOrMany", of: { kind: "cidr" } }, description: "Addresses the listening socket may be bound to (`0.0.0.0` and `::` are distinct: list them to allow them)." },
    { name: "process", type: { kind: "string", nonEmpty: true }, description: "Name of the process that must own the socket." },
    { name: "user", type: { kind: "string", nonEmpty: true }, description: "User the owning process must run as." },
  ],
  repairs: "None: listener findings are reported only.",
  example: `listener 5432 {
  addresses = ["127.0.0.1", "10.20.0.5"]
  process   = "postgres"
  user      = "postgres"
}

listener 514 {
  protocol = udp
  present  = false
}`,
};
