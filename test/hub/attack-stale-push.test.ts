// A stale push crafted by the holder of a host's key (real HTTPS, real PostgreSQL): a push that
// carries records past the head it claims, signed "before" the last push the hub took, is refused
// as malformed, never answered as stale (which would drop records the hub never took behind an
// `accepted`); a crafted stale push moves nothing of what the hub holds (position, clock, last push).
import { describe, expect, it } from "vitest";
import { listIncidents, makeEnrollToken } from "../../src/hub/admin.js";
import { hubPerTest } from "./helpers/config.js";
import { SyntheticHost } from "./helpers/synthetic-host.js";

const t = hubPerTest();

async function enrolled(name: string): Promise<SyntheticHost> {
  const host = new SyntheticHost(name);
  const { token } = await makeEnrollToken(t.hub.pool, { validForMs: 3600_000, actor: "test" });
  expect((await host.enroll(t.hub.url, t.cert.certPem, token)).status).toBe(201);
  return host;
}

async function position(host: SyntheticHost): Promise<Record<string, unknown>> {
  const row = (await t.hub.pool.query("SELECT last_seq, last_chain, head_seq, records, last_push_at, last_sent_at, clock_skew_ms FROM hub_hosts WHERE id = $1", [host.id])).rows[0] as Record<string, unknown>;
  const stored = Number((await t.hub.pool.query<{ n: string }>("SELECT count(*) AS n FROM hub_records WHERE host_id = $1", [host.id])).rows[0]!.n);
  return { ...row, stored };
}

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

describe("a crafted stale push", () => {
  it("carrying records past the head it claims is refused as malformed, not an old copy whose new records are dropped", async () => {
    const host = await enrolled("ledger-db-07");
    host.grow(20);
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 20, { sentAt: minutesAgo(1) })).body).toMatchObject({ status: "accepted", stored: 20 });
    host.grow(5);
    const before = await position(host);
    // records 1 to 25, the head claimed 12, signed before the push the hub took
    const r = await host.push(t.hub.url, t.cert.certPem, 0, 25, { head: 12, sentAt: minutesAgo(5) });
    expect(r.body).not.toHaveProperty("stale");
    expect(r).toMatchObject({ status: 400, body: { status: "error", message: "malformed push: the host's head is below its last record" } });
    expect(await position(host)).toEqual(before);
    // the same records with their true head are taken
    expect((await host.push(t.hub.url, t.cert.certPem, 20, 25)).body).toMatchObject({ status: "accepted", stored: 5, holds: { seq: 25 } });
  });

  it("signed long before moves nothing the hub holds of the host: position, clock, last push", async () => {
    const host = await enrolled("ledger-db-08");
    host.grow(20);
    await host.push(t.hub.url, t.cert.certPem, 0, 20, { sentAt: minutesAgo(1) });
    const before = await position(host);
    const r = await host.push(t.hub.url, t.cert.certPem, 5, 12, { head: 12, sentAt: new Date("2001-01-01T00:00:00Z") });
    expect(r.body).toMatchObject({ status: "accepted", stale: true, stored: 0, holds: { seq: 20 } });
    expect(await position(host)).toEqual(before);
    expect(await listIncidents(t.hub.pool)).toEqual([]);
  });
});
