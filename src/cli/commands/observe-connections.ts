// `covenant observe connections`: TCP sockets, filtered, listed with their owners or counted
// per address. Its own module, so that the command loads only the probes it reads.
import * as connections from "../../probes/connections.js";
import { normaliseAddress, unmapped } from "../../probes/net-address.js";
import * as tcp from "../../probes/tcp.js";
import { tcpStates, type TcpState } from "../../probes/tcp.js";
import type { Io } from "../io.js";
import { renderTable } from "../table.js";
import { bracket, report, roots, UsageError, type ObserveOptions } from "./observe-report.js";

export { UsageError } from "./observe-report.js";

export interface ConnectionFilters {
  port?: string;
  localPort?: string;
  remotePort?: string;
  state?: string;
  remote?: string;
  listening?: boolean;
  /** count connections per remote (or local) address instead of listing them; owners are not needed then */
  countBy?: string;
}

export function observeConnections(f: ConnectionFilters, opts: ObserveOptions, io: Io): number {
  const num = (s: string | undefined, what: string) => {
    if (s === undefined) return undefined;
    if (!/^\d{1,5}$/.test(s) || Number(s) > 65535) throw new UsageError(`${what} must be a port number, got \`${s}\``);
    return Number(s);
  };
  const state = f.listening ? "LISTEN" : f.state?.toUpperCase();
  if (state !== undefined && (state === "" || !tcpStates.includes(state as TcpState))) throw new UsageError(`unknown state \`${f.state}\`; states: ${tcpStates.filter(Boolean).join(", ")}`);
  let remote: string | undefined;
  if (f.remote !== undefined) {
    // the same address however it is written: `2001:DB8::1` is `2001:db8::1`, `::ffff:10.0.0.1` is `10.0.0.1`
    remote = normaliseAddress(f.remote);
    if (remote === undefined) throw new UsageError(`--remote must be an IP address, got \`${f.remote}\``);
  }
  const filter = {
    ...(state !== undefined ? { state: state as TcpState } : {}),
    ...(f.localPort !== undefined || f.port !== undefined ? { localPort: num(f.localPort ?? f.port, "--port")! } : {}),
    ...(f.remotePort !== undefined ? { remotePort: num(f.remotePort, "--remote-port")! } : {}),
  };
  const remoteMatches = (s: tcp.TcpSocket) => remote === undefined || unmapped(s.remoteAddress) === remote;
  if (f.countBy !== undefined) {
    if (f.countBy !== "remote" && f.countBy !== "local") throw new UsageError(`--count-by takes remote or local, not \`${f.countBy}\``);
    const side = f.countBy;
    const counted = tcp.readCounts(roots(opts), filter, side, remote);
    return report(
      counted,
      io,
      opts,
      (v) => Object.fromEntries(v),
      (v) => renderTable(["COUNT", side === "remote" ? "REMOTE ADDRESS" : "LOCAL ADDRESS"], v.map(([a, n]) => [String(n), a])),
    );
  }
  const found = connections.read(roots(opts), filter);
  return report(
    found.ok ? { ...found, value: found.value.filter(remoteMatches) } : found,
    io,
    opts,
    (v) => v,
    (v) =>
      renderTable(
        ["STATE", "LOCAL", "REMOTE", "USER", "PROCESS"],
        v.map((c) => [
          c.state,
          `${bracket(c.localAddress)}:${c.localPort}`,
          c.state === "LISTEN" ? "*" : `${bracket(c.remoteAddress)}:${c.remotePort}`,
          c.user ?? String(c.uid),
          c.owners.map((o) => `${o.comm}(${o.pid})`).join(",") || "-",
        ]),
      ) + `\n${v.length} connection${v.length === 1 ? "" : "s"}`,
  );
}
