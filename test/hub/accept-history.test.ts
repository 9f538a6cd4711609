// Accepting a host's history anew (admin.ts acceptHostHistory) forgets everything the hub derived
// from the earlier epoch's records, in every derived table alike: the host sends its whole
// history again and the push derives it all anew. A table left out would keep the earlier
// epoch's state (an open deficiency would take the new epoch's first change of its promise).
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { acceptHostHistory, makeEnrollToken } from "../../src/hub/admin.js";
import { startHub, type RunningHub } from "../../src/hub/serve.js";
import { freshDatabase, type TestDatabase } from "./helpers/pg.js";
import { testHubConfig } from "./helpers/config.js";
import { testCertificate, type TestCert } from "./helpers/certs.js";
import { SyntheticHost } from "./helpers/synthetic-host.js";

/** Every table the hub derives per host from its records (hub.md, "What the hub derives"; migrations 7 and 8). */
const DERIVED = ["hub_promise_state", "hub_changes", "hub_integrity_events", "hub_deficiencies"];

let cert: TestCert;
let db: TestDatabase;
let hub: RunningHub;

beforeAll(async () => {
  cert = await testCertificate();
});

beforeEach(async () => {
  db = await freshDatabase();
  hub = await startHub(testHubConfig(cert, db.url), () => undefined);
});

afterEach(async () => {
  await hub.close();
  await db.drop();
});

describe("accepting a host's history anew", () => {
  it("empties every table derived from the earlier epoch's records, for that host only", async () => {
    const hosts: { host: SyntheticHost; id: string }[] = [];
    for (const name of ["web-01", "web-02"]) {
      const host = new SyntheticHost(name);
      const { token } = await makeEnrollToken(hub.pool, { validForMs: 3600_000, actor: "test" });
      expect((await host.enroll(hub.url, cert.certPem, token)).status).toBe(201);
      host.grow(6);
      expect((await host.push(hub.url, cert.certPem, 0, 6)).status).toBe(200);
      const id = (await hub.pool.query<{ id: string }>("SELECT id FROM hub_hosts WHERE name = $1", [name])).rows[0]!.id;
      hosts.push({ host, id });
      // what the hub would have derived from change and approval records
      await hub.pool.query("INSERT INTO hub_promise_state (host_id, key, control, type, promiser, outcome, since, seq, reason) VALUES ($1, 'C-1/file/x', 'C-1', 'file', '/x', 'drift', '2026-01-01T00:00:00Z', 5, 'changed')", [id]);
      await hub.pool.query("INSERT INTO hub_changes (host_id, seq, key, control, from_outcome, to_outcome, host_time, received_at) VALUES ($1, 5, 'C-1/file/x', 'C-1', NULL, 'drift', '2026-01-01T00:00:00Z', now())", [id]);
      await hub.pool.query("INSERT INTO hub_integrity_events (host_id, seq, kind, control, host_time, received_at) VALUES ($1, 5, 'unapproved', 'C-1', '2026-01-01T00:00:00Z', now())", [id]);
      await hub.pool.query("INSERT INTO hub_deficiencies (host_id, id, key, control, type, promiser, outcome, opened_seq, opened_at) VALUES ($1, 'd-old', 'C-1/file/x', 'C-1', 'file', '/x', 'drift', 5, '2026-01-01T00:00:00Z')", [id]);
    }
    const [doubted, other] = hosts as [(typeof hosts)[number], (typeof hosts)[number]];
    expect((await doubted.host.push(hub.url, cert.certPem, 0, 3, { head: 3 })).body).toMatchObject({ reason: "rollback" });
    await hub.pool.query("INSERT INTO hub_overview_state (computed_at, took_ms) VALUES (now(), 1) ON CONFLICT (one) DO UPDATE SET computed_at = now()");
    expect(await acceptHostHistory(hub.pool, "web-01", "restored from backup on purpose", "admin")).toMatchObject({ epoch: 1 });
    // the overview counted the states just removed: it counts again at its next read
    expect((await hub.pool.query("SELECT 1 FROM hub_overview_state")).rowCount).toBe(0);
    for (const table of DERIVED) {
      const n = async (id: string) => Number((await hub.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE host_id = $1`, [id])).rows[0]!.n);
      expect(await n(doubted.id), `${table} of the accepted host`).toBe(0);
      expect(await n(other.id), `${table} of another host`).toBe(1);
    }
  });
});
