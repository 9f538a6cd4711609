import { execFileSync } from "node:child_process";
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as connections from "../../src/probes/connections.ts";
import fc from "fast-check";
import { decodeIpv4Hex, decodeIpv6Hex, encodeIpv4Hex, encodeIpv6Hex, unmapped } from "../../src/probes/net-address.ts";
import * as tcp from "../../src/probes/tcp.ts";
import { readFileSync } from "node:fs";

const awkward = { proc: "test/fixtures/proc/awkward", etc: "test/fixtures/proc/debian12-vm/etc" };

describe("tcp parser against the reference decoders", () => {
  const byte = fc.integer({ min: 0, max: 255 });
  const word = fc.tuple(byte, byte, byte, byte);
  it("decodes random tables of both families exactly as the string decoders do", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4 as const, 6 as const),
        fc.array(fc.record({ a: fc.array(byte, { minLength: 16, maxLength: 16 }), b: word, lp: fc.integer({ min: 0, max: 65535 }), rp: fc.integer({ min: 0, max: 65535 }), st: fc.integer({ min: 1, max: 12 }), uid: fc.nat(), inode: fc.nat() }), { maxLength: 20 }),
        (family, rows) => {
          const hexPort = (p: number) => p.toString(16).padStart(4, "0").toUpperCase();
          const addr = (r: { a: number[]; b: number[] }) => (family === 4 ? encodeIpv4Hex(r.b.join(".")) : encodeIpv6Hex(r.a));
          const lines = rows.map((r, i) => `${i}: ${addr(r)}:${hexPort(r.lp)} ${addr(r)}:${hexPort(r.rp)} ${r.st.toString(16).padStart(2, "0").toUpperCase()} 00000000:00000000 00:00000000 00000000 ${r.uid} 0 ${r.inode} 1 0 100 0 0 10 0`);
          const parsed = tcp.parse(`header\n${lines.join("\n")}\n`, family);
          expect(parsed.skipped).toEqual([]);
          const decode = family === 4 ? decodeIpv4Hex : decodeIpv6Hex;
          expect(parsed.sockets.map((s) => [s.localAddress, s.localPort, s.remotePort, s.state, s.uid, s.inode])).toEqual(
            rows.map((r) => [decode(addr(r)), r.lp, r.rp, tcp.tcpStates[r.st], r.uid, r.inode]),
          );
        },
      ),
    );
  });
});

describe("tcp probe on fixtures", () => {
  it("reads the same sockets as a straightforward field-splitting reading of the table", () => {
    // an oracle written the obvious way, to hold the character-level parser to
    const text = readFileSync("test/fixtures/proc/debian12-vm/net/tcp", "latin1");
    const simple = text.split("\n").slice(1).filter((l) => l.trim()).map((l) => {
      const f = l.trim().split(/\s+/);
      return [f[1], f[2], f[3], f[7], f[9]].join(" ");
    });
    const mine = tcp.parse(text, 4).sockets.map((s) => {
      const hex = (a: string) => a.split(".").map(Number).reverse().map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join("");
      const port = (p: number) => p.toString(16).padStart(4, "0").toUpperCase();
      const st = tcp.tcpStates.indexOf(s.state).toString(16).padStart(2, "0").toUpperCase();
      return `${hex(s.localAddress)}:${port(s.localPort)} ${hex(s.remoteAddress)}:${port(s.remotePort)} ${st} ${s.uid} ${s.inode}`;
    });
    expect(mine).toEqual(simple);
  });

  it("reads a real table from this machine", () => {
    const r = tcp.read({ proc: "test/fixtures/proc/debian12-vm" });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.skipped).toEqual([]);
    expect(r.value.find((s) => s.localPort === 5432 && s.state === "LISTEN")).toMatchObject({ family: 4, localAddress: "127.0.0.1", uid: 101 });
  });

  it("skips each malformed line with its reason and line number, and keeps the rest", () => {
    const r = tcp.read({ proc: awkward.proc });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.skipped.map((s) => `${s.path.replace(/.*\//, "")}:${s.line} ${s.reason}`)).toEqual([
      "tcp:6 malformed local address `0100007F:ZZZZ`",
      "tcp:7 unknown state `FF`",
      "tcp:8 expected at least 10 fields, the line ends after the local address",
      "tcp6:5 malformed remote address `0000000000000000000000000100`",
    ]);
    expect(r.value.length).toBe(8);
    expect(r.value.find((s) => s.state === "TIME_WAIT")).toMatchObject({ remoteAddress: "10.20.20.1", remotePort: 50000, inode: 0 });
    expect(r.value.find((s) => s.inode === 99002)).toMatchObject({ rxQueue: 16, uid: 1000 });
    expect(r.value.find((s) => s.inode === 5002)).toMatchObject({ family: 6, localAddress: "::ffff:127.0.0.1", remotePort: 57586, state: "ESTABLISHED" });
    expect(r.value.find((s) => s.inode === 5003)?.localAddress).toBe("fe80::250:ff:fe00:1");
  });

  it("skips a line whose field has a digit too many rather than shifting the columns", () => {
    const head = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
    const t = tcp.parse(`${head}   0: 0100007F:1538 00000000:0000 0A 00000000:000000001 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0\n   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000x        0 4243 1 0 100 0 0 10 0\n`, 4);
    expect(t.sockets).toEqual([]);
    expect(t.skipped.map((s) => s.reason)).toEqual(["malformed queue, uid or inode field", "malformed queue, uid or inode field"]);
  });

  it("reads the timer fields one by one when they do not have the kernel's fixed layout", () => {
    // three fields where the kernel prints two: the columns after them are read as they fall,
    // exactly as for any other line (the fast step over the fixed layout must not apply)
    const head = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
    const t = tcp.parse(`${head}   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:000 0000 00000000  1000        0 4242 1 0\n`, 4);
    expect(t.sockets.map((s) => [s.uid, s.inode])).toEqual([[0, 0]]);
    const missing = tcp.parse(`${head}   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000          1000 0 4242\n`, 4);
    expect(missing.skipped.map((s) => s.reason)).toEqual(["malformed queue, uid or inode field"]);
  });

  it("reads a character outside ASCII as itself: never as the hex digit its low byte spells", () => {
    // U+0130's low byte is 0x30, the digit 0: a parser that truncated characters to bytes would accept this line
    const head = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
    const t = tcp.parse(`${head}   0: 0100007\u0130:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0\n`, 4);
    expect(t.sockets).toEqual([]);
    expect(t.skipped.map((s) => s.reason)).toEqual(["malformed local address `0100007\u0130:1538`"]);
  });

  it("reports a missing table as an error, not as no connections", () => {
    const r = tcp.read({ proc: "test/fixtures/proc/does-not-exist" });
    expect(r).toMatchObject({ ok: false, error: { code: "not-found" } });
  });

  it("treats a missing tcp6 as a host without IPv6: a counted skip, not an error", () => {
    const r = tcp.read({ proc: "test/fixtures/proc/no-ipv6" });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.every((s) => s.family === 4)).toBe(true);
    expect(r.skipped.map((s) => s.reason)).toEqual(["no IPv6 table on this host"]);
  });

  it("filters by port, state and address", () => {
    const r = connections.read(awkward, { localPort: 5432, state: "ESTABLISHED" });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.map((c) => `${c.localAddress}>${c.remoteAddress}:${c.remotePort} ${c.user ?? c.uid}`).sort()).toEqual([
      "10.20.20.10>10.20.20.15:35556 postgres",
      "127.0.0.1>127.0.0.1:53924 postgres",
      "::ffff:127.0.0.1>::ffff:127.0.0.1:57586 postgres",
    ]);
  });
});

describe("tcp probe on the live host, against ss", () => {
  const servers: Server[] = [];
  const clients: Socket[] = [];
  let port = 0;
  let port6 = 0;

  beforeAll(async () => {
    const listen = (host: string) =>
      new Promise<number>((resolve) => {
        const s = createServer((sock) => clients.push(sock));
        servers.push(s);
        s.listen(0, host, () => resolve((s.address() as { port: number }).port));
      });
    port = await listen("127.0.0.1");
    port6 = await listen("::1");
    const open = (p: number, host: string) =>
      new Promise<void>((resolve) => {
        const c = connect(p, host, () => resolve());
        clients.push(c);
      });
    for (let i = 0; i < 25; i++) await open(port, "127.0.0.1");
    for (let i = 0; i < 7; i++) await open(port6, "::1");
  });

  afterAll(() => {
    for (const c of clients) c.destroy();
    for (const s of servers) s.close();
  });

  function ssConnections(localPort: number, host: string): string[] {
    const out = execFileSync("ss", ["-Htan", "state", "established", `( sport = :${localPort} ) and src ${host}`], { encoding: "utf8" });
    return out
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const f = l.trim().split(/\s+/);
        const peer = f.at(-1)!;
        const i = peer.lastIndexOf(":");
        return `${unmapped(peer.slice(0, i).replace(/^\[|\]$/g, ""))}:${peer.slice(i + 1)}`;
      })
      .sort();
  }

  it("sees the same established connections as `ss -tan`, IPv4 and IPv6", () => {
    for (const p of [port, port6]) {
      const r = tcp.read({ proc: "/proc" });
      if (!r.ok) throw new Error(r.error.message);
      const mine = r.value
        // (another process's client may hold the same port number on another address)
        .filter((s) => s.localPort === p && s.state === "ESTABLISHED" && (s.localAddress === "127.0.0.1" || s.localAddress === "::1"))
        .map((s) => `${unmapped(s.remoteAddress)}:${s.remotePort}`)
        .sort();
      expect(mine).toEqual(ssConnections(p, p === port ? "127.0.0.1" : "[::1]"));
      expect(mine.length).toBe(p === port ? 25 : 7);
    }
  });

  it("finds this test process as the owner of its listening sockets", () => {
    const r = connections.read({ proc: "/proc", etc: "/etc" }, { localPort: port, state: "LISTEN" });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.length).toBe(1);
    expect(r.value[0]!.owners.map((o) => o.pid)).toContain(process.pid);
    const comm = readFileSync(`/proc/${process.pid}/comm`, "utf8").trim();
    expect(r.value[0]!.owners.find((o) => o.pid === process.pid)?.comm).toBe(comm);
  });
});
