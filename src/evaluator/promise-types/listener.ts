import { attr, type Difference, type PromiseBehaviour } from "../contract.js";
import { Networks } from "../networks.js";
import { counted, endpoint, skipNotes } from "../observation-notes.js";

interface ListeningSocket {
  port: number;
  address: string;
  /** the user the kernel's table gives the socket (who created it) */
  socketUser: string;
  /** the processes holding it; `user` is the process's effective user, when it could be read */
  owners: { pid: number; comm: string; user?: string }[];
}

interface ListenerObservation {
  sockets: ListeningSocket[];
}

function ownerText(o: { pid: number; comm: string }): string {
  return `${o.comm} (pid ${o.pid})`;
}

/** Behaviour: reported only; what listens where is for the service owners to change. */
export const listenerBehaviour: PromiseBehaviour<ListenerObservation> = {
  observe(p, ctx) {
    const udp = attr<string>(p, "protocol") === "udp";
    const r = udp ? ctx.snapshot.udpSockets() : ctx.snapshot.connections();
    if (!r.ok) return { ok: false, error: `cannot read the ${udp ? "UDP" : "TCP"} sockets: ${r.error.message}` };
    const ports = p.promiser as number[];
    const notes = skipNotes(r.skipped);
    // UDP has no listen: a socket bound and not connected to a peer receives from anyone (`UNCONN` in `ss -ul`)
    const state = udp ? "CLOSE" : "LISTEN";
    const listening = r.value.filter((s) => s.state === state && ports.includes(s.localPort));
    const wantsUser = attr<string>(p, "user") !== undefined;
    const processes = wantsUser && listening.some((s) => s.owners.length > 0) ? ctx.snapshot.processes() : undefined;
    if (processes && !processes.ok) notes.push(`owner processes' users unknown (${processes.error.message}): judged on the sockets' users`);
    const euidOf = new Map(processes?.ok ? processes.value.map((proc) => [proc.pid, proc.euid] as const) : []);
    const sockets = listening.map((s): ListeningSocket => ({
      port: s.localPort,
      address: s.localAddress,
      socketUser: s.user ?? String(s.uid),
      owners: s.owners.map((o) => {
        const euid = euidOf.get(o.pid);
        return euid === undefined ? { ...o } : { ...o, user: ctx.snapshot.userName(euid) };
      }),
    }));
    const ownerless = sockets.filter((s) => s.owners.length === 0);
    if (ownerless.length > 0 && (attr<string>(p, "process") !== undefined || wantsUser)) {
      notes.push(
        `${counted(ownerless.length, "listening socket has", "listening sockets have")} no known owner process (${ownerless.map((s) => endpoint(s.address, s.port)).join(", ")}): not judged on \`process\`${wantsUser ? ", judged on the socket's user" : ""}`,
      );
    }
    return notes.length > 0 ? { ok: true, value: { sockets }, notes } : { ok: true, value: { sockets } };
  },

  judge(p, observed) {
    const out: Difference[] = [];
    const ports = p.promiser as number[];
    // "port 53" for TCP as always; "UDP port 53" for UDP, whose ports are other sockets
    const portWord = attr<string>(p, "protocol") === "udp" ? "UDP port" : "port";
    const present = attr<boolean>(p, "present") ?? true;
    for (const port of ports) {
      const here = observed.sockets.filter((s) => s.port === port);
      if (present && here.length === 0) {
        out.push({ subject: `${portWord} ${port}`, attribute: "present", expected: "listened on", observed: "nothing listens", reason: `nothing listens on ${portWord} ${port}` });
      }
      if (!present) {
        for (const s of here) {
          const by = s.owners.length > 0 ? ` by ${s.owners.map(ownerText).join(", ")}` : "";
          out.push({ subject: endpoint(s.address, port), attribute: "present", expected: "nothing listens", observed: "listened on", reason: `${portWord} ${port} is listened on at ${s.address}${by}, promised that nothing listens` });
        }
      }
    }
    const addresses = attr<string[]>(p, "addresses");
    if (addresses) {
      const allowed = new Networks(addresses);
      for (const s of observed.sockets) {
        if (allowed.contains(s.address)) continue;
        out.push({
          subject: endpoint(s.address, s.port),
          attribute: "addresses",
          expected: addresses.join(", "),
          observed: s.address,
          reason: `${portWord} ${s.port} is listened on at ${s.address}, not among the allowed addresses (${addresses.join(", ")})`,
        });
      }
    }
    const process = attr<string>(p, "process");
    const user = attr<string>(p, "user");
    // a process listening on both 0.0.0.0 and :: is one finding, not two
    const reported = new Set<string>();
    const once = (key: string, d: Difference) => {
      if (reported.has(key)) return;
      reported.add(key);
      out.push(d);
    };
    for (const s of observed.sockets) {
      for (const o of s.owners) {
        if (process !== undefined && o.comm !== process) {
          once(`process ${s.port} ${o.pid}`, { subject: `pid ${o.pid}`, attribute: "process", expected: process, observed: o.comm, reason: `${portWord} ${s.port} is listened on by ${ownerText(o)}, promised ${process}` });
        }
        if (user !== undefined && o.user !== undefined && o.user !== user) {
          once(`user ${s.port} ${o.pid}`, { subject: `pid ${o.pid}`, attribute: "user", expected: user, observed: o.user, reason: `${portWord} ${s.port} is listened on by ${ownerText(o)} running as ${o.user}, promised ${user}` });
        }
      }
      // without an owner whose user could be read, the socket's own user is the best evidence
      if (user !== undefined && !s.owners.some((o) => o.user !== undefined) && s.socketUser !== user) {
        out.push({
          subject: endpoint(s.address, s.port),
          attribute: "user",
          expected: user,
          observed: s.socketUser,
          reason: `${portWord} ${s.port}: the listening socket at ${s.address} belongs to ${s.socketUser}, promised ${user}`,
        });
      }
    }
    return out;
  },
};
