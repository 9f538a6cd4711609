// The dashboard's decision forms attacked as a browser would send them (urlencoded POSTs with the
// session cookie, over real HTTPS, to a hub on real PostgreSQL): a form without the session's
// CSRF token or with another session's, or from another site; hidden fields edited to reach
// another group's deficiency or another owner's promise; someone else's decision withdrawn; the
// waiver form's `host` made a redirect off the hub; and a host that names its controls and
// promises with markup. Each refusal gives nothing (no decision stored) and no redirect.
import type { Pool } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../../src/hub/auth/users.js";
import { startHub, type RunningHub } from "../../src/hub/serve.js";
import { api, login, type Session } from "./helpers/api-client.js";
import { testCertificate, type TestCert } from "./helpers/certs.js";
import { testHubConfig } from "./helpers/config.js";
import { fixtureDeficiencyId, insertHost, setOwner, type FixtureHost } from "./helpers/fleet-fixtures.js";
import { freshDatabase, type TestDatabase } from "./helpers/pg.js";

const PASSWORD = "correct horse battery staple";
/** A control id a hostile host pushes: markup in every place a page shows it or puts it in a form. */
const MARKUP = `CTL-"><img src=x onerror=alert(1)>`;
let cert: TestCert;
let db: TestDatabase;
let hub: RunningHub;
let pool: Pool;
let pay: FixtureHost;
let web: FixtureHost;
let evil: FixtureHost;
const sessions = new Map<string, Session>();

beforeAll(async () => {
  cert = await testCertificate();
  db = await freshDatabase();
  hub = await startHub(testHubConfig(cert, db.url, { database: { url: db.url, poolSize: 4 } }), () => undefined);
  pool = hub.pool;
  await setOwner(pool, "CTL-A", "security");
  await setOwner(pool, "CTL-B", "finance");
  pay = await insertHost(pool, "pay-01", "payments", ["CTL-A", "CTL-B"]);
  web = await insertHost(pool, "web-01", "web", ["CTL-A", "CTL-B"]);
  evil = await insertHost(pool, "evil-01", "payments", [MARKUP]);
  const users: [string, { role: string; scope?: string }][] = [
    ["pay-ops", { role: "operations", scope: "group:payments" }],
    ["sec-owner", { role: "owner", scope: "owner:security" }],
    ["risk", { role: "approver" }],
    ["risk-two", { role: "approver" }],
    ["admin", { role: "administrator" }],
  ];
  for (const [name, grant] of users) {
    await createUser(pool, { name, password: PASSWORD, grants: [grant] }, "test");
    sessions.set(name, await login(hub.url, cert.certPem, name, PASSWORD));
  }
}, 60_000);

afterAll(async () => {
  await hub?.close();
  await db?.drop();
});

/** A form as a browser posts it: urlencoded, the session cookie, `_csrf` in the body unless told otherwise. */
function form(user: string, path: string, fields: Record<string, string>, opts: { csrf?: string | null; headers?: Record<string, string> } = {}) {
  const s = sessions.get(user)!;
  const csrf = opts.csrf === undefined ? s.csrf : opts.csrf;
  return api(hub.url, cert.certPem, { method: "POST", path, cookie: s.cookie, form: { ...fields, ...(csrf !== null ? { _csrf: csrf } : {}) }, ...(opts.headers ? { headers: opts.headers } : {}) });
}

const decisionCount = async () => Number((await pool.query<{ n: string }>("SELECT count(*) AS n FROM hub_decisions")).rows[0]!.n);

describe("the dashboard's decision forms, attacked", () => {
  it("refuse a form without the session's CSRF token, with another session's, or from another site", async () => {
    const before = await decisionCount();
    const ack = { deficiency: fixtureDeficiencyId(pay.id, "CTL-A"), reason: "CHG-1" };
    const path = `/ui/hosts/${pay.id}/acks`;
    const missing = await form("pay-ops", path, ack, { csrf: null });
    const foreign = await form("pay-ops", path, ack, { csrf: sessions.get("risk")!.csrf });
    const crossSite = await form("pay-ops", path, ack, { headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" } });
    for (const r of [missing, foreign, crossSite]) {
      expect(r.status).toBe(403);
      expect(r.headers["location"]).toBeUndefined();
    }
    expect(missing.text).toContain("CSRF token is missing or wrong");
    expect(foreign.text).toContain("CSRF token is missing or wrong");
    expect(await decisionCount()).toBe(before);
  });

  it("do not let an operator acknowledge another group's deficiency by editing the hidden fields", async () => {
    const before = await decisionCount();
    // their group's host in the path, another group's deficiency in the body
    const swapped = await form("pay-ops", `/ui/hosts/${pay.id}/acks`, { deficiency: fixtureDeficiencyId(web.id, "CTL-A"), reason: "not mine" });
    // another group's host in the path
    const elsewhere = await form("pay-ops", `/ui/hosts/${web.id}/acks`, { deficiency: fixtureDeficiencyId(web.id, "CTL-A"), reason: "not mine" });
    for (const r of [swapped, elsewhere]) {
      expect(r.status).toBe(404);
      expect(r.headers["location"]).toBeUndefined();
    }
    expect(await decisionCount()).toBe(before);
    // the form as drawn still works
    const own = await form("pay-ops", `/ui/hosts/${pay.id}/acks`, { deficiency: fixtureDeficiencyId(pay.id, "CTL-A"), reason: "CHG-2" });
    expect([own.status, own.headers["location"]]).toEqual([303, `/ui/hosts/${pay.id}#decisions`]);
  });

  it("do not let a control owner approve another owner's promise", async () => {
    const before = await decisionCount();
    const r = await form("sec-owner", `/ui/hosts/${web.id}/integrity-approvals`, { promise: "CTL-B/file/srv-2", record: "2", reason: "not my control" });
    expect(r.status).toBe(404);
    expect(r.headers["location"]).toBeUndefined();
    expect(await decisionCount()).toBe(before);
    const mine = await form("sec-owner", `/ui/hosts/${web.id}/integrity-approvals`, { promise: "CTL-A/file/srv-1", record: "1", reason: "my control" });
    expect(mine.status).toBe(303);
  });

  it("do not let one approver withdraw another's decision; its giver may", async () => {
    const given = await form("risk", "/ui/controls/CTL-A/waivers", { host: web.id, until: "2099-01-31", reason: "risk accepted" });
    expect(given.status).toBe(303);
    const id = (await pool.query<{ id: string }>("SELECT id FROM hub_decisions WHERE given_by = 'risk' AND kind = 'waiver' ORDER BY id DESC LIMIT 1")).rows[0]!.id;
    const other = await form("risk-two", `/ui/decisions/${id}/withdraw`, {});
    expect(other.status).toBe(403);
    expect(other.headers["location"]).toBeUndefined();
    expect((await pool.query<{ state: string }>("SELECT state FROM hub_decisions WHERE id = $1", [id])).rows[0]!.state).toBe("pending");
    const own = await form("risk", `/ui/decisions/${id}/withdraw`, {});
    expect([own.status, own.headers["location"]]).toEqual([303, `/ui/hosts/${web.id}#decisions`]);
  });

  it("never redirect off the hub through the waiver form's `host`", async () => {
    for (const host of ["//evil.example/x", "https://evil.example/", "/\\evil.example", `${web.id}/../../../evil`]) {
      const r = await form("risk", "/ui/controls/CTL-B/waivers", { host, until: "2099-01-31", reason: "redirect?" });
      expect(r.status, host).toBeGreaterThanOrEqual(400);
      expect(r.headers["location"], host).toBeUndefined();
    }
    const group = await form("risk", "/ui/controls/CTL-B/waivers", { group: "web", host: "", until: "2099-01-31", reason: "group" });
    expect([group.status, group.headers["location"]]).toEqual([303, "/ui/controls/CTL-B#waivers"]);
  });

  it("show a hostile host's control and promise names as text, in the page and in the forms' fields", async () => {
    const page = await api(hub.url, cert.certPem, { method: "GET", path: `/ui/hosts/${evil.id}`, cookie: sessions.get("admin")!.cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain("CTL-&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
    expect(page.text).not.toContain("<img src=x");
    expect(page.text).not.toMatch(/value="CTL-"/);
    // the acknowledge form drawn for it still names the deficiency it was drawn for
    const r = await form("admin", `/ui/hosts/${evil.id}/acks`, { deficiency: fixtureDeficiencyId(evil.id, MARKUP), reason: "seen" });
    expect(r.status).toBe(303);
  });
});
