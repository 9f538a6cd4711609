// The `udp` probe: /proc/net/udp and udp6, read with the TCP tables' parser (the kernel prints
// both alike), on a real table from this machine, hand-made awkward lines, a property test, and
// live against `ss -ulnp` with UDP sockets the test binds on loopback.
import { execFileSync } from "node:child_process";
import dgram from "node:dgram";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as connections from "../../src/probes/connections.ts";
import { decodeIpv4Hex, encodeIpv4Hex } from "../../src/probes/net-address.ts";
import * as udp from "../../src/probes/udp.ts";

const fixture = { proc: "test/fixtures/proc/udp-loopback" };

describe("udp probe on fixtures", () => {
  it("reads a real table: bound sockets are `CLOSE` (unconnected), client sockets `ESTABLISHED`", () => {
    const r = udp.read(fixture);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.skipped).toEqual([]);
    const bound = r.value.filter(udp.isBound).map((s) => `${s.family} ${s.localAddress}:${s.localPort}`).sort();
    expect(bound).toEqual(["4 0.0.0.0:1812", "4 127.0.0.1:5140", "6 ::1:5140"]);
    const connected = r.value.filter((s) => !udp.isBound(s));
    expect(connected.map((s) => [s.state, s.remoteAddress, s.remotePort])).toEqual([
      ["ESTABLISHED", "127.0.0.1", 5140],
      ["ESTABLISHED", "::1", 5140],
    ]);
    expect(r.value.find((s) => s.localPort === 1812)).toMatchObject({ uid: 0, inode: 718881 });
  });

  it("reads the same sockets as a field-splitting reading of the table (the `ref pointer drops` tail ignored)", () => {
    const text = readFileSync("test/fixtures/proc/udp-loopback/net/udp", "latin1");
    const simple = text.split("\n").slice(1).filter((l) => l.trim()).map((l) => {
      const f = l.trim().split(/\s+/);
      return [f[1], f[3], f[7], f[9]].join(" ");
    });
    const mine = udp.parse(text, 4).sockets.map((s) => `${encodeIpv4Hex(s.localAddress)}:${s.localPort.toString(16).padStart(4, "0").toUpperCase()} ${s.state === "CLOSE" ? "07" : "01"} ${s.uid} ${s.inode}`);
    expect(mine).toEqual(simple);
  });

  it("skips a malformed line with its number and reason, and reads the rest", () => {
    const text = readFileSync("test/fixtures/proc/udp-loopback/net/udp", "latin1").replace(" 07 ", " ZZ ");
    const t = udp.parse(text, 4);
    expect(t.skipped).toEqual([{ path: "/proc/net/udp", line: 2, reason: "unknown state `ZZ`" }]);
    expect(t.sockets.length).toBe(2);
  });

  it("a missing udp6 (IPv6 disabled) is a skip that says so; a missing udp an error", () => {
    const root = mkdtempSync(join(tmpdir(), "covenant-udp-"));
    mkdirSync(join(root, "net"));
    copyFileSync("test/fixtures/proc/udp-loopback/net/udp", join(root, "net", "udp"));
    const r = udp.read({ proc: root });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.skipped).toEqual([{ path: join(root, "net", "udp6"), reason: "no IPv6 table on this host" }]);
    expect(r.value.length).toBe(3);
    const none = udp.read({ proc: "test/fixtures/proc/no-ipv6" });
    expect(none.ok ? "read" : none.error.code).toBe("not-found");
  });

  it("decodes random IPv4 tables as the string decoder does (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ b: fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)), lp: fc.integer({ min: 0, max: 65535 }), bound: fc.boolean(), uid: fc.nat(), inode: fc.nat() }), { maxLength: 20 }),
        (rows) => {
          const hexPort = (p: number) => p.toString(16).padStart(4, "0").toUpperCase();
          const lines = rows.map((r, i) => `${i}: ${encodeIpv4Hex(r.b.join("."))}:${hexPort(r.lp)} 00000000:0000 ${r.bound ? "07" : "01"} 00000000:00000000 00:00000000 00000000 ${r.uid} 0 ${r.inode} 2 0000000000000000 0`);
          const t = udp.parse(`header\n${lines.join("\n")}\n`, 4);
          expect(t.skipped).toEqual([]);
          expect(t.sockets.map((s) => [s.localAddress, s.localPort, udp.isBound(s), s.uid, s.inode])).toEqual(rows.map((r) => [decodeIpv4Hex(encodeIpv4Hex(r.b.join("."))), r.lp, r.bound, r.uid, r.inode]));
        },
      ),
    );
  });
});

describe("udp probe live, against `ss -ulnp`", () => {
  const sockets: dgram.Socket[] = [];
  const ports: number[] = [];
  const bind = (type: "udp4" | "udp6", address: string) =>
    new Promise<dgram.Socket>((resolve) => {
      const s = dgram.createSocket(type);
      sockets.push(s);
      s.bind(0, address, () => resolve(s));
    });

  beforeAll(async () => {
    for (const [type, address] of [["udp4", "127.0.0.1"], ["udp6", "::1"]] as const) ports.push((await bind(type, address)).address().port);
    // a client connected to the first: a UDP socket, but not a bound one
    const client = await bind("udp4", "127.0.0.1");
    await new Promise<void>((resolve) => client.connect(ports[0]!, "127.0.0.1", () => resolve()));
  });
  afterAll(() => {
    for (const s of sockets) s.close();
  });

  /** `address:port pid` of every UNCONN UDP socket `ss` sees on one of the test's ports. */
  function ssBound(): string[] {
    const out = execFileSync("ss", ["-Hulnp"], { encoding: "utf8" });
    const rows: string[] = [];
    for (const line of out.trim().split("\n")) {
      const f = line.trim().split(/\s+/);
      const local = f[3]!;
      const i = local.lastIndexOf(":");
      const port = Number(local.slice(i + 1));
      if (!ports.includes(port)) continue;
      const pid = /pid=(\d+)/.exec(line)?.[1];
      rows.push(`${local.slice(0, i).replace(/^\[|\]$/g, "").replace(/%lo$/, "")}:${port} ${pid}`);
    }
    return rows.sort();
  }

  it("finds the same bound sockets as `ss -ulnp`, with this process as their owner", () => {
    const r = connections.readUdp({ proc: "/proc", etc: "/etc" });
    if (!r.ok) throw new Error(r.error.message);
    const mine = r.value
      .filter((s) => udp.isBound(s) && ports.includes(s.localPort))
      .map((s) => `${s.localAddress}:${s.localPort} ${s.owners.map((o) => o.pid).join(",")}`)
      .sort();
    expect(mine).toEqual(ssBound());
    expect(mine).toEqual([`127.0.0.1:${ports[0]} ${process.pid}`, `::1:${ports[1]} ${process.pid}`].sort());
  });

  it("sees the connected client socket, which `ss -ul` does not list", () => {
    const r = udp.read({ proc: "/proc" });
    if (!r.ok) throw new Error(r.error.message);
    const clients = r.value.filter((s) => s.state === "ESTABLISHED" && s.remotePort === ports[0] && s.remoteAddress === "127.0.0.1");
    expect(clients.length).toBe(1);
  });
});
