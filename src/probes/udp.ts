// UDP sockets from /proc/net/udp and /proc/net/udp6. The kernel prints them in the TCP tables'
// layout (net/ipv4/udp.c, udp4_format_sock: slot, local and remote address, state, queues, uid,
// inode, then a `ref pointer drops` tail the parser has no use for), with TCP's state numbers:
// `07` (TCP_CLOSE) is a socket not connected to a peer, which receives from anyone on its bound
// address and port (`UNCONN` in `ss -ul`); `01` (TCP_ESTABLISHED) is one connect()ed to a peer.
// So tcp.ts's parser reads these tables as they are; this module names them and what "bound"
// means for UDP. sock_diag is not used: the tables are small (one line a socket, no connection
// churn as TCP's TIME_WAIT makes).
import type { ProbeResult, ProbeRoots } from "./result.js";
import { parseBytes, readSocketTables, type ParsedTable } from "./tcp.js";
import type { SocketFilter, TcpSocket } from "./tcp-socket.js";

/** A UDP socket: the TCP socket's fields, with `state` `CLOSE` (unconnected) or `ESTABLISHED` (connected). */
export type UdpSocket = TcpSocket;

/** Whether a UDP socket receives from any peer on its address and port: what "listening" means for UDP (`ss -ul`). */
export function isBound(s: UdpSocket): boolean {
  return s.state === "CLOSE";
}

/** Parses one /proc/net/udp or udp6 table; a line without the kernel's shape is skipped with its reason. */
export function parse(text: string, family: 4 | 6, path = family === 4 ? "/proc/net/udp" : "/proc/net/udp6"): ParsedTable {
  return parseBytes(Buffer.from(text, "utf8"), family, path);
}

/** The UDP sockets of both tables matching `filter` (tcp.ts readSocketTables: the same layout, the same rules for a missing table). */
export function read(roots: Pick<ProbeRoots, "proc">, filter: SocketFilter = {}): ProbeResult<UdpSocket[]> {
  return readSocketTables(roots, "udp", filter);
}
