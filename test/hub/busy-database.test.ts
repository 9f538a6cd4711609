// The hub when PostgreSQL is there but cannot take a request now: every pooled connection busy
// past the pool's wait, or a statement cancelled by statement_timeout behind a lock. Both are
// "send later" (503 with Retry-After), as for a database that is down, not a 500 whose log
// calls it an internal error.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hubSigningKey } from "../../src/hub/signing.js";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../src/hub/db/migrations.js";
import { buildHubApp } from "../../src/hub/server/app.js";
import { testCertificate, type TestCert } from "./helpers/certs.js";
import { freshDatabase, type TestDatabase } from "./helpers/pg.js";

let cert: TestCert;
let db: TestDatabase;

beforeAll(async () => {
  cert = await testCertificate();
  db = await freshDatabase();
  const setup = new pg.Pool({ connectionString: db.url, max: 1 });
  const c = await setup.connect();
  await migrate(c);
  c.release();
  await setup.end();
});

afterAll(async () => {
  await db?.drop();
});

function appOn(pool: pg.Pool, logged: string[]) {
  return buildHubApp({ pool, https: { cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, clockToleranceMs: 120_000, key: hubSigningKey(join(cert.dir, "hub-signing.key")), approvalRequired: true, log: (l) => logged.push(l) });
}

describe("a busy database", () => {
  it("answers 503 when no pooled connection frees up within the pool's wait", async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 1, connectionTimeoutMillis: 200 });
    const logged: string[] = [];
    const app = appOn(pool, logged);
    const held = await pool.connect();
    try {
      const r = await app.inject({ method: "GET", url: "/v1/health" });
      expect(r.statusCode).toBe(503);
      expect(r.headers["retry-after"]).toBe("30");
      expect(logged.some((l) => l.includes("internal error"))).toBe(false);
    } finally {
      held.release();
      await app.close();
      await pool.end();
    }
  });

  it("answers 503 when a push's statement is cancelled by the statement timeout", async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 2, statement_timeout: 200 });
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    const app = appOn(pool, []);
    try {
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE hub_hosts IN ACCESS EXCLUSIVE MODE");
      const r = await app.inject({
        method: "POST",
        url: "/v1/push",
        headers: { "content-type": "application/json", "covenant-host": "00000000-0000-4000-8000-000000000001", "covenant-signature": "ed25519=x" },
        payload: "{}",
      });
      expect(r.statusCode).toBe(503);
      expect(JSON.parse(r.body)).toMatchObject({ status: "error", message: "the hub's database is unavailable: send later" });
    } finally {
      await locker.query("ROLLBACK").catch(() => undefined);
      await locker.end();
      await app.close();
      await pool.end();
    }
  });
});
