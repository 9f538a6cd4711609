// The hub attacked by one of its own enrolled hosts: what a host pushes is its own record, and
// must not change what the hub says of other hosts or of the controls other teams own. Each test
// is an attack that worked before its fix (issue 18's adversarial review).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeEnrollToken } from "../../src/hub/admin.js";
import { contentKey, publishVersion } from "../../src/hub/policy/versions.js";
import { policyBody } from "../../src/store/policies.js";
import { hubPerTest } from "./helpers/config.js";
import { post, SyntheticHost } from "./helpers/synthetic-host.js";

const t = hubPerTest();

const sox = readdirSync("examples/sox").filter((f) => f.endsWith(".promise")).map((f) => ({ path: f, text: readFileSync(join("examples/sox", f), "utf8") }));
const REAL_TITLE = "Only approved application servers reach the general-ledger database";
const FORGED = 'stakeholder mallory { description = "the attacker" }\ncontrol "ITGC-AC-01" {\n  title    = "forged by a host"\n  owner    = mallory\n  severity = low\n  file "/etc/hostname" { mode = 0644 }\n}\n';

async function enrolled(): Promise<SyntheticHost> {
  const host = new SyntheticHost("mallory-01");
  const { token } = await makeEnrollToken(t.hub.pool, { validForMs: 60_000, actor: "admin" });
  expect((await host.enroll(t.hub.url, t.cert.certPem, token)).status).toBe(201);
  return host;
}

function policyLine(seq: number, body: unknown, time = "2026-12-06T10:00:00Z"): string {
  return JSON.stringify({ seq, kind: "policy", run: seq, time, body, mac: seq.toString(16).padStart(64, "0") });
}

async function controlRow(id: string): Promise<{ title: string; owner: string | null; severity: string } | undefined> {
  // pushed contents are catalogued after their pushes are answered
  await t.hub.checker.idle();
  return (await t.hub.pool.query<{ title: string; owner: string | null; severity: string }>("SELECT title, owner, severity FROM hub_controls WHERE control = $1", [id])).rows[0];
}

describe("a malicious host and the control catalogue", () => {
  it("cannot pass its own text off under the sha256 of a version's files (the catalogue would keep its text for that version)", async () => {
    const host = await enrolled();
    // the files' sha256 of the version about to be published (the host can compute them from the
    // policy repository), each with text of the host's own
    const real = policyBody(sox.map((f) => ({ path: `/etc/covenant/${f.path}`, text: f.text })), "2026-12-06T10:00:00Z");
    const forged = { ...real, files: real.files.map((f, i) => ({ ...f, text: i === 0 ? FORGED : "" })) };
    host.lines = [policyLine(1, forged)];
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 1)).status).toBe(200);
    // stored as evidence, but it derives nothing: its texts are not the ones its hashes name
    expect((await t.hub.pool.query("SELECT count(*)::int AS n FROM hub_records")).rows[0]).toEqual({ n: 1 });
    expect((await t.hub.pool.query("SELECT count(*)::int AS n FROM hub_host_policies")).rows[0]).toEqual({ n: 0 });
    expect(await controlRow("ITGC-AC-01")).toBeUndefined();

    const published = await publishVersion(t.hub.pool, t.hub.key, { files: sox, message: "m", author: "alice", approvalRequired: false });
    expect("version" in published && published.version.content).toBe(contentKey(real.files.map((f) => f.sha256)));
    expect(await controlRow("ITGC-AC-01")).toMatchObject({ title: REAL_TITLE, severity: "high" });
  });

  it("cannot rewrite the title, owner or severity of a control an approved version defines", async () => {
    await publishVersion(t.hub.pool, t.hub.key, { files: sox, message: "m", author: "alice", approvalRequired: false });
    const before = await controlRow("ITGC-AC-01");
    expect(before).toMatchObject({ title: REAL_TITLE, severity: "high" });
    const host = await enrolled();
    host.lines = [policyLine(1, policyBody([{ path: "/etc/covenant/forged.promise", text: FORGED }], "2026-12-06T10:00:00Z"))];
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 1)).status).toBe(200);
    // the host's policy is known as what it runs, and its content is catalogued
    expect((await t.hub.pool.query("SELECT count(*)::int AS n FROM hub_host_policies")).rows[0]).toEqual({ n: 1 });
    expect((await t.hub.pool.query("SELECT count(*)::int AS n FROM hub_policy_contents")).rows[0]).toEqual({ n: 2 });
    // but the approved version's design of the control stands
    expect(await controlRow("ITGC-AC-01")).toEqual(before);
  });

  it("an approved version puts back the design a host's policy had written first", async () => {
    const host = await enrolled();
    host.lines = [policyLine(1, policyBody([{ path: "/etc/covenant/forged.promise", text: FORGED }], "2026-12-06T10:00:00Z"))];
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 1)).status).toBe(200);
    expect(await controlRow("ITGC-AC-01")).toMatchObject({ title: "forged by a host", owner: "mallory", severity: "low" });
    // a host already pushed the version's own content (legitimately, before it was published)
    const honest = await enrolled();
    honest.lines = [policyLine(1, policyBody(sox.map((f) => ({ path: `/etc/covenant/${f.path}`, text: f.text })), "2026-12-06T10:00:00Z"))];
    expect((await honest.push(t.hub.url, t.cert.certPem, 0, 1)).status).toBe(200);
    host.lines.push(policyLine(2, policyBody([{ path: "/etc/covenant/forged.promise", text: FORGED + "\n" }], "2026-12-06T10:01:00Z")));
    expect((await host.push(t.hub.url, t.cert.certPem, 1, 2)).status).toBe(200);
    expect(await controlRow("ITGC-AC-01")).toMatchObject({ title: "forged by a host" });
    // approving that content puts its design in force, though the hub had read the content before
    await publishVersion(t.hub.pool, t.hub.key, { files: sox, message: "m", author: "alice", approvalRequired: false });
    expect(await controlRow("ITGC-AC-01")).toMatchObject({ title: REAL_TITLE, severity: "high" });
  });
});

describe("the control catalogue's order", () => {
  const design = (title: string) => [{ path: "/etc/covenant/c.promise", text: `control "ITGC-CM-09" {\n  title    = "${title}"\n  severity = medium\n  file "/etc/hostname" { mode = 0644 }\n}\n` }];
  const catalogued = async () => (await controlRow("ITGC-CM-09"))?.title;

  it("keeps the design of the content adopted last, not of the one the hub saw last", async () => {
    const current = await enrolled();
    current.lines = [policyLine(1, policyBody(design("this year's"), "2026-12-01T00:00:00Z"))];
    expect((await current.push(t.hub.url, t.cert.certPem, 0, 1)).status).toBe(200);
    expect(await catalogued()).toBe("this year's");
    // a host still running last year's policy, pushing after it
    const behind = await enrolled();
    behind.lines = [policyLine(1, policyBody(design("last year's"), "2025-12-01T00:00:00Z"), "2025-12-01T00:00:00Z")];
    expect((await behind.push(t.hub.url, t.cert.certPem, 0, 1)).status).toBe(200);
    expect(await catalogued()).toBe("this year's");
    // a later adoption replaces it; one dated in the future counts as adopted when the hub got it
    const next = await enrolled();
    next.lines = [policyLine(1, policyBody(design("next year's"), "2099-01-01T00:00:00Z"))];
    expect((await next.push(t.hub.url, t.cert.certPem, 0, 1)).status).toBe(200);
    expect(await catalogued()).toBe("next year's");
    current.lines.push(policyLine(2, policyBody(design("today's"), new Date(Date.now() + 1000).toISOString())));
    await new Promise((r) => setTimeout(r, 1100));
    expect((await current.push(t.hub.url, t.cert.certPem, 1, 2)).status).toBe(200);
    expect(await catalogued()).toBe("today's");
  });
});

describe("enrolment races", () => {
  it("one token taken by two hosts at once enrols one; one key with two tokens at once enrols once, the other answered 409 with its token unspent", async () => {
    const { token } = await makeEnrollToken(t.hub.pool, { validForMs: 60_000, actor: "admin" });
    const [a, b] = [new SyntheticHost("race-a"), new SyntheticHost("race-b")];
    const both = await Promise.all([a.enroll(t.hub.url, t.cert.certPem, token), b.enroll(t.hub.url, t.cert.certPem, token)]);
    expect(both.map((r) => r.status).sort()).toEqual([201, 401]);

    const key = new SyntheticHost("race-c");
    const tokens = [(await makeEnrollToken(t.hub.pool, { validForMs: 60_000, actor: "admin" })).token, (await makeEnrollToken(t.hub.pool, { validForMs: 60_000, actor: "admin" })).token];
    const signed = tokens.map((t) => key.enrollBytes(t));
    const answers = await Promise.all(signed.map((e) => post(t.hub.url, "/v1/enroll", e.bytes, { "covenant-signature": e.signature }, t.cert.certPem)));
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
    expect((await t.hub.pool.query("SELECT count(*)::int AS n FROM hub_hosts WHERE name = 'race-c'")).rows[0]).toEqual({ n: 1 });
    expect((await t.hub.pool.query("SELECT count(*)::int AS n FROM hub_enroll_tokens WHERE used_at IS NULL")).rows[0]).toEqual({ n: 1 });
  });
});

describe("a network attacker without a key", () => {
  it("cannot hold a connection open by sending a push's body a byte at a time", async () => {
    const { buildHubApp } = await import("../../src/hub/server/app.js");
    const { connect } = await import("node:tls");
    const app = buildHubApp({ pool: t.hub.pool, https: { cert: readFileSync(t.cert.cert), key: readFileSync(t.cert.key) }, clockToleranceMs: 1000, key: t.hub.key, approvalRequired: true, log: () => undefined, requestTimeoutMs: 1_000 });
    const url = new URL(await app.listen({ host: "127.0.0.1", port: 0 }));
    try {
      const socket = connect({ host: "127.0.0.1", port: Number(url.port), ca: t.cert.certPem, servername: "localhost" });
      await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
      const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now())));
      socket.on("error", () => undefined);
      socket.on("data", () => undefined);
      const started = Date.now();
      socket.write("POST /v1/push HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\ncovenant-host: 00000000-0000-4000-8000-000000000000\r\n\r\n{");
      const drip = setInterval(() => socket.writable && socket.write(" "), 200);
      const ended = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 8_000))]);
      clearInterval(drip);
      socket.destroy();
      expect(ended, "the connection was still open after 8 s").toBeGreaterThan(0);
      expect(ended - started).toBeLessThan(5_000);
    } finally {
      await app.close();
    }
  }, 20_000);
});
