import dgram from "node:dgram";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { behavioursFor } from "../../src/evaluator/behaviours.ts";
import { evaluateOne } from "../helpers/evaluate.ts";
import { loopback, ownComm } from "../helpers/loopback.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";
import { checkText, inControl } from "../helpers/diagnose.ts";

testPromiseType("listener", {
  valid: ["listener 23 { present = false }", "listener [514, 1812] { protocol = udp present = false }", 'listener [80, 443] { addresses = "0.0.0.0" process = "nginx" user = "www-data" }'],
  invalid: [
    { promise: "listener 5432 { addresses = [10.0.0.1/33] }", code: "E103", message: /prefix length must be 0 to 32/ },
    { promise: 'listener "http" { present = true }', code: "E102" },
  ],
});

describe("listener behaviour", () => {
  const net = loopback();
  let local = 0;
  let anyV4 = 0;
  let anyV6 = 0;
  let free = 0;
  let comm = "";
  const me = `(pid ${process.pid})`;

  beforeAll(async () => {
    local = await net.listen("127.0.0.1");
    anyV4 = await net.listen("0.0.0.0");
    anyV6 = await net.listen("::", true);
    free = await net.freePort();
    comm = ownComm();
  });
  afterAll(() => net.close());

  it("is kept when the port is listened on at an allowed address, by the promised process and user", async () => {
    const r = await evaluateOne(`listener ${local} { addresses = ["127.0.0.1"] process = "${comm}" user = "root" }`);
    expect([r.outcome, r.reason]).toEqual(["kept", "as promised"]);
  });

  it("reports a port nothing listens on, and keeps `present = false` there", async () => {
    const r = await evaluateOne(`listener ${free} { present = true }`);
    expect(r.outcome).toBe("drift");
    expect(r.differences).toEqual([{ subject: `port ${free}`, attribute: "present", expected: "listened on", observed: "nothing listens", reason: `nothing listens on port ${free}` }]);
    expect((await evaluateOne(`listener ${free} { present = false }`)).outcome).toBe("kept");
  });

  it("reports every listening socket on a port that must not be listened on", async () => {
    const r = await evaluateOne(`listener [${free}, ${local}] { present = false }`);
    expect(r.differences.map((d) => d.reason)).toEqual([`port ${local} is listened on at 127.0.0.1 by ${comm} ${me}, promised that nothing listens`]);
  });

  it("holds 0.0.0.0 and :: apart", async () => {
    expect((await evaluateOne(`listener ${anyV4} { addresses = ["0.0.0.0"] }`)).outcome).toBe("kept");
    expect((await evaluateOne(`listener ${anyV6} { addresses = ["::"] }`)).outcome).toBe("kept");
    const v4 = await evaluateOne(`listener ${anyV4} { addresses = ["::"] }`);
    expect(v4.differences).toEqual([
      { subject: `0.0.0.0:${anyV4}`, attribute: "addresses", expected: "::", observed: "0.0.0.0", reason: `port ${anyV4} is listened on at 0.0.0.0, not among the allowed addresses (::)` },
    ]);
    const v6 = await evaluateOne(`listener ${anyV6} { addresses = ["0.0.0.0", "127.0.0.1"] }`);
    expect(v6.reason).toBe(`port ${anyV6} is listened on at ::, not among the allowed addresses (0.0.0.0, 127.0.0.1)`);
  });

  it("accepts an address inside an allowed network", async () => {
    expect((await evaluateOne(`listener ${local} { addresses = ["127.0.0.0/8", "::1"] }`)).outcome).toBe("kept");
  });

  it("checks the owning process and the user it runs as", async () => {
    const name = await evaluateOne(`listener ${local} { process = "postgres" }`);
    expect(name.differences).toEqual([{ subject: `pid ${process.pid}`, attribute: "process", expected: "postgres", observed: comm, reason: `port ${local} is listened on by ${comm} ${me}, promised postgres` }]);
    const user = await evaluateOne(`listener ${local} { user = "nobody" }`);
    expect(user.reason).toBe(`port ${local} is listened on by ${comm} ${me} running as root, promised nobody`);
  });

  it("judges the socket's own user when its owner is unknown, and says so", async () => {
    // the fixture tree has the kernel's tables but no /proc/[pid]; PostgreSQL's socket belongs to uid 101
    const fixture = "test/fixtures/proc/debian12-vm";
    const roots = { proc: fixture, etc: `${fixture}/etc` };
    const kept = await evaluateOne(`listener 5432 { user = "postgres" process = "postgres" }`, { roots });
    expect(kept.outcome).toBe("kept");
    expect(kept.notes).toContain("1 listening socket has no known owner process (127.0.0.1:5432): not judged on `process`, judged on the socket's user");
    const drift = await evaluateOne(`listener 5432 { user = "root" }`, { roots });
    expect(drift.reason).toBe("port 5432: the listening socket at 127.0.0.1 belongs to postgres, promised root");
  });

  it("is an error, not `nothing listens`, when the socket table cannot be read", async () => {
    const empty = mkdtempSync(join(tmpdir(), "covenant-noproc-"));
    const r = await evaluateOne(`listener 22 { present = false }`, { roots: { proc: empty, etc: "/etc" } });
    expect(r.outcome).toBe("error");
    expect(r.reason).toBe(`cannot read the TCP sockets: ${join(empty, "net", "tcp")} does not exist`);
  });

  it("plans no changes: listener findings are reported only", async () => {
    expect((await behavioursFor(["listener"])).get("listener")?.repair).toBeUndefined();
    const r = await evaluateOne(`listener ${local} { present = false }`);
    expect([r.outcome, r.changes]).toEqual(["drift", []]);
  });
});

describe("listener behaviour: protocol = udp", () => {
  const sockets: dgram.Socket[] = [];
  let bound = 0;
  let clientOnly = 0;
  let comm = "";
  const me = `(pid ${process.pid})`;
  const bind = (port: number, address: string) =>
    new Promise<dgram.Socket>((resolve) => {
      const s = dgram.createSocket(address.includes(":") ? "udp6" : "udp4");
      sockets.push(s);
      s.bind(port, address, () => resolve(s));
    });

  beforeAll(async () => {
    bound = (await bind(0, "127.0.0.1")).address().port;
    // a client connect()ed to the bound socket: its own port is UDP, but nothing listens on it
    const client = await bind(0, "127.0.0.1");
    await new Promise<void>((resolve) => client.connect(bound, "127.0.0.1", () => resolve()));
    clientOnly = client.address().port;
    comm = ownComm();
  });
  afterAll(() => {
    for (const s of sockets) s.close();
  });

  it("kept: a bound UDP socket at an allowed address, owned by the promised process and user", async () => {
    const r = await evaluateOne(`listener ${bound} { protocol = udp addresses = ["127.0.0.1"] process = "${comm}" user = "root" }`);
    expect([r.outcome, r.reason]).toEqual(["kept", "as promised"]);
  });

  it("the protocol matters: no TCP socket listens on the UDP port, and a connected client socket is not listening", async () => {
    expect((await evaluateOne(`listener ${bound} { present = false }`)).outcome).toBe("kept");
    const r = await evaluateOne(`listener ${clientOnly} { protocol = udp }`);
    expect(r.differences).toEqual([{ subject: `UDP port ${clientOnly}`, attribute: "present", expected: "listened on", observed: "nothing listens", reason: `nothing listens on UDP port ${clientOnly}` }]);
  });

  it("drift: a bound UDP port promised closed, and one bound outside its allowed addresses", async () => {
    const closed = await evaluateOne(`listener ${bound} { protocol = udp present = false }`);
    expect(closed.reason).toBe(`UDP port ${bound} is listened on at 127.0.0.1 by ${comm} ${me}, promised that nothing listens`);
    const where = await evaluateOne(`listener ${bound} { protocol = udp addresses = ["10.0.0.1"] }`);
    expect(where.reason).toBe(`UDP port ${bound} is listened on at 127.0.0.1, not among the allowed addresses (10.0.0.1)`);
  });

  it("reads the fixture's UDP table where the /proc root says", async () => {
    const fixture = "test/fixtures/proc/udp-loopback";
    const r = await evaluateOne(`listener [1812, 5140] { protocol = udp addresses = ["127.0.0.1", "::1"] }`, { roots: { proc: fixture, etc: "test/fixtures/proc/debian12-vm/etc" } });
    expect(r.differences.map((d) => d.reason)).toEqual(["UDP port 1812 is listened on at 0.0.0.0, not among the allowed addresses (127.0.0.1, ::1)"]);
  });

  it("two promises on one port with different protocols do not contradict (E111)", () => {
    const d = checkText({ "p.promise": inControl("  listener 53 { present = true }\n  listener 53 { protocol = udp present = false }") }).diagnostics;
    expect(d.filter((x) => x.severity === "error")).toEqual([]);
    const same = checkText({ "p.promise": inControl("  listener 53 { protocol = udp present = true }\n  listener 53 { protocol = udp present = false }") }).diagnostics;
    expect(same.map((x) => x.code)).toContain("E111");
  });
});
