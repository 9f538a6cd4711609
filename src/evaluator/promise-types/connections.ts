import { unmapped } from "../../probes/net-address.js";
import { attr, type Difference, type PromiseBehaviour } from "../contract.js";
import { Networks } from "../networks.js";
import { counted, endpoint, portsText, skipNotes } from "../observation-notes.js";

interface PeerConnection {
  /** the other end's address, an IPv4-mapped IPv6 address as its IPv4 address */
  peer: string;
  peerPort: number;
  /** the promised port this connection uses (local when inbound, remote when outbound) */
  port: number;
  owners: { pid: number; comm: string }[];
}

interface ConnectionsObservation {
  connections: PeerConnection[];
}

function byPeer(connections: PeerConnection[]): Map<string, PeerConnection[]> {
  const out = new Map<string, PeerConnection[]>();
  for (const c of [...connections].sort((a, b) => a.peer.localeCompare(b.peer))) {
    const same = out.get(c.peer);
    if (same) same.push(c);
    else out.set(c.peer, [c]);
  }
  return out;
}

/** Behaviour: reported only; cutting connections is for the operators to decide. */
export const connectionsBehaviour: PromiseBehaviour<ConnectionsObservation> = {
  observe(p, ctx) {
    const r = ctx.snapshot.connections();
    if (!r.ok) return { ok: false, error: `cannot read the TCP sockets: ${r.error.message}` };
    const ports = p.promiser as number[];
    const outbound = attr<string>(p, "direction") === "outbound";
    const matching = r.value.filter((s) => s.state === "ESTABLISHED" && ports.includes(outbound ? s.remotePort : s.localPort));
    const connections = matching.map((s) => ({ peer: unmapped(s.remoteAddress), peerPort: s.remotePort, port: outbound ? s.remotePort : s.localPort, owners: s.owners }));
    const notes = skipNotes(r.skipped);
    const ownerless = connections.filter((c) => c.owners.length === 0).length;
    if (attr<string>(p, "process") !== undefined && ownerless > 0) {
      notes.push(`${counted(ownerless, "matching connection has", "matching connections have")} no known owner process: not judged on \`process\``);
    }
    return notes.length > 0 ? { ok: true, value: { connections }, notes } : { ok: true, value: { connections } };
  },

  judge(p, observed) {
    const out: Difference[] = [];
    const ports = p.promiser as number[];
    const outbound = attr<string>(p, "direction") === "outbound";
    const on = outbound ? `to ${portsText(ports)}` : `on ${portsText(ports)}`;
    const peers = byPeer(observed.connections);
    const total = observed.connections.length;

    const sources = attr<string[]>(p, "sources");
    if (sources) {
      const allowed = new Networks(sources);
      for (const [peer, cs] of peers) {
        if (allowed.contains(peer)) continue;
        out.push({
          subject: peer,
          attribute: "sources",
          expected: sources.join(", "),
          observed: counted(cs.length, "connection"),
          reason: `${peer} holds ${counted(cs.length, "connection")} ${on}, outside the allowed sources (${sources.join(", ")})`,
        });
      }
    }
    const maxPerSource = attr<number>(p, "max_per_source");
    if (maxPerSource !== undefined) {
      for (const [peer, cs] of peers) {
        if (cs.length <= maxPerSource) continue;
        out.push({ subject: peer, attribute: "max_per_source", expected: `at most ${maxPerSource}`, observed: String(cs.length), reason: `${peer} holds ${counted(cs.length, "connection")} ${on}, at most ${maxPerSource} per source promised` });
      }
    }
    const maxTotal = attr<number>(p, "max_total");
    if (maxTotal !== undefined && total > maxTotal) {
      out.push({ attribute: "max_total", expected: `at most ${maxTotal}`, observed: String(total), reason: `${counted(total, "established connection")} ${on}, at most ${maxTotal} promised` });
    }
    const minTotal = attr<number>(p, "min_total");
    if (minTotal !== undefined && total < minTotal) {
      out.push({ attribute: "min_total", expected: `at least ${minTotal}`, observed: String(total), reason: `${counted(total, "established connection")} ${on}, at least ${minTotal} promised` });
    }
    const process = attr<string>(p, "process");
    if (process !== undefined) {
      // one difference per offending process, however many connections it holds
      const offenders = new Map<number, { comm: string; connections: PeerConnection[] }>();
      for (const c of observed.connections) {
        for (const o of c.owners) {
          if (o.comm === process) continue;
          const seen = offenders.get(o.pid);
          if (seen) seen.connections.push(c);
          else offenders.set(o.pid, { comm: o.comm, connections: [c] });
        }
      }
      for (const [pid, { comm, connections }] of [...offenders].sort((a, b) => a[0] - b[0])) {
        const example = connections[0]!;
        out.push({
          subject: `pid ${pid}`,
          attribute: "process",
          expected: process,
          observed: comm,
          reason: `${comm} (pid ${pid}) holds ${counted(connections.length, "connection")} ${on} (such as ${outbound ? "to" : "from"} ${endpoint(example.peer, example.peerPort)}), promised only ${process}`,
        });
      }
    }
    return out;
  },
};
