// The dashboard over plain HTTPS (no browser): the front door and the sign-in redirects (`next`
// never leaves the hub), the page headers (a CSP allowing no script, no framing), CSRF on every
// form, the sign-in form sharing the API's throttle and audit, API tokens not reading pages, and
// GET /api/overview's figures against the seeded fleet, held to each role's reach.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pool } from "pg";
import { startHub, type RunningHub } from "../../src/hub/serve.js";
import { createUser, makeApiToken } from "../../src/hub/auth/users.js";
import { freshDatabase, type TestDatabase } from "./helpers/pg.js";
import { testCertificate, type TestCert } from "./helpers/certs.js";
import { api, sessionCookieOf, type ApiReply } from "./helpers/api-client.js";
import { testHubConfig } from "./helpers/config.js";
import { rollupSettled } from "../../src/hub/dashboard/overview-rollup.js";
import type { Overview } from "../../src/hub/dashboard/overview-data.js";
import { CONTROLS, HOSTS, SCRIPT_HOST, expectedCounts, seedDashboardFleet, type SeededFleet } from "./helpers/dashboard-fleet.js";

const PASSWORD = "correct horse battery staple";
let cert: TestCert;
let db: TestDatabase;
let hub: RunningHub;
let pool: Pool;
let fleet: SeededFleet;

const get = (path: string, cookie?: string, headers: Record<string, string> = {}) => api(hub.url, cert.certPem, { method: "GET", path, ...(cookie ? { cookie } : {}), headers });
const post = (path: string, form: Record<string, string>, cookie?: string, headers: Record<string, string> = {}) => api(hub.url, cert.certPem, { method: "POST", path, form, ...(cookie ? { cookie } : {}), headers });

/** Signs in through the sign-in form: the cookie, and the CSRF token the next page's forms carry. */
async function signIn(user: string, next?: string): Promise<{ cookie: string; csrf: string; reply: ApiReply }> {
  const reply = await post("/ui/login", { user, password: PASSWORD, ...(next !== undefined ? { next } : {}) });
  const cookie = sessionCookieOf(reply);
  if (reply.status !== 303 || !cookie) throw new Error(`sign-in as ${user}: ${reply.status} ${reply.text.slice(0, 300)}`);
  const page = await get("/ui/hosts", cookie);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? "";
  return { cookie, csrf, reply };
}

beforeAll(async () => {
  cert = await testCertificate();
  db = await freshDatabase();
  hub = await startHub(testHubConfig(cert, db.url), (l) => console.log(l));
  pool = hub.pool;
  await createUser(pool, { name: "admin", password: PASSWORD, grants: [{ role: "administrator" }] }, "test");
  await createUser(pool, { name: "ops", password: PASSWORD, grants: [{ role: "operations", scope: "group:payments" }] }, "test");
  await createUser(pool, { name: "sec-owner", password: PASSWORD, grants: [{ role: "owner", scope: "owner:security" }] }, "test");
  await createUser(pool, { name: "audit", password: PASSWORD, grants: [{ role: "auditor" }] }, "test");
  await createUser(pool, { name: "writer", password: PASSWORD, grants: [{ role: "author" }] }, "test");
  await createUser(pool, { name: "locked", password: PASSWORD, grants: [{ role: "auditor" }] }, "test");
  fleet = await seedDashboardFleet(pool, "nobody");
}, 60_000);

afterAll(async () => {
  await hub?.close();
  await db?.drop();
});

describe("the dashboard's doors", () => {
  it("sends / to the overview and an unsigned browser to the sign-in page, coming back to the page asked for", async () => {
    const root = await get("/");
    expect(root.status).toBe(303);
    expect(root.headers["location"]).toBe("/ui");
    const overview = await get("/ui");
    expect(overview.status).toBe(303);
    expect(overview.headers["location"]).toBe("/ui/login?next=%2Fui");
    const hosts = await get("/ui/hosts?group=payments&silent=1");
    expect(hosts.headers["location"]).toBe(`/ui/login?next=${encodeURIComponent("/ui/hosts?group=payments&silent=1")}`);
    const s = await signIn("ops", "/ui/hosts?group=payments&silent=1");
    expect(s.reply.headers["location"]).toBe("/ui/hosts?group=payments&silent=1");
  });

  it("never redirects off the hub after signing in, whatever next says", async () => {
    for (const next of ["https://evil.example/", "//evil.example/ui", "/\\evil.example", "/ui@evil.example", "javascript:alert(1)", "/uievil", " /ui", "/ui/login", "\t//evil.example"]) {
      const s = await signIn("audit", next);
      expect(s.reply.headers["location"], next).toBe("/ui");
      const form = await get(`/ui/login?next=${encodeURIComponent(next)}`);
      expect(form.text, next).not.toContain("evil.example");
    }
    // the author reaches no overview: the first section of theirs that is a page
    expect((await signIn("writer")).reply.headers["location"]).toBe("/ui/controls");
  });

  it("sends every page with a CSP that allows no script, no framing and no outside referrer", async () => {
    const s = await signIn("admin");
    for (const path of ["/ui", "/ui/hosts", "/ui/incidents", "/ui/policies", "/ui/audit", "/ui/login"]) {
      const r = await get(path, s.cookie);
      expect(r.status, path).toBe(200);
      expect(r.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(r.headers["content-security-policy"]).toBe("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
      expect(r.headers["x-frame-options"]).toBe("DENY");
      expect(r.headers["referrer-policy"]).toBe("same-origin");
      expect(r.text).not.toMatch(/<script|\son[a-z]+=|javascript:/i);
    }
    // a page that does not exist is a page too; the API's answer stays JSON
    const missing = await get("/ui/no-such-page", s.cookie);
    expect(missing.status).toBe(404);
    expect(missing.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(missing.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(missing.text).toContain("Not found");
    const api404 = await get("/api/no-such-route", s.cookie);
    expect(api404.status).toBe(404);
    expect(api404.body["message"]).toBe("no such endpoint");
    const css = await get("/ui/style.css");
    expect(css.status).toBe(200);
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
  });

  it("refuses a form without the session's CSRF token, or from another site, as a page; takes it with", async () => {
    const s = await signIn("admin");
    const path = `/ui/incidents/${fleet.incident}/resolve`;
    const bare = await post(path, { reason: "explained" }, s.cookie);
    expect(bare.status).toBe(403);
    expect(bare.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(bare.text).toContain("CSRF");
    const wrong = await post(path, { reason: "explained", _csrf: "A".repeat(43) }, s.cookie);
    expect(wrong.status).toBe(403);
    const cross = await post(path, { reason: "explained", _csrf: s.csrf }, s.cookie, { origin: "https://evil.example", "sec-fetch-site": "cross-site" });
    expect(cross.status).toBe(403);
    const open = await pool.query("SELECT resolved_at FROM hub_incidents WHERE id = $1", [fleet.incident]);
    expect(open.rows[0].resolved_at).toBeNull();
    const done = await post(path, { reason: "explained: restored from backup", _csrf: s.csrf }, s.cookie);
    expect(done.status).toBe(303);
    expect(done.headers["location"]).toBe("/ui/incidents");
    const audited = await pool.query("SELECT actor, detail FROM hub_audit WHERE action = 'incident.resolve' AND object = $1", [`incident:${fleet.incident}`]);
    expect(audited.rows).toEqual([{ actor: "admin", detail: { reason: "explained: restored from backup" } }]);
  });

  it("signs out only with the CSRF token, ends the session, and audits it", async () => {
    const s = await signIn("audit");
    expect((await post("/ui/logout", {}, s.cookie)).status).toBe(403);
    expect((await get("/ui", s.cookie)).status).toBe(200);
    const out = await post("/ui/logout", { _csrf: s.csrf }, s.cookie);
    expect(out.status).toBe(303);
    expect(out.headers["location"]).toBe("/ui/login");
    expect((await get("/ui", s.cookie)).status).toBe(303);
    const n = await pool.query("SELECT count(*)::int AS n FROM hub_audit WHERE action = 'logout' AND actor = 'audit'");
    expect(n.rows[0].n).toBeGreaterThan(0);
  });

  it("throttles the sign-in form with the API's throttle, and says nothing of which part was wrong", async () => {
    for (let i = 0; i < 5; i++) expect((await api(hub.url, cert.certPem, { method: "POST", path: "/api/login", json: { user: "locked", password: "wrong password here" } })).status).toBe(401);
    const r = await post("/ui/login", { user: "locked", password: PASSWORD });
    expect(r.status).toBe(429);
    expect(r.headers["retry-after"]).toMatch(/^\d+$/);
    expect(r.text).toContain("Too many failed sign-ins");
    const wrong = await post("/ui/login", { user: "no-such-user", password: "whatever it is" });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain("The user name or the password is wrong.");
  });

  it("does not serve pages to an API token: those read the API", async () => {
    const t = await makeApiToken(pool, "admin", "automation", 3600_000, "test");
    const r = await get("/ui", undefined, { authorization: `Bearer ${t.token}` });
    expect(r.status).toBe(403);
    expect(r.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect((await get("/api/overview", undefined, { authorization: `Bearer ${t.token}` })).status).toBe(200);
  });

  it("answers a role that may not see a page, and an object out of reach, with an HTML page", async () => {
    const writer = await signIn("writer");
    const r = await get("/ui", writer.cookie);
    expect(r.status).toBe(403);
    expect(r.text).toContain("Not allowed");
    const ops = await signIn("ops");
    // an incident on a host of another group: not found, as the API answers
    const web = await pool.query<{ id: string }>("INSERT INTO hub_incidents (host_id, kind, epoch, message) VALUES ($1, 'clock', 0, 'web clock off') RETURNING id", [fleet.hosts.get("web-1")]);
    const admin = await signIn("admin");
    const adminForged = await post(`/ui/incidents/${web.rows[0]!.id}/resolve`, { reason: "x", _csrf: ops.csrf }, ops.cookie);
    expect(adminForged.status).toBe(403);
    expect((await post(`/ui/incidents/999999/resolve`, { reason: "x", _csrf: admin.csrf }, admin.cookie)).status).toBe(404);
  });
});

describe("GET /api/overview", () => {
  it("gives an auditor the whole fleet's figures, as the seeded fleet implies", async () => {
    const s = await signIn("audit");
    const r = await get("/api/overview", s.cookie);
    expect(r.status).toBe(200);
    const o = r.body as unknown as Overview;
    expect(o.totals.hosts).toBe(HOSTS.length);
    expect(o.totals.verdicts).toEqual(expectedCounts(() => true, () => true));
    expect(o.totals.openDeficiencies).toBe(3);
    expect(o.totals.silent).toBe(1);
    expect(o.silent.rows.map((h) => h.host)).toEqual(["web-1"]);
    expect(o.inDoubt.rows.map((h) => h.host)).toEqual(["pay-db-2"]);
    const chain = o.deficiencies.rows.find((d) => d.id === fleet.deficiencies.chain);
    expect(chain!.told.map((t) => t.recipient)).toEqual(["oncall/sms/bob", "security/mail/alice@example.com"]);
    expect(chain!.ageMs).toBeGreaterThan(26 * 3600_000 - 60_000);
    const ac = o.controls.rows.find((c) => c.control === "CTL-AC-01");
    expect(ac!.counts).toEqual(expectedCounts(() => true, (c) => c.control === "CTL-AC-01"));
  });

  it("filters by owner, severity, framework ref and host group", async () => {
    const s = await signIn("audit");
    const q = async (query: string) => (await get(`/api/overview?${query}`, s.cookie)).body as unknown as Overview;
    expect((await q("owner=finance")).totals.verdicts).toEqual(expectedCounts(() => true, (c) => c.owner === "finance"));
    expect((await q("severity=high")).controls.rows.map((c) => c.control)).toEqual(["CTL-AC-01"]);
    expect((await q("ref=SOX-ITGC-OP-03")).controls.rows.map((c) => c.control)).toEqual(["CTL-OP-03"]);
    // a framework filters as on the controls list: every ref written "SOX:..." or "SOX ...", never a prefix of a word
    await pool.query("UPDATE hub_controls SET refs = refs || ARRAY['SOX:404'] WHERE control = 'CTL-CM-02'");
    expect((await q("ref=SOX")).controls.rows.map((c) => c.control)).toEqual(["CTL-CM-02"]);
    expect((await q("ref=SO")).controls.rows).toEqual([]);
    await pool.query("UPDATE hub_controls SET refs = array_remove(refs, 'SOX:404') WHERE control = 'CTL-CM-02'");
    const web = await q("group=web");
    expect(web.totals.verdicts).toEqual(expectedCounts((h) => h.group === "web", () => true));
    expect(web.groups.map((g) => g.group)).toEqual(["web"]);
    expect(web.inDoubt.total).toBe(0);
    expect((await get("/api/overview?owner=%3Cscript%3E", s.cookie)).status).toBe(400);
  });

  it("holds operations to their groups and a control owner to their controls' data", async () => {
    const ops = (await get("/api/overview", (await signIn("ops")).cookie)).body as unknown as Overview;
    expect(ops.totals.hosts).toBe(3);
    expect(ops.totals.verdicts).toEqual(expectedCounts((h) => h.group === "payments", () => true));
    expect(ops.groups.map((g) => g.group)).toEqual(["payments"]);
    expect(ops.silent.total).toBe(0);
    expect(ops.deficiencies.rows.map((d) => d.id)).toEqual([fleet.deficiencies.chain]);
    expect(JSON.stringify(ops)).not.toContain("web-1");
    expect(JSON.stringify(ops)).not.toContain(SCRIPT_HOST);
    const owner = (await get("/api/overview", (await signIn("sec-owner")).cookie)).body as unknown as Overview;
    expect(owner.controls.rows.map((c) => c.control)).toEqual(["CTL-AC-01"]);
    expect(owner.totals.verdicts).toEqual(expectedCounts(() => true, (c) => c.owner === "security"));
    expect(owner.totals.hosts).toBe(HOSTS.length);
    expect(owner.deficiencies.rows.map((d) => d.id).sort()).toEqual([fleet.deficiencies.chain, fleet.deficiencies.silent, fleet.deficiencies.wave].sort());
    expect(JSON.stringify(owner)).not.toContain("CTL-CM-02");
    expect(CONTROLS.length).toBe(3);
  });

  it("recounts the verdicts in the background once pushes have moved the fleet, saying so meanwhile", async () => {
    const s = await signIn("audit");
    const before = (await get("/api/overview", s.cookie)).body as unknown as Overview;
    expect(before.recounting).toBe(false);
    // a push turned web-1's drifting-free CTL-CM-02 to drift, a minute after the last count
    await pool.query("UPDATE hub_overview_state SET computed_at = computed_at - interval '1 minute'");
    await pool.query("UPDATE hub_promise_state SET outcome = 'drift' WHERE host_id = $1 AND control = 'CTL-CM-02'", [fleet.hosts.get("web-1")]);
    await pool.query("UPDATE hub_hosts SET last_push_at = now() WHERE id = $1", [fleet.hosts.get("web-1")]);
    const stale = (await get("/api/overview", s.cookie)).body as unknown as Overview;
    expect(stale.recounting).toBe(true);
    expect(stale.totals.verdicts).toEqual(before.totals.verdicts);
    await rollupSettled(pool);
    const after = (await get("/api/overview", s.cookie)).body as unknown as Overview;
    expect(after.recounting).toBe(false);
    expect(after.totals.verdicts.drift).toBe(before.totals.verdicts.drift + 1);
    expect(after.totals.verdicts.kept).toBe(before.totals.verdicts.kept - 1);
  });
});
