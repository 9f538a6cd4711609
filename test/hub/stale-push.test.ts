// A late or replayed older push against a real hub (real HTTPS, real PostgreSQL): the exact signed
// bytes of a push the hub took, sent again after newer pushes, are an older copy (stale), answered
// as a duplicate with where the hub is, opening nothing and changing nothing; a store really rolled
// back, pushing with its clock right, is still a rollback; a host that sets its clock back to look
// stale gains only silence; and a host whose clock ran ahead and was corrected loses nothing.
import { describe, expect, it } from "vitest";
import { listHosts, listIncidents, makeEnrollToken } from "../../src/hub/admin.js";
import { hubPerTest } from "./helpers/config.js";
import { post, SyntheticHost } from "./helpers/synthetic-host.js";

const t = hubPerTest();

async function enrolled(name = "ledger-db-01"): Promise<SyntheticHost> {
  const host = new SyntheticHost(name);
  const { token } = await makeEnrollToken(t.hub.pool, { validForMs: 3600_000, actor: "test" });
  expect((await host.enroll(t.hub.url, t.cert.certPem, token)).status).toBe(201);
  return host;
}

/** Everything the hub keeps of a host that a push may change, and how many records and incidents it holds. */
async function hubState(host: SyntheticHost): Promise<Record<string, unknown>> {
  const row = (await t.hub.pool.query("SELECT last_seq, last_chain, head_seq, records, last_push_at, last_sent_at, clock_skew_ms, chain_status FROM hub_hosts WHERE id = $1", [host.id])).rows[0] as Record<string, unknown>;
  const n = async (sql: string) => Number((await t.hub.pool.query<{ n: string }>(sql, [host.id])).rows[0]!.n);
  return { ...row, stored: await n("SELECT count(*) AS n FROM hub_records WHERE host_id = $1"), incidents: await n("SELECT count(*) AS n FROM hub_incidents WHERE host_id = $1") };
}

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

describe("an older push arriving after newer ones", () => {
  it("answers the same signed bytes, sent again late, as stale: no incident, nothing stored or changed, where the hub is", async () => {
    const host = await enrolled();
    host.grow(10);
    // the push a retry or an eavesdropper keeps: its exact bytes and signature
    const first = host.signed(host.pushBody(0, 10, { sentAt: minutesAgo(1.5) }));
    expect((await post(t.hub.url, "/v1/push", first.bytes, first.headers, t.cert.certPem)).body).toMatchObject({ status: "accepted", stored: 10 });
    host.grow(10);
    expect((await host.push(t.hub.url, t.cert.certPem, 10, 20, { sentAt: minutesAgo(1) })).body).toMatchObject({ status: "accepted", stored: 10, holds: { seq: 20 } });
    const before = await hubState(host);
    for (let i = 0; i < 2; i++) {
      const late = await post(t.hub.url, "/v1/push", first.bytes, first.headers, t.cert.certPem);
      expect(late).toMatchObject({ status: 200, body: { status: "accepted", stale: true, stored: 0, holds: { seq: 20, chain: host.chainAfter(20).toString("hex") } } });
      expect(late.body["decisions"]).toBeUndefined();
    }
    expect(await hubState(host)).toEqual(before);
    expect(before).toMatchObject({ last_seq: "20", stored: 20, incidents: 0, chain_status: "ok" });
    // a copy re-sending only part of what the hub holds, signed before the last push, is stale too
    expect((await host.push(t.hub.url, t.cert.certPem, 4, 7, { head: 12, sentAt: minutesAgo(1.25) })).body).toMatchObject({ status: "accepted", stale: true });
    expect(await listIncidents(t.hub.pool)).toEqual([]);
    // and the host carries on from where the hub is
    host.grow(2);
    expect((await host.push(t.hub.url, t.cert.certPem, 20, 22)).body).toMatchObject({ status: "accepted", stored: 2, holds: { seq: 22 } });
    expect((await host.push(t.hub.url, t.cert.certPem, 20, 22)).body).not.toHaveProperty("stale");
  });

  it("keeps a silent host silent: its last push replayed later (nothing new in it) moves neither its last push nor its clock", async () => {
    const host = await enrolled();
    host.grow(10);
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 10, { sentAt: minutesAgo(2) })).body).toMatchObject({ status: "accepted", stored: 10 });
    // the host's last push, a heartbeat that brings nothing new: what an eavesdropper keeps
    const heartbeat = host.signed(host.pushBody(10, 10, { sentAt: minutesAgo(1) }));
    expect((await post(t.hub.url, "/v1/push", heartbeat.bytes, heartbeat.headers, t.cert.certPem)).body).toMatchObject({ status: "accepted", stored: 0 });
    const before = await hubState(host);
    // the host goes silent; the heartbeat is sent again, later, as if it were the host
    for (let i = 0; i < 2; i++) {
      const replay = await post(t.hub.url, "/v1/push", heartbeat.bytes, heartbeat.headers, t.cert.certPem);
      expect(replay.body).toMatchObject({ status: "accepted", stale: true, stored: 0, holds: { seq: 10 } });
    }
    expect(await hubState(host)).toEqual(before);
    // the host itself, speaking now, is heard
    expect((await host.push(t.hub.url, t.cert.certPem, 10, 10)).body).not.toHaveProperty("stale");
    expect(Date.parse(String((await hubState(host))["last_sent_at"]))).toBeGreaterThan(Date.parse(String(before["last_sent_at"])));
  });

  it("still reports a store rolled back that pushes with its clock right, saying when each push was sent", async () => {
    const host = await enrolled();
    host.grow(20);
    await host.push(t.hub.url, t.cert.certPem, 0, 20, { sentAt: minutesAgo(1) });
    // the store restored from a copy taken at record 12: the same records, fewer of them, sent now
    host.lines = host.lines.slice(0, 12);
    const r = await host.push(t.hub.url, t.cert.certPem, 10, 12);
    expect(r).toMatchObject({ status: 409, body: { status: "refused", reason: "rollback", holds: { seq: 20 } } });
    expect((await listHosts(t.hub.pool))[0]).toMatchObject({ chainStatus: "rollback", openIncidents: ["rollback"] });
    const detail = (await t.hub.pool.query<{ detail: Record<string, unknown> }>("SELECT detail FROM hub_incidents WHERE host_id = $1", [host.id])).rows[0]!.detail;
    expect(detail).toMatchObject({ hostHead: 12, hubHolds: 20, agrees: true });
    expect(Date.parse(String(detail["sentAt"]))).toBeGreaterThan(Date.parse(String(detail["lastSentAt"])));
  });

  it("gives a rolled-back host that sets its clock back only silence: its own next record, or its clock put right, is reported", async () => {
    const host = await enrolled();
    host.grow(20);
    await host.push(t.hub.url, t.cert.certPem, 0, 20, { sentAt: minutesAgo(1) });
    host.lines = host.lines.slice(0, 12);
    // signed with a time before the push the hub took: as an old copy would be; nothing opened, nothing changed
    const before = await hubState(host);
    expect((await host.push(t.hub.url, t.cert.certPem, 10, 12, { sentAt: minutesAgo(5) })).body).toMatchObject({ status: "accepted", stale: true, holds: { seq: 20 } });
    expect(await hubState(host)).toEqual(before);
    // the rolled-back store writes on: its record 13 is not the one the hub holds, whatever the time
    host.grow(3, "written after the restore");
    expect((await host.push(t.hub.url, t.cert.certPem, 10, 15, { sentAt: minutesAgo(5) })).body).toMatchObject({ reason: "rollback" });
    expect(await listIncidents(t.hub.pool)).toMatchObject([{ kind: "rollback", seq: 15 }]);
    // nor is a push at a later time anything else (the incident seen again)
    host.lines = host.lines.slice(0, 12);
    expect((await host.push(t.hub.url, t.cert.certPem, 10, 12)).body).toMatchObject({ reason: "rollback" });
    expect(await listIncidents(t.hub.pool)).toMatchObject([{ kind: "rollback", seen: 2 }]);
  });
});

describe("a host whose clock ran ahead and was put right", () => {
  it("loses nothing and is not stopped: its pushes with the earlier time are taken, and copies from before are stale", async () => {
    const host = await enrolled();
    host.grow(10);
    const ahead = new Date(Date.now() + 86_400_000);
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 10, { sentAt: ahead })).body).toMatchObject({ status: "accepted", stored: 10 });
    expect(await listIncidents(t.hub.pool)).toMatchObject([{ kind: "clock" }]);
    // the clock put right: sentAt goes back, the records are new, and they are taken
    host.grow(5);
    const corrected = host.signed(host.pushBody(10, 15, { sentAt: minutesAgo(1) }));
    expect((await post(t.hub.url, "/v1/push", corrected.bytes, corrected.headers, t.cert.certPem)).body).toMatchObject({ status: "accepted", stored: 5, holds: { seq: 15 } });
    expect(await listIncidents(t.hub.pool)).toEqual([]);
    host.grow(5);
    expect((await host.push(t.hub.url, t.cert.certPem, 15, 20)).body).toMatchObject({ stored: 5, holds: { seq: 20 } });
    // a copy of a push from after the correction, arriving late: stale
    expect((await post(t.hub.url, "/v1/push", corrected.bytes, corrected.headers, t.cert.certPem)).body).toMatchObject({ stale: true, holds: { seq: 20 } });
    expect(await hubState(host)).toMatchObject({ stored: 20, incidents: 1, chain_status: "ok" });
  });
});
