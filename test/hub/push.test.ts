// The hub taking pushes, against real PostgreSQL over real HTTPS: enrolment with one-time tokens,
// pushes stored in order with the hub's receive time, replays taken as the same, and the three
// ways a host's chain can be in doubt (a fork, a rollback, records it never sent) refused and
// opened as incidents; a revoked host refused; malformed, unsigned and oversized requests refused
// with nothing stored.
import { describe, expect, it, vi } from "vitest";
import { acceptHostHistory, listIncidents, makeEnrollToken, listHosts, resolveIncident, revokeHost } from "../../src/hub/admin.js";
import { encodeBody, MAX_PUSH_BYTES, signBody } from "../../src/hub/protocol.js";
import { signedRotation } from "../../src/store/rotation.js";
import { fingerprintOf, rawPublicKey } from "../../src/store/signing-key.js";
import { takePush } from "../../src/hub/server/push.js";
import { generateKeyPairSync } from "node:crypto";
import { request } from "node:https";
import { hubPerTest } from "./helpers/config.js";
import { post, recordLine, SyntheticHost } from "./helpers/synthetic-host.js";

const logged: string[] = [];
const t = hubPerTest({ log: (l) => logged.push(l) });

async function enrolled(name = "web-01"): Promise<SyntheticHost> {
  const host = new SyntheticHost(name);
  const { token } = await makeEnrollToken(t.hub.pool, { validForMs: 3600_000, actor: "test" });
  const r = await host.enroll(t.hub.url, t.cert.certPem, token);
  expect(r.status).toBe(201);
  return host;
}

async function count(sql: string, args: unknown[] = []): Promise<number> {
  return Number((await t.hub.pool.query<{ n: string }>(sql, args)).rows[0]!.n);
}

describe("enrolment", () => {
  it("takes a token once, before it expires, from a host holding the key it registers", async () => {
    const { token } = await makeEnrollToken(t.hub.pool, { validForMs: 3600_000, actor: "admin", group: "web" });
    const a = new SyntheticHost("web-01");
    const first = await a.enroll(t.hub.url, t.cert.certPem, token);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: "enrolled", name: "web-01" });
    const again = await new SyntheticHost("web-02").enroll(t.hub.url, t.cert.certPem, token);
    expect(again).toMatchObject({ status: 401, body: { message: "the enrolment token was used already" } });
    const hosts = await listHosts(t.hub.pool);
    expect(hosts.map((h) => [h.name, h.group])).toEqual([["web-01", "web"]]);
    expect(await count("SELECT count(*) AS n FROM hub_audit WHERE action = 'enroll'")).toBe(1);
    // the token itself is nowhere in the database: only its hash
    const dump = JSON.stringify((await t.hub.pool.query("SELECT * FROM hub_enroll_tokens")).rows) + JSON.stringify((await t.hub.pool.query("SELECT * FROM hub_audit")).rows);
    expect(dump).not.toContain(token);
  });

  it("refuses an expired token, an unknown one, and a request not signed by the key it registers", async () => {
    const { token } = await makeEnrollToken(t.hub.pool, { validForMs: 1000, actor: "admin", now: new Date(Date.now() - 10_000) });
    expect((await new SyntheticHost().enroll(t.hub.url, t.cert.certPem, token)).body["message"]).toBe("the enrolment token has expired");
    expect((await new SyntheticHost().enroll(t.hub.url, t.cert.certPem, "cvt_" + "x".repeat(43))).status).toBe(401);
    const { token: good } = await makeEnrollToken(t.hub.pool, { validForMs: 3600_000, actor: "admin" });
    const host = new SyntheticHost();
    const { bytes } = host.enrollBytes(good);
    const other = new SyntheticHost();
    const r = await post(t.hub.url, "/v1/enroll", bytes, { "covenant-signature": signBody(bytes, other.privateKey) }, t.cert.certPem);
    expect(r).toMatchObject({ status: 401, body: { message: "the enrolment is not signed by the key it registers" } });
    expect(await count("SELECT count(*) AS n FROM hub_hosts")).toBe(0);
  });
});

describe("enrolment at once", () => {
  it("enrols one key once when it is presented with several tokens at once: the others 409, never 500", async () => {
    const host = new SyntheticHost("web-01");
    const tokens = await Promise.all([0, 1, 2, 3, 4].map(() => makeEnrollToken(t.hub.pool, { validForMs: 3600_000, actor: "test" })));
    const replies = await Promise.all(tokens.map(({ token }) => post(t.hub.url, "/v1/enroll", ...((b) => [b.bytes, { "covenant-signature": b.signature }] as const)(host.enrollBytes(token)), t.cert.certPem)));
    expect(replies.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
    expect(await count("SELECT count(*) AS n FROM hub_hosts")).toBe(1);
    // the tokens refused are not used up
    expect(await count("SELECT count(*) AS n FROM hub_enroll_tokens WHERE used_at IS NULL")).toBe(4);
  });
});

describe("pushes", () => {
  it("stores records in order with the hub's receive time, and takes a replay as the same push", async () => {
    const host = await enrolled();
    host.grow(10);
    const r = await host.push(t.hub.url, t.cert.certPem, 0, 10);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "accepted", stored: 10, holds: { seq: 10, chain: host.chainAfter(10).toString("hex") } });
    const replay = await host.push(t.hub.url, t.cert.certPem, 0, 10);
    expect(replay.body).toMatchObject({ status: "accepted", stored: 0, holds: { seq: 10 } });
    host.grow(5);
    expect((await host.push(t.hub.url, t.cert.certPem, 10, 15)).body).toMatchObject({ stored: 5, holds: { seq: 15 } });
    const rows = (await t.hub.pool.query<{ seq: string; line: string; received_at: Date }>("SELECT seq, line, received_at FROM hub_records WHERE host_id = $1 ORDER BY seq", [host.id])).rows;
    expect(rows.map((x) => Number(x.seq))).toEqual([...Array(15).keys()].map((i) => i + 1));
    expect(rows.map((x) => x.line)).toEqual(host.lines);
    expect(Math.abs(rows[0]!.received_at.getTime() - Date.now())).toBeLessThan(60_000);
    // a partial re-send of records the hub holds is the same, too
    expect((await host.push(t.hub.url, t.cert.certPem, 3, 8)).body).toMatchObject({ stored: 0, holds: { seq: 15 } });
    expect(await count("SELECT count(*) AS n FROM hub_incidents")).toBe(0);
  });

  it("takes two identical pushes at once as one", async () => {
    const host = await enrolled();
    host.grow(50);
    const [a, b] = await Promise.all([host.push(t.hub.url, t.cert.certPem, 0, 50), host.push(t.hub.url, t.cert.certPem, 0, 50)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect([a.body["stored"], b.body["stored"]].sort()).toEqual([0, 50]);
    expect(await count("SELECT count(*) AS n FROM hub_records")).toBe(50);
  });

  it("never moves the hub's position or the host's head backwards, whatever order a host's pushes arrive in", async () => {
    const host = await enrolled();
    host.grow(12);
    // a push sent while the host's head was 12, then a retry of an older one (head 5) arriving after it
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 3, { head: 12 })).status).toBe(200);
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 3, { head: 5 })).status).toBe(200);
    const position = async () => (await t.hub.pool.query<{ last_seq: string; head_seq: string }>("SELECT last_seq, head_seq FROM hub_hosts WHERE id = $1", [host.id])).rows[0]!;
    expect(await position()).toEqual({ last_seq: "3", head_seq: "12" });
    // pushes of one host at once, each following on from what the hub holds or replaying it: the
    // row lock makes them take turns, and each stores only what lies beyond what the hub holds.
    // Signed as a host signs them, a later one with a head at least as high: the one signed last
    // (head 14) is never old news, whichever order they take the lock in (signed at the same
    // millisecond as another, and arriving after it with nothing new, it would be, by design)
    const base = Date.now();
    const at = (n: number) => new Date(base + n);
    const replies = await Promise.all([
      host.push(t.hub.url, t.cert.certPem, 3, 6, { head: 14, sentAt: at(4) }),
      host.push(t.hub.url, t.cert.certPem, 3, 12, { head: 12, sentAt: at(1) }),
      host.push(t.hub.url, t.cert.certPem, 3, 9, { head: 13, sentAt: at(3) }),
      host.push(t.hub.url, t.cert.certPem, 0, 3, { head: 12, sentAt: at(2) }),
    ]);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(await position()).toEqual({ last_seq: "12", head_seq: "14" });
    expect(await count("SELECT count(*) AS n FROM hub_records")).toBe(12);
  });

  it("answers a push that starts past what it holds with where to send from, opening no incident", async () => {
    const host = await enrolled();
    host.grow(10);
    await host.push(t.hub.url, t.cert.certPem, 0, 4);
    const r = await host.push(t.hub.url, t.cert.certPem, 6, 10);
    expect(r).toMatchObject({ status: 409, body: { status: "refused", reason: "gap", holds: { seq: 4, chain: host.chainAfter(4).toString("hex") } } });
    expect(await count("SELECT count(*) AS n FROM hub_incidents")).toBe(0);
    expect((await host.push(t.hub.url, t.cert.certPem, 4, 10)).body).toMatchObject({ stored: 6 });
  });
});

describe("a chain in doubt", () => {
  it("reports a fork: a record the hub holds sent again different", async () => {
    const host = await enrolled();
    host.grow(10);
    await host.push(t.hub.url, t.cert.certPem, 0, 10);
    host.lines[6] = recordLine(7, { note: "rewritten" });
    const r = await host.push(t.hub.url, t.cert.certPem, 5, 10);
    expect(r).toMatchObject({ status: 409, body: { reason: "fork", seq: 7 } });
    expect(String(r.body["message"])).toContain("forks at record 7");
    const [h] = await listHosts(t.hub.pool);
    expect(h).toMatchObject({ chainStatus: "fork", openIncidents: ["fork"], lastSeq: 10 });
    // seen again, not repeated; nothing of the forked push stored
    await host.push(t.hub.url, t.cert.certPem, 5, 10);
    expect((await t.hub.pool.query("SELECT seen FROM hub_incidents")).rows).toEqual([{ seen: 2 }]);
    expect((await t.hub.pool.query("SELECT line FROM hub_records WHERE seq = 7")).rows[0]!.line).not.toContain("rewritten");
  });

  it("reports a fork where the chain before the push differs", async () => {
    const host = await enrolled();
    host.grow(10);
    await host.push(t.hub.url, t.cert.certPem, 0, 10);
    host.lines[2] = recordLine(3, { note: "edited" });
    host.grow(3);
    expect((await host.push(t.hub.url, t.cert.certPem, 10, 13)).body).toMatchObject({ reason: "fork", seq: 10 });
  });

  it("reports a rollback: the host's history ends below what it sent", async () => {
    const host = await enrolled();
    host.grow(20);
    await host.push(t.hub.url, t.cert.certPem, 0, 20);
    // the store restored from a backup taken at record 12: the same records, fewer of them
    host.lines = host.lines.slice(0, 12);
    const r = await host.push(t.hub.url, t.cert.certPem, 10, 12);
    expect(r).toMatchObject({ status: 409, body: { reason: "rollback", holds: { seq: 20 } } });
    expect(String(r.body["message"])).toContain("ends at record 12, but it had already sent records up to 20");
    expect((await listHosts(t.hub.pool))[0]).toMatchObject({ chainStatus: "rollback", openIncidents: ["rollback"] });
  });

  it("reports records the host never sent: a hole after what the hub holds", async () => {
    const host = await enrolled();
    host.grow(10);
    await host.push(t.hub.url, t.cert.certPem, 0, 5);
    host.lines.splice(6, 2); // records 7 and 8 gone from the store
    const r = await host.push(t.hub.url, t.cert.certPem, 5, 8);
    expect(r).toMatchObject({ status: 409, body: { reason: "gap", seq: 7 } });
    expect((await listHosts(t.hub.pool))[0]!.openIncidents).toEqual(["gap"]);
  });

  it("accepts holes only below the prune cut a host named before its first push", async () => {
    const host = await enrolled();
    // a pruned store: records 3, 9 and 12 kept below the cut at 20, then 21 on
    host.lines = [3, 9, 12].map((s) => recordLine(s));
    for (let s = 21; s <= 30; s++) host.lines.push(recordLine(s));
    const refused = await host.push(t.hub.url, t.cert.certPem, 0, 13);
    expect(refused.body).toMatchObject({ reason: "gap" });
    const ok = await host.push(t.hub.url, t.cert.certPem, 0, 13, { prunedTo: 20 });
    expect(ok.body).toMatchObject({ status: "accepted", stored: 13, holds: { seq: 30 } });
  });

  it("refuses a prune cut at or past the host's head, which would excuse every later hole", async () => {
    const host = await enrolled();
    host.grow(5);
    // a prune's record comes after its cut: a cut at or past the head was never a prune
    const claimed = await host.push(t.hub.url, t.cert.certPem, 0, 5, { prunedTo: 1_000_000 });
    expect(claimed).toMatchObject({ status: 400, body: { message: "malformed push: prunedTo must be below the host's head (a prune's record follows its cut)" } });
    expect(await count("SELECT count(*) AS n FROM hub_records")).toBe(0);
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 5, { prunedTo: 5 })).status).toBe(400);
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 5)).status).toBe(200);
    host.grow(5);
    host.lines.splice(6, 2); // records 7 and 8 never sent
    expect((await host.push(t.hub.url, t.cert.certPem, 5, 8)).body).toMatchObject({ reason: "gap", seq: 7 });
  });
});

describe("after a chain in doubt", () => {
  it("takes the host's history anew once an administrator accepts it, keeping what it held", async () => {
    const host = await enrolled();
    host.grow(20);
    await host.push(t.hub.url, t.cert.certPem, 0, 20);
    host.lines = host.lines.slice(0, 12);
    host.grow(3, "after the restore");
    expect((await host.push(t.hub.url, t.cert.certPem, 10, 15)).body).toMatchObject({ reason: "rollback" });
    expect(await acceptHostHistory(t.hub.pool, "web-01", "restored from backup on purpose: CHG-81", "admin")).toMatchObject({ epoch: 1 });
    expect(await acceptHostHistory(t.hub.pool, "web-01", "again", "admin")).toMatchObject({ problem: expect.stringContaining("not in doubt") });
    const gap = await host.push(t.hub.url, t.cert.certPem, 10, 15);
    expect(gap.body).toMatchObject({ reason: "gap", holds: { seq: 0 } });
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 15)).body).toMatchObject({ stored: 15, holds: { seq: 15 } });
    expect(await count("SELECT count(*) AS n FROM hub_records WHERE epoch = 0")).toBe(20);
    expect(await count("SELECT count(*) AS n FROM hub_records WHERE epoch = 1")).toBe(15);
    expect((await listHosts(t.hub.pool))[0]).toMatchObject({ chainStatus: "ok", openIncidents: [] });
    const all = await listIncidents(t.hub.pool, { all: true });
    expect(all).toMatchObject([{ kind: "rollback", resolvedBy: "admin: history accepted (restored from backup on purpose: CHG-81)" }]);
    expect(await count("SELECT count(*) AS n FROM hub_audit WHERE action = 'host.accept-history'")).toBe(1);
  });

  it("resolves one incident with a reason, the host's chain status back to ok when none is left", async () => {
    const host = await enrolled();
    host.grow(6);
    await host.push(t.hub.url, t.cert.certPem, 0, 6);
    const r = await host.push(t.hub.url, t.cert.certPem, 0, 3, { head: 3 });
    expect(r.body).toMatchObject({ reason: "rollback" });
    const [incident] = await listIncidents(t.hub.pool);
    expect(await resolveIncident(t.hub.pool, incident!.id, "a test push by hand", "admin")).toEqual({ id: incident!.id });
    expect(await resolveIncident(t.hub.pool, incident!.id, "twice", "admin")).toMatchObject({ problem: `no open incident ${incident!.id}` });
    expect((await listHosts(t.hub.pool))[0]!.chainStatus).toBe("ok");
  });
});

describe("an incident resolved while its host pushes", () => {
  it("takes the host's row before the incident's, as a push does: no deadlock", async () => {
    const host = await enrolled();
    host.grow(5);
    await host.push(t.hub.url, t.cert.certPem, 0, 5);
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 3, { head: 3 })).body).toMatchObject({ reason: "rollback" });
    const [incident] = await listIncidents(t.hub.pool);
    // a push of the host under way: its row locked, as push.ts locks it
    const pushing = await t.hub.pool.connect();
    try {
      await pushing.query("BEGIN");
      await pushing.query("SELECT 1 FROM hub_hosts WHERE id = $1 FOR UPDATE", [host.id]);
      const resolving = resolveIncident(t.hub.pool, incident!.id, "a test", "admin");
      // wait until the resolution waits for a lock, then the push sees the incident again
      for (let i = 0; i < 100; i++) {
        const waiting = await count("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
        if (waiting > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await pushing.query("UPDATE hub_incidents SET seen = seen + 1 WHERE host_id = $1 AND kind = 'rollback' AND resolved_at IS NULL", [host.id]);
      await pushing.query("COMMIT");
      expect(await resolving).toEqual({ id: incident!.id });
    } finally {
      await pushing.query("ROLLBACK").catch(() => undefined);
      pushing.release();
    }
  });
});

describe("a host's signing key rotated", () => {
  it("takes the new key from the rotation record in the push, signed by the old key and the new, and only so", async () => {
    const host = await enrolled();
    host.grow(3);
    await host.push(t.hub.url, t.cert.certPem, 0, 3);
    const next = generateKeyPairSync("ed25519");
    const old = { privateKey: host.privateKey, publicKey: host.publicKey, fingerprint: fingerprintOf(host.publicKey) };
    const body = signedRotation(old, { ...next, fingerprint: fingerprintOf(next.publicKey) }, { at: new Date().toISOString(), reason: "yearly", by: "alice", user: "root", loginUid: 0 });
    host.lines.push(JSON.stringify({ seq: 4, kind: "rotation", run: 0, time: body.at, body, mac: "ab".repeat(32) }));
    host.grow(2);
    // signed with a key no rotation hands over to: refused
    const stranger = generateKeyPairSync("ed25519");
    const { bytes } = host.signed(host.pushBody(3, 6));
    const refused = await post(t.hub.url, "/v1/push", bytes, { "covenant-host": host.id, "covenant-signature": signBody(bytes, stranger.privateKey) }, t.cert.certPem);
    expect(refused.status).toBe(401);
    // signed with the new key, without naming it: refused before the body is read
    const unnamed = await post(t.hub.url, "/v1/push", bytes, { "covenant-host": host.id, "covenant-signature": signBody(bytes, next.privateKey) }, t.cert.certPem);
    expect(unnamed.status).toBe(401);
    // naming a key that is not the one that signed: refused
    const misnamed = await post(t.hub.url, "/v1/push", bytes, { "covenant-host": host.id, "covenant-signature": signBody(bytes, next.privateKey), "covenant-key": rawPublicKey(stranger.publicKey).toString("base64") }, t.cert.certPem);
    expect(misnamed.status).toBe(401);
    const r = await post(t.hub.url, "/v1/push", bytes, { "covenant-host": host.id, "covenant-signature": signBody(bytes, next.privateKey), "covenant-key": rawPublicKey(next.publicKey).toString("base64") }, t.cert.certPem);
    expect(r.body).toMatchObject({ status: "accepted", stored: 3 });
    expect((await listHosts(t.hub.pool))[0]!.fingerprint).toBe(fingerprintOf(next.publicKey));
    expect(await count("SELECT count(*) AS n FROM hub_audit WHERE action = 'host.key-rotated'")).toBe(1);
    // the old key no longer pushes
    host.grow(1);
    const after = await host.push(t.hub.url, t.cert.certPem, 6, 7);
    expect(after.status).toBe(401);
  });

  it("takes the new key from a rotation record in a push still signed with the old key (read as the key was rotated)", async () => {
    const host = await enrolled();
    const next = generateKeyPairSync("ed25519");
    const old = { privateKey: host.privateKey, publicKey: host.publicKey, fingerprint: fingerprintOf(host.publicKey) };
    const body = signedRotation(old, { ...next, fingerprint: fingerprintOf(next.publicKey) }, { at: new Date().toISOString(), reason: "yearly", by: "alice", user: "root", loginUid: 0 });
    host.grow(2);
    host.lines.push(JSON.stringify({ seq: 3, kind: "rotation", run: 0, time: body.at, body, mac: "ab".repeat(32) }));
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 3)).body).toMatchObject({ status: "accepted", stored: 3 });
    expect((await listHosts(t.hub.pool))[0]!.fingerprint).toBe(fingerprintOf(next.publicKey));
    // the record is stored: no later push carries it, and the host now signs with the new key
    host.grow(1);
    const { bytes } = host.signed(host.pushBody(3, 4));
    const r = await post(t.hub.url, "/v1/push", bytes, { "covenant-host": host.id, "covenant-signature": signBody(bytes, next.privateKey) }, t.cert.certPem);
    expect(r.body).toMatchObject({ status: "accepted", stored: 1 });
    // sent again, the stored rotation changes nothing
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 3)).status).toBe(401);
    expect(await count("SELECT count(*) AS n FROM hub_audit WHERE action = 'host.key-rotated'")).toBe(1);
  });

  it("refuses a rotation record whose old key's signature does not hold", async () => {
    const host = await enrolled();
    const next = generateKeyPairSync("ed25519");
    const old = { privateKey: host.privateKey, publicKey: host.publicKey, fingerprint: fingerprintOf(host.publicKey) };
    const body = signedRotation(old, { ...next, fingerprint: fingerprintOf(next.publicKey) }, { at: new Date().toISOString(), reason: "x", by: "mallory", user: "root", loginUid: 0 });
    body.signatures.old = body.signatures.new;
    host.lines = [JSON.stringify({ seq: 1, kind: "rotation", run: 0, time: body.at, body, mac: "ab".repeat(32) })];
    const { bytes } = host.signed(host.pushBody(0, 1));
    const r = await post(t.hub.url, "/v1/push", bytes, { "covenant-host": host.id, "covenant-signature": signBody(bytes, next.privateKey), "covenant-key": rawPublicKey(next.publicKey).toString("base64") }, t.cert.certPem);
    expect(r.status).toBe(401);
  });

  it("takes pushes signed by the new key before the rotation's record when they carry it ahead, and the key only with the record itself", async () => {
    const host = await enrolled();
    host.grow(3);
    const next = generateKeyPairSync("ed25519");
    const old = { privateKey: host.privateKey, publicKey: host.publicKey, fingerprint: fingerprintOf(host.publicKey) };
    const body = signedRotation(old, { ...next, fingerprint: fingerprintOf(next.publicKey) }, { at: new Date().toISOString(), reason: "yearly", by: "alice", user: "root", loginUid: 0 });
    const rotation = JSON.stringify({ seq: 4, kind: "rotation", run: 0, time: body.at, body, mac: "ab".repeat(32) });
    host.lines.push(rotation);
    host.grow(1);
    const withNewKey = (b: ReturnType<SyntheticHost["pushBody"]>) => {
      const bytes = encodeBody(b);
      return post(t.hub.url, "/v1/push", bytes, { "covenant-host": host.id, "covenant-signature": signBody(bytes, next.privateKey), "covenant-key": rawPublicKey(next.publicKey).toString("base64") }, t.cert.certPem);
    };
    // records 1-2, signed with the new key: refused without the rotation ahead, taken with it
    expect((await withNewKey(host.pushBody(0, 2))).status).toBe(401);
    expect((await withNewKey({ ...host.pushBody(0, 2), rotations: [rotation] })).body).toMatchObject({ status: "accepted", stored: 2 });
    expect((await listHosts(t.hub.pool))[0]!.fingerprint).toBe(old.fingerprint);
    // a rotation "ahead" that is among the records the hub holds already vouches for nothing
    const back = host.pushBody(2, 3);
    expect((await withNewKey({ ...back, rotations: [rotation.replace('"seq":4', '"seq":2')] })).status).toBe(401);
    expect((await withNewKey({ ...back, rotations: [rotation] })).body).toMatchObject({ status: "accepted", stored: 1 });
    expect((await withNewKey(host.pushBody(3, 5))).body).toMatchObject({ status: "accepted", stored: 2 });
    expect((await listHosts(t.hub.pool))[0]!.fingerprint).toBe(fingerprintOf(next.publicKey));
  });

  it("reads nothing of a body that neither the host's key nor the key it names signed (rotation records in it or not)", async () => {
    const host = await enrolled();
    const next = generateKeyPairSync("ed25519");
    const old = { privateKey: host.privateKey, publicKey: host.publicKey, fingerprint: fingerprintOf(host.publicKey) };
    const body = signedRotation(old, { ...next, fingerprint: fingerprintOf(next.publicKey) }, { at: new Date().toISOString(), reason: "x", by: "mallory", user: "root", loginUid: 0 });
    host.lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ seq: i + 1, kind: "rotation", run: 0, time: body.at, body, mac: "ab".repeat(32) }));
    const bytes = encodeBody(host.pushBody(0, 50));
    const parse = vi.spyOn(JSON, "parse");
    try {
      for (const named of [undefined, rawPublicKey(next.publicKey).toString("base64"), "AAAA"]) {
        const r = await takePush(t.hub.pool, bytes, host.id, signBody(bytes, generateKeyPairSync("ed25519").privateKey), { clockToleranceMs: 60_000 }, named);
        expect(r.status).toBe(401);
      }
      expect(parse.mock.calls.filter(([text]) => typeof text === "string" && text.length > 1000)).toEqual([]);
    } finally {
      parse.mockRestore();
    }
  });
});

describe("refusals that store nothing", () => {
  it("refuses a revoked host, an unknown one, an unsigned push and a bad signature", async () => {
    const host = await enrolled();
    host.grow(3);
    const { bytes, headers } = host.signed(host.pushBody(0, 3));
    expect((await post(t.hub.url, "/v1/push", bytes, { "covenant-host": headers["covenant-host"]! }, t.cert.certPem)).status).toBe(401);
    const stranger = new SyntheticHost();
    expect((await post(t.hub.url, "/v1/push", bytes, { ...headers, "covenant-signature": signBody(bytes, stranger.privateKey) }, t.cert.certPem)).status).toBe(401);
    expect((await post(t.hub.url, "/v1/push", bytes, { ...headers, "covenant-host": "00000000-0000-4000-8000-000000000000" }, t.cert.certPem)).status).toBe(401);
    expect(await revokeHost(t.hub.pool, "web-01", "decommissioned", "admin")).toMatchObject({ name: "web-01" });
    const r = await post(t.hub.url, "/v1/push", bytes, headers, t.cert.certPem);
    expect(r.status).toBe(403);
    expect(await count("SELECT count(*) AS n FROM hub_records")).toBe(0);
  });

  it("refuses an unknown or revoked host before reading its body (nothing buffered or hashed for nobody)", async () => {
    const host = await enrolled();
    // a body announced as 8 MiB of which 1 KiB is sent: the answer comes without the rest
    const answerWithoutBody = (path: string, hostId: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(new URL(path, t.hub.url), { method: "POST", ca: t.cert.certPem, headers: { "content-type": "application/json", "content-length": String(MAX_PUSH_BYTES), "covenant-host": hostId, "covenant-signature": "ed25519=" + "A".repeat(86) + "==" } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        });
        req.on("error", (err) => (req.destroyed ? undefined : reject(err)));
        req.write(Buffer.alloc(1024, 0x20));
        setTimeout(() => reject(new Error("the hub waited for the body")), 5000).unref();
      });
    expect(await answerWithoutBody("/v1/push", "00000000-0000-4000-8000-000000000000")).toBe(401);
    expect(await answerWithoutBody("/v1/policy", "00000000-0000-4000-8000-000000000000")).toBe(401);
    expect(await answerWithoutBody("/v1/push", "not-a-host")).toBe(401);
    await revokeHost(t.hub.pool, "web-01", "decommissioned", "admin");
    expect(await answerWithoutBody("/v1/push", host.id)).toBe(403);
    expect(await answerWithoutBody("/v1/policy", host.id)).toBe(403);
  });

  it("refuses malformed pushes, a chain that does not add up, and oversized bodies", async () => {
    const host = await enrolled();
    host.grow(3);
    const sendRaw = (bytes: Buffer, contentType = "application/json") => post(t.hub.url, "/v1/push", bytes, { "content-type": contentType, "covenant-host": host.id, "covenant-signature": signBody(bytes, host.privateKey) }, t.cert.certPem);
    expect((await sendRaw(Buffer.from("{not json"))).status).toBe(400);
    const body = host.pushBody(0, 3);
    expect((await sendRaw(encodeBody({ ...body, chain: "0".repeat(64) }))).body["message"]).toContain("the chain value it names is not the one its records make");
    expect((await sendRaw(encodeBody({ ...body, records: [body.records[1]!, body.records[0]!], chain: body.chain }))).status).toBe(400);
    expect((await sendRaw(encodeBody({ ...body, records: ["{\"seq\":1}"] }))).body["message"]).toContain("record 0 has no run number");
    expect((await sendRaw(encodeBody(body), "text/plain")).status).toBe(415);
    const huge = Buffer.alloc(MAX_PUSH_BYTES + 1, 0x20);
    expect((await sendRaw(huge)).status).toBe(413);
    expect(await count("SELECT count(*) AS n FROM hub_records")).toBe(0);
  });
});

describe("clocks", () => {
  it("flags a host whose clock is off the hub's, and closes it when it is back", async () => {
    const host = await enrolled();
    host.grow(4);
    const r = await host.push(t.hub.url, t.cert.certPem, 0, 2, { sentAt: new Date(Date.now() + 7200_000) });
    expect(r.status).toBe(200);
    expect(Number(r.body["clockSkewMs"])).toBeGreaterThan(7100_000);
    const open = (await t.hub.pool.query<{ message: string }>("SELECT message FROM hub_incidents WHERE kind = 'clock' AND resolved_at IS NULL")).rows;
    expect(open[0]!.message).toMatch(/2\.0 h ahead of the hub's/);
    await host.push(t.hub.url, t.cert.certPem, 2, 4);
    expect(await count("SELECT count(*) AS n FROM hub_incidents WHERE resolved_at IS NULL")).toBe(0);
    const closed = (await t.hub.pool.query<{ resolved_by: string }>("SELECT resolved_by FROM hub_incidents WHERE kind = 'clock'")).rows;
    expect(closed).toEqual([{ resolved_by: "hub: the clock is back within the tolerance" }]);
  });
});
