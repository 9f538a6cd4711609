// UDP sockets from /proc/net/udp and /proc/net/udp6. The kernel prints them in the TCP tables'
// layout (net/ipv4/udp.c, udp4_format_sock: slot, local and remote address, state, queues, uid,
// inode, then a `ref pointer drops` tail the parser has no use for), with TCP's state numbers:
// `07` (TCP_CLOSE) is a socket not connected to a peer, which receives from anyone on its bound
// address and port (`UNCONN` in `ss -ul`); `01` (TCP_ESTABLISHED) is one connect()ed to a peer.
// So tcp.ts's parser reads these tables as they are; this module names them and what "bound"
// means for UDP. sock_diag is not used: the tables are small (one line a socket, no connection
// churn as TCP's TIME_WAIT makes).
import { join } from "node:path";
import { fromFsError, ok, readProcBytes, type ProbeResult, type ProbeRoots, type Skip } from "./result.js";
import { parseBytes, type ParsedTable } from "./tcp.js";
import { matches, type SocketFilter, type TcpSocket } from "./tcp-socket.js";

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

/**
 * The UDP sockets of both tables matching `filter`. A missing udp6 (IPv6 disabled) is a skip
 * that says so; a missing udp is an error: then nothing about UDP can be known.
 */
export function read(roots: Pick<ProbeRoots, "proc">, filter: SocketFilter = {}): ProbeResult<UdpSocket[]> {
  const sockets: UdpSocket[] = [];
  const skipped: Skip[] = [];
  for (const family of [4, 6] as const) {
    const path = join(roots.proc, "net", family === 4 ? "udp" : "udp6");
    let bytes: Buffer;
    try {
      bytes = readProcBytes(path);
    } catch (err) {
      if (family === 6 && (err as NodeJS.ErrnoException).code === "ENOENT") {
        skipped.push({ path, reason: "no IPv6 table on this host" });
        continue;
      }
      return fromFsError(err, path);
    }
    const table = parseBytes(bytes, family, path);
    for (const s of table.sockets) if (matches(s, filter)) sockets.push(s);
    skipped.push(...table.skipped);
  }
  return ok(sockets, skipped);
}
