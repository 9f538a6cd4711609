// TCP sockets (and UDP ones, for `listener { protocol = udp }`) with their owners: the view a
// `connections` or `listener` promise is judged on. Composes tcp.ts and udp.ts (the kernel's
// tables), processes.ts (inode → pid) and accounts.ts (uid → name).
import * as accounts from "./accounts.js";
import { readProcess, readSocketOwners } from "./processes.js";
import { ok, type ProbeResult, type ProbeRoots, type Skip } from "./result.js";
import * as tcp from "./tcp.js";
import * as udp from "./udp.js";

export interface Connection extends tcp.TcpSocket {
  /** user owning the socket (from the table's uid) */
  user?: string;
  /** processes holding the socket; empty for sockets no process holds (TIME_WAIT) */
  owners: { pid: number; comm: string }[];
}

export function read(roots: ProbeRoots, filter: tcp.SocketFilter = {}): ProbeResult<Connection[]> {
  const sockets = tcp.read(roots, filter);
  return sockets.ok ? withOwners(roots, sockets.value, sockets.skipped) : sockets;
}

/** UDP sockets with their owners, attributed as TCP's are (udp.ts: `CLOSE` is a bound, unconnected socket). */
export function readUdp(roots: ProbeRoots, filter: tcp.SocketFilter = {}): ProbeResult<Connection[]> {
  const sockets = udp.read(roots, filter);
  return sockets.ok ? withOwners(roots, sockets.value, sockets.skipped) : sockets;
}

/** Each socket with the user of its uid and the processes holding its inode. */
function withOwners(roots: ProbeRoots, sockets: tcp.TcpSocket[], skippedSoFar: Skip[]): ProbeResult<Connection[]> {
  const skipped = [...skippedSoFar];
  const owners = readSocketOwners(roots);
  if (owners.ok) skipped.push(...owners.skipped);
  else skipped.push({ path: owners.error.path ?? roots.proc, reason: `socket owners unknown: ${owners.error.message}` });
  const users = accounts.read(roots);
  if (!users.ok) skipped.push({ path: users.error.path ?? roots.etc, reason: `user names unknown: ${users.error.message}` });
  const comms = new Map<number, string | undefined>();
  const commOf = (pid: number) => {
    if (!comms.has(pid)) {
      const p = readProcess(roots, pid);
      comms.set(pid, p.ok ? p.value.comm : undefined);
      if (!p.ok) skipped.push({ path: p.error.path ?? `${roots.proc}/${pid}`, reason: p.error.code === "not-found" ? `owner pid ${pid} ended while being read` : `owner pid ${pid}: ${p.error.message}` });
    }
    return comms.get(pid);
  };
  const out = sockets.map((s) => {
    const c: Connection = { ...s, owners: [] };
    const user = users.ok ? users.value.userByUid.get(s.uid)?.name : undefined;
    if (user !== undefined) c.user = user;
    for (const pid of owners.ok ? (owners.value.get(s.inode) ?? []) : []) {
      const comm = commOf(pid);
      if (comm !== undefined) c.owners.push({ pid, comm });
    }
    return c;
  });
  return ok(out, skipped);
}
