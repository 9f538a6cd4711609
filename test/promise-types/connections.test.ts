import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { behavioursFor } from "../../src/evaluator/behaviours.ts";
import { evaluateOne } from "../helpers/evaluate.ts";
import { loopback, ownComm } from "../helpers/loopback.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("connections", {
  valid: [
    'connections 5432 { sources = "10.20.0.0/24" }',
    'connections [5432, 1433] { sources = [10.20.0.0/24, "fd00::/8", "10.20.1.15"] max_per_source = 10 max_total = 50 }',
    'connections 443 { direction = outbound min_total = 1 process = "ledger-postd" }',
    "connections 5432 { sources = [fd00::/8, 2001:db8::1, ::ffff:10.0.0.1, 10.0.0.0/8] }",
  ],
  invalid: [
    { promise: "connections 0 { max_total = 1 }", code: "E103", message: "the promiser of `connections` must be a port number (1-65535), got `0`" },
    { promise: "connections 5432 { max_per_source = 50 max_total = 10 }", code: "E119" },
    { promise: "connections 5432 { direction = inbound }", code: "E104", message: /promises nothing/ },
    { promise: 'connections 5432 { sources = ["300.1.1.1"] }', code: "E103", message: /each part of an IPv4 address is 0 to 255/ },
    { promise: 'connections 5432 { sources = ["fd00::/129"] }', code: "E103", message: /prefix length must be 0 to 128/ },
    { promise: "connections 5432 { sources = [fd00::/129] }", code: "E103", message: /prefix length must be 0 to 128/ },
    { promise: "connections 5432 { sources = [1::2::3] }", code: "E103", message: /not an IPv4 or IPv6 address/ },
  ],
});

describe("connections behaviour", () => {
  const net = loopback();
  let v4 = 0;
  let v6 = 0;
  let dual = 0;
  let comm = "";

  beforeAll(async () => {
    v4 = await net.listen("127.0.0.1");
    v6 = await net.listen("::1");
    dual = await net.listen("::");
    await net.connect("127.0.0.1", v4, 3);
    await net.connect("::1", v6, 1);
    await net.connect("127.0.0.1", dual, 2);
    comm = ownComm();
  });
  afterAll(() => net.close());

  it("is kept when every peer is in the allowed sources and the counts are within bounds", async () => {
    const r = await evaluateOne(`connections ${v4} { sources = ["127.0.0.0/8"] max_per_source = 3 max_total = 3 min_total = 3 }`);
    expect([r.outcome, r.reason]).toEqual(["kept", "as promised"]);
  });

  it("reports a peer outside the allowed sources once, with its connection count", async () => {
    const r = await evaluateOne(`connections ${v4} { sources = ["10.0.0.0/8", "fd00::/8"] }`);
    expect(r.outcome).toBe("drift");
    expect(r.differences).toEqual([
      { subject: "127.0.0.1", attribute: "sources", expected: "10.0.0.0/8, fd00::/8", observed: "3 connections", reason: `127.0.0.1 holds 3 connections on port ${v4}, outside the allowed sources (10.0.0.0/8, fd00::/8)` },
    ]);
    expect(r.reason).toBe(r.differences[0]!.reason);
  });

  it("judges IPv6 peers, and IPv4 peers of a dual-stack socket as IPv4 addresses", async () => {
    const six = await evaluateOne(`connections ${v6} { sources = ["127.0.0.0/8"] }`);
    expect(six.differences.map((d) => d.reason)).toEqual([`::1 holds 1 connection on port ${v6}, outside the allowed sources (127.0.0.0/8)`]);
    expect((await evaluateOne(`connections ${v6} { sources = [::1] }`)).outcome).toBe("kept");
    // the kernel lists these in tcp6 as ::ffff:127.0.0.1
    expect((await evaluateOne(`connections ${dual} { sources = ["127.0.0.1"] max_per_source = 2 }`)).outcome).toBe("kept");
  });

  it("counts per source and in total, over every promised port", async () => {
    const perSource = await evaluateOne(`connections ${v4} { max_per_source = 2 }`);
    expect(perSource.differences.map((d) => [d.subject, d.reason])).toEqual([["127.0.0.1", `127.0.0.1 holds 3 connections on port ${v4}, at most 2 per source promised`]]);
    const total = await evaluateOne(`connections [${v4}, ${v6}] { max_total = 3 }`);
    expect(total.reason).toBe(`4 established connections on ports ${v4}, ${v6}, at most 3 promised`);
    const min = await evaluateOne(`connections ${v6} { min_total = 2 }`);
    expect(min.reason).toBe(`1 established connection on port ${v6}, at least 2 promised`);
  });

  it("looks at the remote port for outbound connections", async () => {
    expect((await evaluateOne(`connections ${v4} { direction = outbound min_total = 3 max_total = 3 sources = ["127.0.0.1"] }`)).outcome).toBe("kept");
    const r = await evaluateOne(`connections ${v4} { direction = outbound max_per_source = 1 }`);
    expect(r.reason).toBe(`127.0.0.1 holds 3 connections to port ${v4}, at most 1 per source promised`);
  });

  it("checks the process owning the local end", async () => {
    expect((await evaluateOne(`connections ${v4} { process = "${comm}" }`)).outcome).toBe("kept");
    const r = await evaluateOne(`connections ${v4} { process = "postgres" }`);
    expect(r.outcome).toBe("drift");
    expect(r.differences).toHaveLength(1);
    expect(r.differences[0]).toMatchObject({ subject: `pid ${process.pid}`, attribute: "process", expected: "postgres", observed: comm });
    expect(r.reason).toMatch(new RegExp(`^${escape(comm)} \\(pid ${process.pid}\\) holds 3 connections on port ${v4} \\(such as from 127\\.0\\.0\\.1:\\d+\\), promised only postgres$`));
  });

  it("notes connections whose owner is unknown instead of failing them", async () => {
    // the fixture tree has the kernel's tables but no /proc/[pid]: no socket has a known owner
    const fixture = "test/fixtures/proc/debian12-vm";
    // its one inbound connection to epmd (port 4369, 0x1111)
    const r = await evaluateOne(`connections 4369 { process = "epmd" min_total = 1 }`, { roots: { proc: fixture, etc: `${fixture}/etc` } });
    expect(r.outcome).toBe("kept");
    expect(r.notes).toContain("1 matching connection has no known owner process: not judged on `process`");
  });

  it("is an error, not zero connections, when the socket table cannot be read", async () => {
    const empty = mkdtempSync(join(tmpdir(), "covenant-noproc-"));
    const r = await evaluateOne(`connections ${v4} { max_total = 10 }`, { roots: { proc: empty, etc: "/etc" } });
    expect(r.outcome).toBe("error");
    expect(r.reason).toBe(`cannot read the TCP sockets: ${join(empty, "net", "tcp")} does not exist`);
  });

  it("plans no changes: connection findings are reported only", async () => {
    expect((await behavioursFor(["connections"])).get("connections")?.repair).toBeUndefined();
    const r = await evaluateOne(`connections ${v4} { max_total = 0 }`);
    expect([r.outcome, r.changes]).toEqual(["drift", []]);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
