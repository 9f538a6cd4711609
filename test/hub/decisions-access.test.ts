// Who may give which decision on the hub, beyond what the access matrix sends: a control owner
// acknowledges only their controls' deficiencies (others are not found), whoever runs a host group
// does not waive a control on its hosts (separation of duties), a decision is withdrawn only by
// its giver (or an administrator) and only before a push reply carried it, and the list shows a
// control owner only their controls' decisions. Real HTTPS, real PostgreSQL.
import type { Pool } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, makeApiToken } from "../../src/hub/auth/users.js";
import { startHub, type RunningHub } from "../../src/hub/serve.js";
import { api } from "./helpers/api-client.js";
import { testCertificate, type TestCert } from "./helpers/certs.js";
import { testHubConfig } from "./helpers/config.js";
import { fixtureDeficiencyId, insertHost, setOwner, type FixtureHost } from "./helpers/fleet-fixtures.js";
import { freshDatabase, type TestDatabase } from "./helpers/pg.js";

const PASSWORD = "correct horse battery staple";
let cert: TestCert;
let db: TestDatabase;
let hub: RunningHub;
let pool: Pool;
let payments: FixtureHost;
let web: FixtureHost;
const tokens = new Map<string, string>();

async function user(name: string, grants: { role: string; scope?: string }[]): Promise<void> {
  await createUser(pool, { name, password: PASSWORD, grants }, "test");
  tokens.set(name, (await makeApiToken(pool, name, `token of ${name}`, 3600_000, "test")).token);
}

const as = (name: string, method: string, path: string, json?: unknown) => api(hub.url, cert.certPem, { method, path, bearer: tokens.get(name)!, ...(json !== undefined ? { json } : {}) });

beforeAll(async () => {
  cert = await testCertificate();
  db = await freshDatabase();
  hub = await startHub(testHubConfig(cert, db.url, { database: { url: db.url, poolSize: 4 } }), () => undefined);
  pool = hub.pool;
  await setOwner(pool, "CTL-A", "security");
  await setOwner(pool, "CTL-B", "finance");
  payments = await insertHost(pool, "pay-01", "payments", ["CTL-A", "CTL-B"]);
  web = await insertHost(pool, "web-01", "web", ["CTL-A", "CTL-B"]);
  await user("sec-owner", [{ role: "owner", scope: "owner:security" }]);
  await user("pay-ops", [{ role: "operations", scope: "group:payments" }]);
  await user("risk", [{ role: "approver" }]);
  await user("risk-and-ops", [{ role: "approver" }, { role: "operations", scope: "group:payments" }]);
  await user("admin", [{ role: "administrator" }]);
  await user("reader", [{ role: "auditor" }]);
}, 60_000);

afterAll(async () => {
  await hub?.close();
  await db?.drop();
});

describe("decisions on the hub, by role", () => {
  it("lets a control owner acknowledge their controls' deficiencies on any host, and finds no other", async () => {
    const mine = await as("sec-owner", "POST", `/api/hosts/${web.id}/acks`, { deficiency: fixtureDeficiencyId(web.id, "CTL-A"), reason: "CHG-1" });
    expect(mine.status, mine.text).toBe(201);
    const theirs = await as("sec-owner", "POST", `/api/hosts/${web.id}/acks`, { deficiency: fixtureDeficiencyId(web.id, "CTL-B"), reason: "CHG-1" });
    expect(theirs.status).toBe(404);
    // and sees only their controls' deficiencies of a host
    const seen = await as("sec-owner", "GET", `/api/hosts/${web.id}/deficiencies`);
    expect(seen.text).toContain("CTL-A");
    expect(seen.text).not.toContain("CTL-B");
  });

  it("lets operations acknowledge on their group's hosts only (another group's host is not found), and never waive", async () => {
    expect((await as("pay-ops", "POST", `/api/hosts/${payments.id}/acks`, { deficiency: fixtureDeficiencyId(payments.id, "CTL-B"), reason: "on it" })).status).toBe(201);
    expect((await as("pay-ops", "POST", `/api/hosts/${web.id}/acks`, { deficiency: fixtureDeficiencyId(web.id, "CTL-B"), reason: "on it" })).status).toBe(404);
    expect((await as("pay-ops", "POST", "/api/controls/CTL-A/waivers", { host: payments.id, until: "2099-01-01", reason: "x" })).status).toBe(403);
    // an auditor reads, and gives nothing
    expect((await as("reader", "POST", `/api/hosts/${payments.id}/acks`, { deficiency: fixtureDeficiencyId(payments.id, "CTL-A"), reason: "x" })).status).toBe(403);
  });

  it("refuses a waiver from whoever runs the hosts it covers (separation of duties), and takes it from an approver who does not", async () => {
    const own = await as("risk-and-ops", "POST", "/api/controls/CTL-A/waivers", { group: "payments", until: "2099-01-01", reason: "accept" });
    expect(own.status).toBe(403);
    expect(own.text).toContain("separation of duties");
    const other = await as("risk-and-ops", "POST", "/api/controls/CTL-A/waivers", { group: "web", until: "2099-01-01", reason: "accept" });
    expect(other.status, other.text).toBe(201);
    expect((await as("risk", "POST", "/api/controls/CTL-A/waivers", { host: payments.id, until: "2099-01-01", reason: "accept" })).status).toBe(201);
    // a control owner waives their own controls only
    expect((await as("sec-owner", "POST", "/api/controls/CTL-B/waivers", { host: payments.id, until: "2099-01-01", reason: "accept" })).status).toBe(404);
    expect((await as("risk", "POST", "/api/controls/CTL-A/waivers", { host: payments.id, until: "2001-01-01", reason: "accept" })).status).toBe(400);
    // each waiver and acknowledgement is in the audit log
    const audited = await pool.query<{ action: string }>("SELECT action FROM hub_audit WHERE action LIKE 'decision.%'");
    expect(audited.rows.filter((r) => r.action === "decision.waive")).toHaveLength(2);
  });

  it("withdraws a decision only for its giver or an administrator, and only before a reply carried it", async () => {
    const given = await as("risk", "POST", "/api/controls/CTL-A/waivers", { host: web.id, until: "2099-02-01", reason: "to withdraw" });
    const id = (JSON.parse(given.text) as { decisions: { id: number }[] }).decisions[0]!.id;
    expect((await as("sec-owner", "POST", `/api/decisions/${id}/withdraw`, {})).status).toBe(403);
    expect((await as("risk", "POST", `/api/decisions/${id}/withdraw`, {})).status).toBe(200);
    expect((await as("risk", "POST", `/api/decisions/${id}/withdraw`, {})).status).toBe(409);
    const later = await as("risk", "POST", "/api/controls/CTL-A/waivers", { host: web.id, until: "2099-02-01", reason: "delivered" });
    const delivered = (JSON.parse(later.text) as { decisions: { id: number }[] }).decisions[0]!.id;
    await pool.query("UPDATE hub_decisions SET state = 'delivered' WHERE id = $1", [delivered]);
    expect((await as("admin", "POST", `/api/decisions/${delivered}/withdraw`, {})).status).toBe(409);
  });

  it("lets a control owner approve their controls' integrity changes, and an administrator any; never operations", async () => {
    // insertHost: CTL-A's promise is record 1, CTL-B's record 2
    expect((await as("sec-owner", "POST", `/api/hosts/${web.id}/integrity-approvals`, { promise: "CTL-B/file/srv-2", record: 2, reason: "x" })).status).toBe(404);
    expect((await as("pay-ops", "POST", `/api/hosts/${payments.id}/integrity-approvals`, { promise: "CTL-A/file/srv-1", record: 1, reason: "x" })).status).toBe(403);
    expect((await as("sec-owner", "POST", `/api/hosts/${web.id}/integrity-approvals`, { promise: "CTL-A/file/srv-1", record: 2, reason: "x" })).status).toBe(409);
    const ok = await as("sec-owner", "POST", `/api/hosts/${web.id}/integrity-approvals`, { promise: "CTL-A/file/srv-1", record: 1, reason: "CHG-5" });
    expect(ok.status, ok.text).toBe(201);
    expect((await as("admin", "POST", `/api/hosts/${web.id}/integrity-approvals`, { promise: "CTL-A/file/srv-1", record: 1, reason: "again" })).status).toBe(409);
    expect((await as("admin", "POST", `/api/hosts/${payments.id}/integrity-approvals`, { promise: "CTL-B/file/srv-2", record: 2, reason: "CHG-6" })).status).toBe(201);
  });

  it("gives a revoked host no decision: it collects nothing more", async () => {
    const gone = await insertHost(pool, "gone-01", "payments", ["CTL-A"]);
    await pool.query("UPDATE hub_hosts SET revoked_at = now(), revoked_reason = 'decommissioned' WHERE id = $1", [gone.id]);
    const ack = await as("admin", "POST", `/api/hosts/${gone.id}/acks`, { deficiency: fixtureDeficiencyId(gone.id, "CTL-A"), reason: "CHG-9" });
    expect(ack.status, ack.text).toBe(409);
    expect(ack.text).toContain("revoked");
    const approval = await as("admin", "POST", `/api/hosts/${gone.id}/integrity-approvals`, { promise: "CTL-A/file/srv-1", record: 1, reason: "CHG-9" });
    expect(approval.status, approval.text).toBe(409);
    expect(Number((await pool.query("SELECT count(*) AS n FROM hub_decisions WHERE host_id = $1", [gone.id])).rows[0].n)).toBe(0);
  });

  it("lists decisions within the user's reach", async () => {
    const owner = JSON.parse((await as("sec-owner", "GET", "/api/decisions?size=500")).text) as { decisions: { control: string }[] };
    expect(owner.decisions.length).toBeGreaterThan(0);
    expect(owner.decisions.every((d) => d.control === "CTL-A")).toBe(true);
    const ops = JSON.parse((await as("pay-ops", "GET", "/api/decisions?size=500")).text) as { decisions: { host: string }[] };
    expect(ops.decisions.length).toBeGreaterThan(0);
    expect(ops.decisions.every((d) => d.host === payments.id)).toBe(true);
    const filtered = JSON.parse((await as("reader", "GET", `/api/decisions?host=${web.id}&state=withdrawn`)).text) as { decisions: { host: string; state: string }[] };
    expect(filtered.decisions).toHaveLength(1);
    expect((await as("reader", "GET", "/api/decisions?state=bogus")).status).toBe(400);
  });
});
