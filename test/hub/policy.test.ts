// Policy distribution on the hub: a version checked as `covenant check` would (errors refuse it,
// with file:line:col and codes), approved by someone other than its author, signed with the hub's
// key, fetched by a host that checks the signature and every file with the hub's public key, and
// its adoption seen in the host's pushed records.
import { createPublicKey } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeEnrollToken } from "../../src/hub/admin.js";
import { decideVersion, listVersions, publishVersion, contentKey } from "../../src/hub/policy/versions.js";
import { verifySignedPolicy } from "../../src/hub/policy/verify.js";
import { encodeBody, PROTOCOL, PROTOCOL_VERSION, signBody } from "../../src/hub/protocol.js";
import { policyBody } from "../../src/store/policies.js";
import { hubPerTest } from "./helpers/config.js";
import { post, SyntheticHost } from "./helpers/synthetic-host.js";

const t = hubPerTest();

const sox = readdirSync("examples/sox").filter((f) => f.endsWith(".promise")).map((f) => ({ path: f, text: readFileSync(join("examples/sox", f), "utf8") }));

async function enrolled(group?: string): Promise<SyntheticHost> {
  const host = new SyntheticHost();
  const { token } = await makeEnrollToken(t.hub.pool, { validForMs: 60_000, actor: "admin", ...(group ? { group } : {}) });
  const r = await host.enroll(t.hub.url, t.cert.certPem, token);
  expect(r.body["hubKey"]).toEqual({ publicKey: t.hub.key.publicRaw, fingerprint: t.hub.key.fingerprint });
  return host;
}

async function fetchPolicy(host: SyntheticHost, have: string | null = null) {
  const bytes = encodeBody({ protocol: PROTOCOL, version: PROTOCOL_VERSION, kind: "policy", host: host.id, sentAt: new Date().toISOString(), have } as never);
  return post(t.hub.url, "/v1/policy", bytes, { "covenant-host": host.id, "covenant-signature": signBody(bytes, host.privateKey) }, t.cert.certPem);
}

describe("publishing a policy version", () => {
  it("refuses, without throwing, a file that is also another file's directory", async () => {
    const files = [...sox, { path: "ledger.promise/more.promise", text: "" }];
    const r = await publishVersion(t.hub.pool, t.hub.key, { files, message: "try", author: "alice", approvalRequired: true });
    expect(r).toEqual({ refused: '"ledger.promise" is a file and a directory of "ledger.promise/more.promise"' });
  });

  it("refuses a policy with errors, naming each with file:line:col and its code, storing nothing", async () => {
    const broken = [...sox.filter((f) => f.path !== "ledger.promise"), { path: "ledger.promise", text: 'control "X-1" {\n  file "/etc/x" { mode = 0999 }\n}\n' }];
    const r = await publishVersion(t.hub.pool, t.hub.key, { files: broken, message: "try", author: "alice", approvalRequired: true });
    expect("problems" in r).toBe(true);
    if ("problems" in r) {
      expect(r.problems.length).toBeGreaterThan(0);
      expect(r.problems[0]).toMatchObject({ file: "ledger.promise", line: expect.any(Number), col: expect.any(Number), code: expect.stringMatching(/^E\d+$/) });
      expect(JSON.stringify(r.problems)).not.toContain("covenant-hub-policy-");
    }
    expect(await listVersions(t.hub.pool)).toEqual([]);
    expect(await publishVersion(t.hub.pool, t.hub.key, { files: [{ path: "../etc/x.promise", text: "" }], message: "m", author: "a", approvalRequired: true })).toMatchObject({ refused: expect.stringContaining("not a plain relative path") });
  });

  it("holds a version until someone other than its author approves it; hosts then fetch it signed", async () => {
    const host = await enrolled();
    expect((await fetchPolicy(host)).body).toEqual({ status: "none" });
    const published = await publishVersion(t.hub.pool, t.hub.key, { files: sox, message: "CHG-100 tighten sudoers", author: "alice", approvalRequired: true });
    expect(published).toMatchObject({ version: { status: "pending", author: "alice", current: false } });
    const id = "version" in published ? published.version.id : 0;
    expect((await fetchPolicy(host)).body).toEqual({ status: "none" });
    expect(await decideVersion(t.hub.pool, t.hub.key, { id, by: "alice", decision: "approved" })).toMatchObject({ refused: expect.stringContaining("separation of duties") });
    expect(await decideVersion(t.hub.pool, t.hub.key, { id, by: "bob", decision: "approved", reason: "reviewed in CAB" })).toMatchObject({ version: { status: "approved", decidedBy: "bob", current: true } });
    expect(await decideVersion(t.hub.pool, t.hub.key, { id, by: "carol", decision: "rejected" })).toMatchObject({ refused: expect.stringContaining("approved already") });

    const answer = await fetchPolicy(host);
    expect(answer.body).toMatchObject({ status: "policy", id });
    const signed = answer.body["policy"];
    const hubKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(t.hub.key.publicRaw, "base64").toString("base64url") }, format: "jwk" });
    const verified = verifySignedPolicy(signed, hubKey);
    expect(verified).toMatchObject({ statement: { id, author: "alice", approvedBy: "bob", message: "CHG-100 tighten sudoers" } });
    expect("files" in verified && verified.files.map((f) => f.path).sort()).toEqual(sox.map((f) => f.path).sort());
    // a byte changed anywhere is refused
    const s = signed as { statement: string; signature: string; files: { path: string; text: string }[] };
    expect(verifySignedPolicy({ ...s, files: s.files.map((f, i) => (i === 0 ? { ...f, text: f.text + " " } : f)) }, hubKey)).toMatchObject({ problem: expect.stringContaining("not the one the hub signed") });
    expect(verifySignedPolicy({ ...s, statement: s.statement.replace("alice", "mallory") }, hubKey)).toMatchObject({ problem: expect.stringContaining("signature") });
    expect(verifySignedPolicy({ ...s, files: s.files.slice(1) }, hubKey)).toMatchObject({ problem: expect.stringContaining("not exactly those") });
    expect(verifySignedPolicy({ ...s, files: [...s.files, { path: "extra.promise", text: "" }] }, hubKey)).toMatchObject({ problem: expect.any(String) });
    // the host already runs it
    expect((await fetchPolicy(host, String(answer.body["content"]))).body).toMatchObject({ status: "unchanged" });
    const audit = (await t.hub.pool.query<{ action: string; actor: string }>("SELECT action, actor FROM hub_audit WHERE action LIKE 'policy.%' ORDER BY id")).rows;
    expect(audit).toEqual([{ action: "policy.publish", actor: "alice" }, { action: "policy.approve", actor: "bob" }]);
  });

  it("puts a version in force at once when the configuration requires no approval, and never serves a rejected one", async () => {
    const host = await enrolled("web");
    const rejected = await publishVersion(t.hub.pool, t.hub.key, { files: sox, message: "a", author: "alice", group: "web", approvalRequired: true });
    await decideVersion(t.hub.pool, t.hub.key, { id: "version" in rejected ? rejected.version.id : 0, by: "bob", decision: "rejected", reason: "no ticket" });
    expect((await fetchPolicy(host)).body).toEqual({ status: "none" });
    const direct = await publishVersion(t.hub.pool, t.hub.key, { files: sox, message: "b", author: "alice", approvalRequired: false });
    expect(direct).toMatchObject({ version: { status: "approved", current: true, group: null } });
    expect((await fetchPolicy(host)).body).toMatchObject({ status: "policy" });
  });
});

describe("adoption", () => {
  it("sees which version a host runs from its pushed policy record and run summary", async () => {
    const host = await enrolled();
    const published = await publishVersion(t.hub.pool, t.hub.key, { files: sox, message: "m", author: "alice", approvalRequired: false });
    const content = "version" in published ? published.version.content : "";
    // the host keeps the files under a directory of its own: the paths differ, the content does not
    const onHost = sox.map((f) => ({ path: `/var/lib/covenant/hub-policy/${f.path}`, text: f.text }));
    const body = policyBody(onHost, "2026-12-06T10:00:00Z");
    expect(contentKey(body.files.map((f) => f.sha256))).toBe(content);
    const mac = (n: number) => n.toString(16).padStart(64, "0");
    host.lines = [
      JSON.stringify({ seq: 1, kind: "policy", run: 1, time: "2026-12-06T10:00:00Z", body, mac: mac(1) }),
      JSON.stringify({ seq: 2, kind: "run", run: 1, time: "2026-12-06T10:00:05Z", body: { run: 1, kind: "run", host: "web-01", started: "2026-12-06T10:00:00Z", finished: "2026-12-06T10:00:05Z", policy: body.hash, policyRecord: 1, dryRun: false, promises: 10, counts: { kept: 10 }, outcomes: "ab".repeat(32), changed: 0 }, mac: mac(2) }),
    ];
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 2)).status).toBe(200);
    expect((await t.hub.pool.query("SELECT policy_content, policy_since FROM hub_hosts")).rows[0]).toEqual({ policy_content: content, policy_since: "2026-12-06T10:00:05Z" });
  });

  it("dates the adoption from the first run on the policy when one push carries several runs", async () => {
    const host = await enrolled();
    const body = policyBody(sox, "2026-12-06T10:00:00Z");
    const mac = (n: number) => n.toString(16).padStart(64, "0");
    const run = (seq: number, n: number, finished: string, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ seq, kind: "run", run: n, time: finished, body: { run: n, kind: "run", host: "web-01", started: finished, finished, policy: body.hash, policyRecord: 1, dryRun: false, promises: 10, counts: { kept: 10 }, outcomes: "ab".repeat(32), changed: 0, ...extra }, mac: mac(seq) });
    // the hub away for a day: the host comes back with a day of runs on the new policy in one push
    host.lines = [
      JSON.stringify({ seq: 1, kind: "policy", run: 1, time: "2026-12-06T10:00:00Z", body, mac: mac(1) }),
      run(2, 1, "2026-12-06T10:00:05Z"),
      run(3, 2, "2026-12-06T22:00:05Z"),
      run(4, 3, "2026-12-07T09:30:00Z", { dryRun: true, policy: "cd".repeat(32) }),
      run(5, 4, "2026-12-07T10:00:05Z"),
    ];
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 5)).status).toBe(200);
    expect((await t.hub.pool.query("SELECT policy_since, last_run_seq FROM hub_hosts")).rows[0]).toEqual({ policy_since: "2026-12-06T10:00:05Z", last_run_seq: "5" });
  });

  it("knows each control's design from the policies it sees", async () => {
    const host = await enrolled();
    const onHost = sox.map((f) => ({ path: `/etc/covenant/${f.path}`, text: f.text }));
    const body = policyBody(onHost, "2026-12-06T10:00:00Z");
    host.lines = [JSON.stringify({ seq: 1, kind: "policy", run: 1, time: "2026-12-06T10:00:00Z", body, mac: "0".repeat(64) })];
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 1)).status).toBe(200);
    await t.hub.checker.idle();
    const controls = (await t.hub.pool.query<{ control: string; title: string; severity: string; key_control: boolean; refs: string[]; promises: number }>("SELECT control, title, severity, key_control, refs, promises FROM hub_controls ORDER BY control")).rows;
    expect(controls.length).toBeGreaterThan(3);
    expect(controls.every((c) => c.title.length > 0 && c.promises > 0)).toBe(true);
    expect(controls.some((c) => c.refs.length > 0)).toBe(true);
    // published again as a version: the same content, read once
    await publishVersion(t.hub.pool, t.hub.key, { files: sox, message: "m", author: "alice", approvalRequired: false });
    expect((await t.hub.pool.query("SELECT count(*)::int AS n FROM hub_policy_contents")).rows[0]).toEqual({ n: 1 });
  });
  it("answers a push carrying a large policy without waiting for its check, and catalogues it afterwards, off the event loop", async () => {
    const host = await enrolled();
    // ~1.2 MB of policy: 4,000 controls (checking costs ~3.5 µs a byte: seconds of CPU)
    const text = Array.from({ length: 4000 }, (_, i) => `control "BIG-${i}" {\n  title    = "a control among many, number ${i}, with a title of some length"\n  severity = medium\n  file "/etc/big/${i}" { mode = 0644 }\n}\n`).join("");
    const body = policyBody([{ path: "/etc/covenant/big.promise", text }], "2026-12-06T10:00:00Z");
    host.lines = [JSON.stringify({ seq: 1, kind: "policy", run: 1, time: "2026-12-06T10:00:00Z", body, mac: "0".repeat(64) })];
    const started = Date.now();
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 1)).status).toBe(200);
    const answered = Date.now() - started;
    expect((await t.hub.pool.query("SELECT problem, controls FROM hub_policy_contents")).rows).toEqual([{ problem: "not checked yet", controls: 0 }]);
    // while it is checked, the hub answers at once: the check is not on its event loop
    const gaps: number[] = [];
    while (t.hub.checker.busy()) {
      const sent = Date.now();
      expect((await post(t.hub.url, "/v1/push", Buffer.from("{}"), { "covenant-host": "00000000-0000-4000-8000-000000000000" }, t.cert.certPem)).status).toBe(401);
      gaps.push(Date.now() - sent);
      await new Promise((r) => setTimeout(r, 50));
    }
    const checkTook = Date.now() - started;
    expect(checkTook).toBeGreaterThan(answered);
    expect(gaps.length).toBeGreaterThan(0);
    expect(Math.max(...gaps)).toBeLessThan(500);
    expect((await t.hub.pool.query("SELECT problem, controls FROM hub_policy_contents")).rows).toEqual([{ problem: null, controls: 4000 }]);
    expect((await t.hub.pool.query("SELECT count(*)::int AS n FROM hub_controls WHERE control LIKE 'BIG-%'")).rows[0]).toEqual({ n: 4000 });
  }, 120_000);
});
