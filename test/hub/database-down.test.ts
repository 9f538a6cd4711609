// The hub when PostgreSQL goes away: pushes answered 503 with Retry-After (the host keeps its
// records and sends later), the hub process still up, and everything taken in order once the
// database is back, nothing lost and nothing twice.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeEnrollToken } from "../../src/hub/admin.js";
import { startHub, type RunningHub } from "../../src/hub/serve.js";
import { testHubConfig } from "./helpers/config.js";
import { testCertificate, type TestCert } from "./helpers/certs.js";
import { ownPostgres, type OwnPostgres } from "./helpers/own-postgres.js";
import { SyntheticHost } from "./helpers/synthetic-host.js";

let pg: OwnPostgres;
let cert: TestCert;
let hub: RunningHub;
const logged: string[] = [];

beforeAll(async () => {
  pg = await ownPostgres();
  cert = await testCertificate();
  hub = await startHub(testHubConfig(cert, pg.url), (l) => logged.push(l));
}, 120_000);

afterAll(async () => {
  await hub?.close().catch(() => undefined);
  pg?.remove();
});

describe("the database down", () => {
  it("answers 503 while PostgreSQL is down and takes everything, in order, once it is back", async () => {
    const host = new SyntheticHost();
    const { token } = await makeEnrollToken(hub.pool, { validForMs: 3600_000, actor: "test" });
    expect((await host.enroll(hub.url, cert.certPem, token)).status).toBe(201);
    host.grow(30);
    expect((await host.push(hub.url, cert.certPem, 0, 10)).body).toMatchObject({ stored: 10 });

    pg.stop("immediate");
    const down = await host.push(hub.url, cert.certPem, 10, 20);
    expect(down.status).toBe(503);
    expect(down.body["message"]).toBe("the hub's database is unavailable: send later");
    expect(JSON.stringify(logged)).not.toContain("password");

    pg.start();
    // the pool's connections died with the server: the first request after may still see one
    let back = await host.push(hub.url, cert.certPem, 10, 20);
    for (let i = 0; i < 5 && back.status === 503; i++) back = await host.push(hub.url, cert.certPem, 10, 20);
    expect(back.body).toMatchObject({ status: "accepted", stored: 10, holds: { seq: 20 } });
    expect((await host.push(hub.url, cert.certPem, 20, 30)).body).toMatchObject({ stored: 10, holds: { seq: 30 } });
    const seqs = (await hub.pool.query<{ seq: string }>("SELECT seq FROM hub_records ORDER BY seq")).rows.map((r) => Number(r.seq));
    expect(seqs).toEqual([...Array(30).keys()].map((i) => i + 1));
  });
});
