// Several hub processes started at once against one new database (docs/hub.md: stateless, any
// number behind a load balancer): every one starts, the migrations are applied once, and the
// month partitions are made once, whoever wins each race.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../src/hub/db/migrations.js";
import { monthStart, partitionName } from "../../src/hub/db/partitions.js";
import { startHub, type RunningHub } from "../../src/hub/serve.js";
import { testHubConfig } from "./helpers/config.js";
import { testCertificate, type TestCert } from "./helpers/certs.js";
import { freshDatabase, type TestDatabase } from "./helpers/pg.js";

let cert: TestCert;
let db: TestDatabase;

beforeAll(async () => {
  cert = await testCertificate();
  db = await freshDatabase();
});

afterAll(async () => {
  await db?.drop();
});

describe("hub processes starting at once", () => {
  it("all start; the schema and this month's partitions are made once", async () => {
    const started = await Promise.allSettled([0, 1, 2].map(() => startHub(testHubConfig(cert, db.url), () => undefined)));
    const hubs = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    try {
      expect(started.filter((s) => s.status === "rejected").map((s) => String((s as PromiseRejectedResult).reason))).toEqual([]);
      expect(hubs.flatMap((h: RunningHub) => h.applied).sort((a, b) => a - b)).toEqual(MIGRATIONS.map((m) => m.version));
      const name = partitionName(monthStart(new Date()));
      const parts = await hubs[0]!.pool.query("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'hub_records'::regclass AND c.relname = $1", [name]);
      expect(parts.rowCount).toBe(1);
    } finally {
      for (const h of hubs) await h.close();
    }
  });
});
