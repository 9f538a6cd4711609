// The sock_diag reader against the /proc tables it stands in for, on this host's live sockets,
// and its record decoder against records built by hand.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer, connect, type Server, type Socket } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatIpv6 } from "../../src/probes/net-address.ts";
import * as sockDiag from "../../src/probes/sock-diag.ts";
import * as tcp from "../../src/probes/tcp.ts";
import { countByAddress, sortedCounts, tcpStates, type TcpSocket } from "../../src/probes/tcp-socket.ts";

const byInode = (a: TcpSocket, b: TcpSocket) => a.inode - b.inode || a.localPort - b.localPort || a.remotePort - b.remotePort;

describe("sock-diag on this host", () => {
  const servers: Server[] = [];
  const clients: Socket[] = [];
  let port = 0;
  let port6 = 0;
  const listen = (host: string) =>
    new Promise<number>((resolve) => {
      const s = createServer(() => {});
      servers.push(s);
      s.listen(0, host, () => resolve((s.address() as { port: number }).port));
    });
  beforeAll(async () => {
    port = await listen("127.0.0.1");
    port6 = await listen("::");
    const open = (p: number, host: string) =>
      new Promise<void>((resolve) => {
        const c = connect(p, host, () => resolve());
        clients.push(c);
      });
    for (let i = 0; i < 30; i++) await open(port, "127.0.0.1");
    for (let i = 0; i < 9; i++) await open(port6, "::1");
    // IPv4 clients of a dual-stack listener: IPv4-mapped addresses in the IPv6 table
    for (let i = 0; i < 4; i++) await open(port6, "127.0.0.1");
  });
  afterAll(() => {
    for (const c of clients) c.destroy();
    for (const s of servers) s.close();
  });

  it("is built and usable here (the install builds it; CI must not fall back unnoticed)", () => {
    expect(sockDiag.unavailableReason()).toBe("");
    expect(sockDiag.available()).toBe(true);
  });

  it("reports exactly the sockets /proc/net/tcp{,6} report, field for field, for each port filter", () => {
    for (const filter of [{ localPort: port }, { localPort: port6 }, { remotePort: port }, { remotePort: port6 }, { localPort: port6, state: "LISTEN" as const }, { localPort: port, state: "ESTABLISHED" as const }]) {
      const dumped = sockDiag.read(filter);
      if (!dumped.ok) throw dumped.error;
      const tables = tcp.readTables({ proc: "/proc" }, filter);
      if (!tables.ok) throw new Error(tables.error.message);
      expect(dumped.sockets.sort(byInode)).toEqual(tables.value.sort(byInode));
    }
    const mine = sockDiag.read({ localPort: port6 });
    if (!mine.ok) throw mine.error;
    const mineLocal = mine.sockets.filter((s) => s.localAddress === "::1" || s.localAddress === "::ffff:127.0.0.1");
    expect(mineLocal.filter((s) => s.state === "ESTABLISHED").length).toBe(13);
    expect(mineLocal.filter((s) => s.remoteAddress === "::ffff:127.0.0.1").length).toBe(4);
    expect(mine.sockets.find((s) => s.state === "LISTEN")?.txQueue).toBe(0);
  });

  it("filters by state in the kernel: only listening sockets, only established ones", () => {
    const listening = sockDiag.read({ state: "LISTEN" });
    // (another process's client may have the same port number on another address)
    const established = sockDiag.read({ state: "ESTABLISHED", localPort: port, localAddress: "127.0.0.1" });
    if (!listening.ok || !established.ok) throw new Error("dump failed");
    expect(listening.sockets.every((s) => s.state === "LISTEN")).toBe(true);
    expect(listening.sockets.map((s) => s.localPort)).toEqual(expect.arrayContaining([port, port6]));
    expect(established.sockets.filter((s) => s.localAddress === "127.0.0.1").length).toBe(30);
  });

  it("counts per address as counting the decoded sockets does, IPv4-mapped peers as IPv4", () => {
    for (const side of ["local", "remote"] as const) {
      for (const remote of [undefined, "127.0.0.1", "::1"]) {
        const counted = sockDiag.countByAddress({ localPort: port6 }, side, remote);
        const all = sockDiag.read({ localPort: port6 });
        if (!counted.ok || !all.ok) throw new Error("dump failed");
        expect(sortedCounts(counted.counts)).toEqual(sortedCounts(countByAddress(all.sockets, side, remote)));
      }
    }
    const byRemote = sockDiag.countByAddress({ localPort: port6, state: "ESTABLISHED" }, "remote");
    if (!byRemote.ok) throw byRemote.error;
    expect(byRemote.counts.get("::1")).toBeGreaterThanOrEqual(9);
    expect(byRemote.counts.get("127.0.0.1")).toBeGreaterThanOrEqual(4);
  });

  it("tcp.read takes the dump on the live /proc, and the tables when told not to or under another root", () => {
    const live = tcp.read({ proc: "/proc" }, { localPort: port, localAddress: "127.0.0.1" });
    if (!live.ok) throw new Error(live.error.message);
    expect(live.value.length).toBe(31);
    // the same answer from a process that may not use the addon
    const script = `import * as tcp from ${JSON.stringify(`${process.cwd()}/src/probes/tcp.ts`)};
import * as sd from ${JSON.stringify(`${process.cwd()}/src/probes/sock-diag.ts`)};
const r = tcp.read({ proc: "/proc" }, { localPort: ${port}, localAddress: "127.0.0.1" });
console.log(JSON.stringify({ available: sd.available(), reason: sd.unavailableReason(), n: r.ok ? r.value.length : -1 }));`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, COVENANT_NO_SOCK_DIAG: "1" } });
    expect(JSON.parse(r.stdout)).toEqual({ available: false, reason: "COVENANT_NO_SOCK_DIAG is set", n: 31 });
  });
});

describe("sock-diag where the kernel's view and the tables' differ", () => {
  // Python holds sockets Node cannot make: bound but never listening, or half-open connections
  // left waiting by TCP_DEFER_ACCEPT. It prints its port, then waits for stdin to close.
  const held: ChildProcess[] = [];
  const hold = (program: string) =>
    new Promise<number>((resolve, reject) => {
      const child = spawn("python3", ["-c", program], { stdio: ["pipe", "pipe", "inherit"] });
      held.push(child);
      child.stdout!.once("data", (d) => resolve(Number(String(d).trim())));
      child.once("exit", (code) => reject(new Error(`python3 exited with ${code}`)));
    });
  afterAll(() => {
    for (const c of held) c.kill();
  });
  const same = (filter: Parameters<typeof tcp.readTables>[1]) => {
    const live = tcp.read({ proc: "/proc" }, filter);
    const tables = tcp.readTables({ proc: "/proc" }, filter);
    if (!live.ok || !tables.ok) throw new Error("read failed");
    expect(live.value.sort(byInode)).toEqual(tables.value.sort(byInode));
    return live.value;
  };

  it("leaves out sockets that are only bound (the kernel's bound-inactive state), as the tables do", async () => {
    const port = await hold("import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()");
    const dumped = sockDiag.read({ localPort: port });
    if (!dumped.ok) throw dumped.error;
    expect(dumped.sockets).toEqual([]);
    expect(same({ localPort: port })).toEqual([]);
  });

  it("half-open connections: the listener's uid, as in the tables; NEW_SYN_RECV finds nothing either way", async () => {
    const port = await hold(
      // the listener belongs to uid 65534 (made after setuid); the clients never send, so the
      // server side stays half-open
      "import socket,sys,os\nos.setuid(65534)\ns=socket.socket()\ns.setsockopt(socket.IPPROTO_TCP,socket.TCP_DEFER_ACCEPT,30)\ns.bind(('127.0.0.1',0))\ns.listen(8)\n" +
        "c=[socket.socket() for _ in range(3)]\nfor x in c: x.connect(('127.0.0.1',s.getsockname()[1]))\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()",
    );
    const waiting = same({ localPort: port, state: "SYN_RECV" });
    expect(waiting.length).toBe(3);
    expect(waiting.map((s) => s.uid)).toEqual([65534, 65534, 65534]);
    expect(same({ localPort: port, state: "NEW_SYN_RECV" })).toEqual([]);
    expect(sockDiag.read({ localPort: port, state: "NEW_SYN_RECV" })).toEqual({ ok: true, sockets: [] });
    const counted = sockDiag.countByAddress({ localPort: port, state: "SYN_RECV" }, "remote");
    if (!counted.ok) throw counted.error;
    expect([...counted.counts]).toEqual([["127.0.0.1", 3]]);
  });
});

describe("sock-diag record decoder", () => {
  const byte = fc.integer({ min: 0, max: 255 });
  const record = fc.record({
    family: fc.constantFrom(4 as const, 6 as const),
    state: fc.integer({ min: 0, max: 15 }),
    localPort: fc.integer({ min: 0, max: 65535 }),
    remotePort: fc.integer({ min: 0, max: 65535 }),
    local: fc.array(byte, { minLength: 16, maxLength: 16 }),
    remote: fc.array(byte, { minLength: 16, maxLength: 16 }),
    uid: fc.integer({ min: 0, max: 0xffffffff }),
    inode: fc.integer({ min: 0, max: 0xffffffff }),
    rq: fc.integer({ min: 0, max: 0xffffffff }),
    wq: fc.integer({ min: 0, max: 0xffffffff }),
  });
  type R = typeof record extends fc.Arbitrary<infer T> ? T : never;
  // the layout native/sock_diag.c writes: numbers little-endian, addresses in network order
  function encode(rows: R[]): Buffer {
    const b = Buffer.alloc(rows.length * 56);
    rows.forEach((r, i) => {
      const at = i * 56;
      b[at] = r.family;
      b[at + 1] = r.state;
      b.writeUInt16LE(r.localPort, at + 4);
      b.writeUInt16LE(r.remotePort, at + 6);
      Buffer.from(r.local).copy(b, at + 8);
      Buffer.from(r.remote).copy(b, at + 24);
      b.writeUInt32LE(r.uid, at + 40);
      b.writeUInt32LE(r.inode, at + 44);
      b.writeUInt32LE(r.rq, at + 48);
      b.writeUInt32LE(r.wq, at + 52);
    });
    return b;
  }
  const text = (bytes: number[], family: 4 | 6) => (family === 4 ? bytes.slice(0, 4).join(".") : formatIpv6(bytes));

  it("decodes every field of random records; records in unknown states are left out", () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 40 }), (rows) => {
        const out: TcpSocket[] = [];
        sockDiag.decode(encode(rows), out);
        const expected = rows
          .filter((r) => r.state >= 1 && r.state <= 12)
          .map((r) => {
            const state = tcpStates[r.state]!;
            return { family: r.family, localAddress: text(r.local, r.family), localPort: r.localPort, remoteAddress: text(r.remote, r.family), remotePort: r.remotePort, state, txQueue: state === "LISTEN" ? 0 : r.wq, rxQueue: r.rq, uid: r.uid, inode: r.inode };
          });
        expect(out).toEqual(expected);
      }),
    );
  });

  it("decodes records inside a larger buffer (an offset view) and ignores a trailing partial record", () => {
    const rows: R[] = [{ family: 4, state: 1, localPort: 5432, remotePort: 40000, local: [127, 0, 0, 1, ...Array(12).fill(0)], remote: [10, 0, 0, 7, ...Array(12).fill(0)], uid: 101, inode: 4242, rq: 0, wq: 0 }];
    const padded = Buffer.concat([Buffer.alloc(8), encode(rows), Buffer.alloc(20)]);
    const out: TcpSocket[] = [];
    sockDiag.decode(padded.subarray(8), out);
    expect(out).toEqual([{ family: 4, localAddress: "127.0.0.1", localPort: 5432, remoteAddress: "10.0.0.7", remotePort: 40000, state: "ESTABLISHED", txQueue: 0, rxQueue: 0, uid: 101, inode: 4242 }]);
  });
});
