// TCP sockets of the live host through NETLINK_SOCK_DIAG, the interface `ss` uses, by way of a
// small native addon (native/sock_diag.c, built by `npm install`). Reading /proc/net/tcp costs
// the kernel a 4 KiB read() per ~27 sockets and text formatting of each; the dump hands over
// binary records, and filters by state and port before building them (bench/procnet).
//
// Only the process's own network namespace can be asked this way, so tcp.ts uses it only when
// the /proc root is the real /proc, and reads the tables whenever the addon is missing or the
// kernel refuses (no sock_diag, a seccomp filter): the answer is the same either way, and a
// differential test holds the two together.
import { requireAddon } from "../native/addon.js";
import { formatIpv6 } from "./net-address.js";
import { tcpStates, type SocketFilter, type TcpSocket, type TcpState } from "./tcp-socket.js";

interface Addon {
  /** family 0: both */
  dump(family: 0 | 4 | 6, states: number, localPort: number, remotePort: number): Buffer;
}

/** Bytes per record, and the offsets native/sock_diag.c writes them at. */
const RECORD = 56;

let addon: Addon | null | undefined;
let whyUnavailable = "";

/**
 * The addon, or null (with the reason in `unavailableReason()`). Looked for beside the bundle
 * (dist/) and beside the sources (src/probes/, for tests), both relative to the package root.
 */
function load(): Addon | null {
  if (addon !== undefined) return addon;
  if (process.env["COVENANT_NO_SOCK_DIAG"]) {
    whyUnavailable = "COVENANT_NO_SOCK_DIAG is set";
    return (addon = null);
  }
  const found = requireAddon<Addon>("sock_diag.node", import.meta.url);
  if ("addon" in found) return (addon = found.addon);
  whyUnavailable = `the native addon is not built (${found.failures})`;
  return (addon = null);
}

/** Why the dump cannot be used, when `available()` is false. */
export function unavailableReason(): string {
  load();
  return whyUnavailable;
}

export function available(): boolean {
  return load() !== null;
}

/**
 * The kernel's state bits for a filter: one state, or every state the tables can show (1 to
 * 12; bit 13 is the kernel's own "bound, never listened or connected" state since Linux 6.9,
 * which /proc/net/tcp does not list). Request sockets (state NEW_SYN_RECV in the kernel) are
 * reported as SYN_RECV, as the tables do, so asking for NEW_SYN_RECV finds nothing in either.
 */
function stateMask(state: TcpState | undefined): number {
  if (state === undefined) return 0x1ffe;
  if (state === "NEW_SYN_RECV") return 0;
  const bit = 1 << tcpStates.indexOf(state);
  return state === "SYN_RECV" ? bit | (1 << tcpStates.indexOf("NEW_SYN_RECV")) : bit;
}

/**
 * The kernel's records of every TCP socket matching the filter's state and ports, both
 * families; or the error that kept the kernel from answering.
 */
function records(filter: SocketFilter): { ok: true; records: Buffer[] } | { ok: false; error: Error } {
  const native = load();
  if (!native) return { ok: false, error: new Error(whyUnavailable) };
  const mask = stateMask(filter.state);
  if (mask === 0) return { ok: true, records: [] };
  const localPort = filter.localPort ?? -1;
  const remotePort = filter.remotePort ?? -1;
  try {
    // both families in one walk of the kernel's socket table
    return { ok: true, records: [native.dump(0, mask, localPort, remotePort)] };
  } catch {
    // a kernel without the older request that asks for both: one family at a time
  }
  const out: Buffer[] = [];
  for (const family of [4, 6] as const) {
    try {
      out.push(native.dump(family, mask, localPort, remotePort));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // a host without IPv6 has no IPv6 sockets to report
      if (family === 6 && (code === "EAFNOSUPPORT" || code === "ENOENT")) continue;
      return { ok: false, error: err as Error };
    }
  }
  return { ok: true, records: out };
}

/**
 * Every TCP socket matching the filter's state and ports (addresses are the caller's to
 * filter), both families; or the error that kept the kernel from answering.
 */
export function read(filter: SocketFilter = {}): { ok: true; sockets: TcpSocket[] } | { ok: false; error: Error } {
  const found = records(filter);
  if (!found.ok) return found;
  const sockets: TcpSocket[] = [];
  for (const r of found.records) decode(r, sockets);
  // The uid the tables show for a connection not yet accepted (SYN_RECV) is its listener's; the
  // kernel's message says 0. Those are rare and short-lived: when there are any, the tables
  // are read instead, so that both ways give one answer.
  if (sockets.some((s) => s.state === "SYN_RECV")) return { ok: false, error: new Error("connections not yet accepted: their owner is known from the tables only") };
  return { ok: true, sockets };
}

/**
 * Sockets matching the filter's state and ports (and, when given, whose remote address is
 * `remote`), counted per local or remote address, IPv4-mapped IPv6 addresses as their IPv4
 * address: straight from the records, without a socket object for each (a host may have
 * tens of thousands of connections, and the command reads them once, before V8 optimises).
 */
export function countByAddress(filter: SocketFilter, side: "local" | "remote", remote?: string): { ok: true; counts: Map<string, number> } | { ok: false; error: Error } {
  const found = records(filter);
  if (!found.ok) return found;
  const counts = new Map<string, number>();
  for (const r of found.records) {
    const texts = new AddressTexts(r, true);
    const counted = side === "local" ? 8 : 24;
    for (let at = 0; at + RECORD <= r.length; at += RECORD) {
      if (!tcpStates[r[at + 1]!]) continue;
      const family = r[at] === 6 ? 6 : 4;
      if (remote !== undefined && texts.at(at + 24, family) !== remote) continue;
      const address = texts.at(at + counted, family);
      counts.set(address, (counts.get(address) ?? 0) + 1);
    }
  }
  return { ok: true, counts };
}

/** Address texts of one buffer of records, each distinct address formatted once. */
class AddressTexts {
  private readonly view: DataView;
  private readonly v4 = new Map<number, string>();
  private readonly v6 = new Map<string, string>();
  /** `unmap`: an IPv4-mapped IPv6 address as its IPv4 address */
  constructor(
    private readonly records: Uint8Array,
    private readonly unmap = false,
  ) {
    this.view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  }

  at(offset: number, family: 4 | 6): string {
    const view = this.view;
    if (family === 6 && this.unmap && view.getUint32(offset) === 0 && view.getUint32(offset + 4) === 0 && view.getUint32(offset + 8) === 0xffff) {
      family = 4;
      offset += 12;
    }
    if (family === 4) {
      const key = view.getUint32(offset);
      let text = this.v4.get(key);
      if (text === undefined) this.v4.set(key, (text = `${key >>> 24}.${(key >>> 16) & 255}.${(key >>> 8) & 255}.${key & 255}`));
      return text;
    }
    const key = `${view.getUint32(offset)},${view.getUint32(offset + 4)},${view.getUint32(offset + 8)},${view.getUint32(offset + 12)}`;
    let text = this.v6.get(key);
    if (text === undefined) this.v6.set(key, (text = formatIpv6(Array.from(this.records.subarray(offset, offset + 16)))));
    return text;
  }
}

/**
 * Appends the records of one dump to `out`. Exported for tests. DataView reads: built-ins,
 * fast even before V8 has optimised this code.
 */
export function decode(records: Uint8Array, out: TcpSocket[]): void {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const texts = new AddressTexts(records);
  for (let at = 0; at + RECORD <= records.length; at += RECORD) {
    const family = records[at] === 6 ? 6 : 4;
    const state = tcpStates[records[at + 1]!];
    if (!state) continue; // a state this code does not know: the /proc parser skips those too
    out.push({
      family,
      localAddress: texts.at(at + 8, family),
      localPort: view.getUint16(at + 4, true),
      remoteAddress: texts.at(at + 24, family),
      remotePort: view.getUint16(at + 6, true),
      state,
      // for a listening socket the kernel's message carries the backlog limit as its send
      // queue; /proc/net/tcp shows 0 there, and so does this
      txQueue: state === "LISTEN" ? 0 : view.getUint32(at + 52, true),
      rxQueue: view.getUint32(at + 48, true),
      uid: view.getUint32(at + 40, true),
      inode: view.getUint32(at + 44, true),
    });
  }
}
