// TCP sockets from /proc/net/tcp and /proc/net/tcp6: a pure parser of the kernel's table and
// a reader over an injectable /proc root. Owners (inode → process) come from processes.ts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeIpv4Hex, decodeIpv6Hex, decodePortHex } from "./net-address.js";
import { fromFsError, ok, type ProbeResult, type ProbeRoots, type Skip } from "./result.js";

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

export interface ParsedTable {
  sockets: TcpSocket[];
  skipped: Skip[];
}

/**
 * Parses one /proc/net/tcp or tcp6 table. A line that does not have the kernel's shape is
 * skipped with its line number and reason; the rest of the table is still read.
 */
export function parse(text: string, family: 4 | 6, path = family === 4 ? "/proc/net/tcp" : "/proc/net/tcp6"): ParsedTable {
  const sockets: TcpSocket[] = [];
  const skipped: Skip[] = [];
  const decodeAddress = family === 4 ? decodeIpv4Hex : decodeIpv6Hex;
  let lineNo = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    lineNo++;
    if (lineNo === 1 || line.trim() === "") continue; // the header
    const f = line.trim().split(/\s+/);
    const skip = (reason: string) => skipped.push({ path, line: lineNo, reason });
    if (f.length < 10 || !/^\d+:$/.test(f[0]!)) {
      skip(`expected at least 10 fields starting with a slot number, got ${f.length}`);
      continue;
    }
    const [local, remote, st, queues, , , uidText, , inodeText] = f.slice(1);
    const [lAddr, lPort] = local!.split(":");
    const [rAddr, rPort] = remote!.split(":");
    const localAddress = lAddr === undefined ? undefined : decodeAddress(lAddr);
    const remoteAddress = rAddr === undefined ? undefined : decodeAddress(rAddr);
    const localPort = lPort === undefined ? undefined : decodePortHex(lPort);
    const remotePort = rPort === undefined ? undefined : decodePortHex(rPort);
    if (localAddress === undefined || localPort === undefined) {
      skip(`malformed local address \`${local}\``);
      continue;
    }
    if (remoteAddress === undefined || remotePort === undefined) {
      skip(`malformed remote address \`${remote}\``);
      continue;
    }
    const stateNumber = /^[0-9A-Fa-f]{2}$/.test(st!) ? parseInt(st!, 16) : NaN;
    const state = tcpStates[stateNumber];
    if (!state) {
      skip(`unknown state \`${st}\``);
      continue;
    }
    const q = /^([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8})$/.exec(queues!);
    if (!q || !/^\d+$/.test(uidText!) || !/^\d+$/.test(inodeText!)) {
      skip("malformed queue, uid or inode field");
      continue;
    }
    sockets.push({
      family,
      localAddress,
      localPort,
      remoteAddress,
      remotePort,
      state,
      txQueue: parseInt(q[1]!, 16),
      rxQueue: parseInt(q[2]!, 16),
      uid: Number(uidText),
      inode: Number(inodeText),
    });
  }
  return { sockets, skipped };
}

/**
 * Reads both tables. A missing tcp6 (IPv6 disabled) is not an error: it contributes a skip
 * that says so. A missing tcp is an error: then nothing about TCP can be known.
 */
export function read(roots: Pick<ProbeRoots, "proc">): ProbeResult<TcpSocket[]> {
  const sockets: TcpSocket[] = [];
  const skipped: Skip[] = [];
  for (const family of [4, 6] as const) {
    const path = join(roots.proc, "net", family === 4 ? "tcp" : "tcp6");
    let text: string;
    try {
      text = readFileSync(path, "latin1");
    } catch (err) {
      if (family === 6 && (err as NodeJS.ErrnoException).code === "ENOENT") {
        skipped.push({ path, reason: "no IPv6 table on this host" });
        continue;
      }
      return fromFsError(err, path);
    }
    const table = parse(text, family, path);
    for (const s of table.sockets) sockets.push(s);
    skipped.push(...table.skipped);
  }
  return ok(sockets, skipped);
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
