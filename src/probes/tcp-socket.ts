import { unmapped } from "./net-address.js";

// A TCP socket as the kernel reports it, whichever way it is asked: the /proc/net/tcp{,6}
// tables (tcp.ts) or a sock_diag netlink dump (sock-diag.ts). Both produce these.

/** States as include/net/tcp_states.h numbers them. */
export const tcpStates = [
  "",
  "ESTABLISHED",
  "SYN_SENT",
  "SYN_RECV",
  "FIN_WAIT1",
  "FIN_WAIT2",
  "TIME_WAIT",
  "CLOSE",
  "CLOSE_WAIT",
  "LAST_ACK",
  "LISTEN",
  "CLOSING",
  "NEW_SYN_RECV",
] as const;

export type TcpState = Exclude<(typeof tcpStates)[number], "">;

export interface TcpSocket {
  family: 4 | 6;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: TcpState;
  txQueue: number;
  rxQueue: number;
  uid: number;
  inode: number;
}

export interface SocketFilter {
  state?: TcpState;
  localPort?: number;
  remotePort?: number;
  localAddress?: string;
  remoteAddress?: string;
}

export function matches(s: TcpSocket, f: SocketFilter): boolean {
  return (
    (f.state === undefined || s.state === f.state) &&
    (f.localPort === undefined || s.localPort === f.localPort) &&
    (f.remotePort === undefined || s.remotePort === f.remotePort) &&
    (f.localAddress === undefined || s.localAddress === f.localAddress) &&
    (f.remoteAddress === undefined || s.remoteAddress === f.remoteAddress)
  );
}

/**
 * Sockets per local or remote address (IPv4-mapped IPv6 addresses as their IPv4 address),
 * only those whose remote address is `remote` when it is given.
 */
export function countByAddress(sockets: TcpSocket[], side: "local" | "remote", remote?: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of sockets) {
    if (remote !== undefined && unmapped(s.remoteAddress) !== remote) continue;
    const a = unmapped(side === "remote" ? s.remoteAddress : s.localAddress);
    counts.set(a, (counts.get(a) ?? 0) + 1);
  }
  return counts;
}

/** Counts, most first, then by address. */
export function sortedCounts(counts: Map<string, number>): [string, number][] {
  return [...counts].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
}
