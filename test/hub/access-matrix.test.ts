// The access rules as a matrix: every route declared in src/hub/auth/rules.ts (the dashboard's pages
// among them, whose refusals are pages: 303 to the sign-in page, HTML 403 and 404) × every role × an
// object in and out of the role's scope × each way of presenting credentials (a browser session
// with its CSRF token, a bearer API token, none), sent over real HTTPS to a hub on real
// PostgreSQL, each answer held to what the rules say. Driven by the declarations: a route added
// there is sent here without anything else changing, except its fixture (the objects its path
// names and its body), which this file must then give, or the test fails saying so.
// Expected: a role the rule does not name is refused (403) and writes nothing to the audit log;
// a role it names reaches in-scope objects (2xx, audited when the rule says so) and does not
// find out-of-scope ones (404), and a list shows in-scope objects and never out-of-scope ones.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contentKey } from "../../src/hub/policy/versions.js";
import type { Pool } from "pg";
import { startHub, type RunningHub } from "../../src/hub/serve.js";
import { ROLES, USER_ROUTES, type Reach, type Role, type RouteRule } from "../../src/hub/auth/rules.js";
import { createUser, makeApiToken } from "../../src/hub/auth/users.js";
import { hashPassword } from "../../src/hub/auth/passwords.js";
import { freshDatabase, type TestDatabase } from "./helpers/pg.js";
import { testCertificate, type TestCert } from "./helpers/certs.js";
import { api, login, type ApiReply, type Session } from "./helpers/api-client.js";
import { fixtureDeficiencyId, insertHost, insertIncident, setOwner } from "./helpers/fleet-fixtures.js";
import { testHubConfig } from "./helpers/config.js";

const PASSWORD = "correct horse battery staple";
const SOX = readdirSync("examples/sox").filter((f) => f.endsWith(".promise")).sort().map((f) => ({ path: f, text: readFileSync(join("examples/sox", f), "utf8") }));
const POLICY_CONTENT = contentKey(SOX.map((f) => createHash("sha256").update(f.text).digest("hex")));
const IN_GROUP = "payments";
const OUT_GROUP = "web";
const CTL_IN = "CTL-IN-1";
const CTL_OUT = "CTL-OUT-1";

const ROLE_GRANTS: Record<Role, { role: string; scope?: string }[]> = {
  administrator: [{ role: "administrator" }],
  author: [{ role: "author" }],
  approver: [{ role: "approver" }],
  owner: [{ role: "owner", scope: "owner:security" }],
  operations: [{ role: "operations", scope: `group:${IN_GROUP}` }],
  auditor: [{ role: "auditor" }],
};

let cert: TestCert;
let db: TestDatabase;
let hub: RunningHub;
let pool: Pool;
const sessions = new Map<Role, Session>();
const bearers = new Map<Role, string>();
let fresh = 0;
let freshHash: Promise<string>;

/** The markers that say which objects a list answer holds, in scope and out of it, per object kind. */
const listMarkers: Partial<Record<RouteRule["object"], (role: Role) => { in: string; out: string }>> = {
  host: () => ({ in: "aa-host-in", out: "aa-host-out" }),
  incident: () => ({ in: "incident on the payments host", out: "incident on the web host" }),
  control: () => ({ in: CTL_IN, out: CTL_OUT }),
  token: (role) => ({ in: `token of ${role}`, out: "token of someone else" }),
  policy: () => ({ in: "CHG-0 the version every list shows", out: "CHG-0 the version every list shows" }),
  decision: () => ({ in: "decision on the payments host", out: "decision on the web host" }),
  // the overview's chains in doubt: each host has an open fork incident
  fleet: () => ({ in: "aa-host-in", out: "aa-host-out" }),
};

/**
 * Routes on the fleet that list nothing: the evidence pack is a gzip archive (which hosts it holds
 * is checked by test/hub/fleet-evidence-push.test.ts and dashboard-browser.test.ts), and the
 * evidence page is its form.
 */
const NOT_LISTS = new Set(["evidence.export", "ui.evidence"]);

function userOf(role: Role): string {
  return `matrix-${role}`;
}

type Scope = "in" | "out";

/** The objects a route's path names, made fresh for writes (a write changes them). */
async function paramsFor(rule: RouteRule, role: Role, scope: Scope): Promise<Record<string, string>> {
  const n = ++fresh;
  const group = scope === "in" ? IN_GROUP : OUT_GROUP;
  const names = [...rule.path.matchAll(/:([a-z]+)/g)].map((m) => m[1]!);
  const out: Record<string, string> = {};
  for (const name of names) {
    switch (name) {
      case "host":
        out[name] = (await insertHost(pool, `zz-host-${n}`, group, [CTL_IN, CTL_OUT])).id;
        break;
      case "incident": {
        const h = await insertHost(pool, `zz-incident-host-${n}`, group);
        out[name] = String(await insertIncident(pool, h.id, `fresh incident ${n}`));
        break;
      }
      case "control":
        out[name] = scope === "in" ? CTL_IN : CTL_OUT;
        break;
      case "user": {
        // straight into the table, with a hash made once: scrypt is meant to be slow
        const u = await pool.query<{ id: string }>("INSERT INTO hub_users (name, password_hash, created_by) VALUES ($1, $2, 'test') RETURNING id", [`fresh-${n}`, await freshHash]);
        await pool.query("INSERT INTO hub_grants (user_id, role, granted_by) VALUES ($1, 'author', 'test')", [u.rows[0]!.id]);
        out[name] = `fresh-${n}`;
        break;
      }
      case "grant": {
        const g = await pool.query<{ id: string }>("SELECT g.id FROM hub_grants g JOIN hub_users u ON u.id = g.user_id WHERE u.name = $1", [out["user"]]);
        out[name] = g.rows[0]!.id;
        break;
      }
      case "policy": {
        // a pending version by someone else, straight into the table (publishing checks the policy: slow)
        const v = await pool.query<{ id: string }>("INSERT INTO hub_policy_versions (content, files, author, message, status) VALUES ($1, $2, 'matrix-other', $3, 'pending') RETURNING id", [POLICY_CONTENT, JSON.stringify(SOX), `fresh version ${n}`]);
        out[name] = v.rows[0]!.id;
        break;
      }
      case "decision": {
        // a pending acknowledgement on a control the owner reaches, given by the role's own user (one withdraws one's own)
        const h = await insertHost(pool, `zz-decision-host-${n}`, group);
        const d = await pool.query<{ id: string }>("INSERT INTO hub_decisions (host_id, kind, control, subject, reason, given_by) VALUES ($1, 'ack', $2, '{}', $3, $4) RETURNING id", [h.id, CTL_IN, `fresh decision ${n}`, userOf(role)]);
        out[name] = d.rows[0]!.id;
        break;
      }
      case "token": {
        const owner = scope === "in" ? userOf(role) : "matrix-other";
        out[name] = String((await makeApiToken(pool, owner, `fresh token ${n}`, null, "test")).id);
        break;
      }
      default:
        throw new Error(`${rule.method} ${rule.path}: the matrix has no fixture for :${name}: add one here`);
    }
  }
  return out;
}

/** The body each write is sent with: valid, so that an authorised write succeeds. */
const bodies: Record<string, (role: Role, scope: Scope, params: Record<string, string>) => Record<string, unknown>> = {
  login: (role) => ({ user: userOf(role), password: PASSWORD }),
  logout: () => ({}),
  "users.create": () => ({ name: `made-${++fresh}`, password: PASSWORD, grants: [{ role: "auditor" }] }),
  "users.grant": () => ({ role: "operations", scope: "group:extra" }),
  "users.revoke-grant": () => ({}),
  "users.disable": () => ({ reason: "left the company" }),
  "tokens.create": () => ({ name: `made in the matrix ${++fresh}`, validFor: "1d" }),
  "tokens.revoke": () => ({}),
  "hosts.revoke": () => ({ reason: "decommissioned" }),
  "incidents.resolve": () => ({ reason: "explained: a restore from backup" }),
  // the owner each control already has: the write succeeds without moving the scopes the matrix tests
  "policies.publish": () => ({ files: SOX, message: `CHG-${++fresh} from the matrix` }),
  "policies.approve": () => ({ reason: "reviewed" }),
  "policies.reject": () => ({ reason: "no ticket" }),
  "controls.set-owner": (_role, scope) => ({ owner: scope === "in" ? "security" : "finance" }),
  // the dashboard's forms
  "ui.login": (role) => ({ user: userOf(role), password: PASSWORD }),
  "ui.logout": () => ({}),
  "ui.incidents.resolve": () => ({ reason: "explained on the incidents page" }),
  "ui.policies.approve": () => ({ reason: "reviewed on the policies page" }),
  "ui.policies.reject": () => ({ reason: "no ticket, said on the policies page" }),
  "ui.host.ack": (_role, _scope, params) => ({ deficiency: fixtureDeficiencyId(params["host"]!, CTL_IN), reason: "known: CHG-1, said on the host's page" }),
  "ui.host.approve-change": () => ({ promise: `${CTL_IN}/file/srv-1`, record: "1", reason: "CHG-2 approved on the host's page" }),
  "ui.control.waive": () => ({ group: IN_GROUP, until: "2099-12-31", reason: "RISK-1 accepted on the control's page" }),
  "ui.decisions.withdraw": () => ({}),
  // the deficiency of the control the owner reaches, on the host the path names
  "decisions.ack": (_role, _scope, params) => ({ deficiency: fixtureDeficiencyId(params["host"]!, CTL_IN), reason: "known: CHG-1" }),
  "decisions.waive": () => ({ group: IN_GROUP, until: "2099-12-31", reason: "RISK-1 accepted" }),
  "decisions.withdraw": () => ({}),
  // the state of the promise of the control the owner reaches (insertHost: its first, record 1)
  "decisions.approve-change": () => ({ promise: `${CTL_IN}/file/srv-1`, record: 1, reason: "CHG-2 approved" }),
};

/** The query a route needs to succeed when allowed, by scope: a fleet pack of today, for the group in or out of operations' scope. */
const queries: Record<string, (scope: Scope) => string> = {
  "evidence.export": (scope) => {
    const today = new Date().toISOString().slice(0, 10);
    return `?from=${today}&to=${today}&group=${scope === "in" ? IN_GROUP : OUT_GROUP}`;
  },
};

function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/:([a-z]+)/g, (_m, name: string) => encodeURIComponent(params[name]!));
}

async function auditCount(): Promise<number> {
  return Number((await pool.query<{ n: string }>("SELECT count(*) AS n FROM hub_audit")).rows[0]!.n);
}

type Via = "cookie" | "bearer" | "none";

interface Case {
  rule: RouteRule;
  role: Role;
  scope: Scope;
  via: Via;
}

/** What the rules say the answer must be: a status class, and what a list must and must not show. */
/** What a page's form (or the front door) answers when done: 303 to the page it goes back to. */
const DONE = { status: 303, done: true } as const;

function expected(c: Case): { status: "2xx" | 303 | 401 | 403 | 404; done?: true; shows?: string; hides?: string } {
  const { rule, role, scope, via } = c;
  if (rule.credentials === "none") return rule.page && (rule.method !== "GET" || rule.path === "/") ? DONE : { status: "2xx" };
  // a page without a session: to the sign-in page
  if (via === "none") return { status: rule.page ? 303 : 401 };
  if (via === "bearer" && rule.credentials === "session") return { status: 403 };
  const reach: Reach | undefined = rule.who[role];
  if (!reach) return { status: 403 };
  const marker = NOT_LISTS.has(rule.id) ? undefined : listMarkers[rule.object]?.(role);
  if (rule.target) {
    const scoped = (reach === "groups" || reach === "controls" || reach === "self") && scope === "out";
    if (scoped) return { status: 404 };
    if (reach === "controls-data" && rule.method === "GET") return { status: "2xx", shows: CTL_IN, hides: CTL_OUT };
    // a page's form, done, goes back to its page
    return rule.page && rule.method !== "GET" ? DONE : { status: "2xx" };
  }
  if (rule.method !== "GET" || !marker) return rule.page && rule.method !== "GET" ? DONE : { status: "2xx" };
  if (reach === "all" || reach === "controls-data") return { status: "2xx", shows: scope === "in" ? marker.in : marker.out };
  return scope === "in" ? { status: "2xx", shows: marker.in } : { status: "2xx", hides: marker.out };
}

/** Makes the request's objects (and, for a write by cookie, its own session) first, so that what it writes can be counted alone. */
async function prepare(c: Case): Promise<() => Promise<ApiReply>> {
  const params = await paramsFor(c.rule, c.role, c.scope);
  const path = fillPath(c.rule.path, params) + (queries[c.rule.id]?.(c.scope) ?? (c.rule.method === "GET" && !c.rule.target ? "?size=500" : ""));
  const json = c.rule.method === "GET" ? undefined : bodies[c.rule.id]!(c.role, c.scope, params);
  const base = { method: c.rule.method, path, json };
  if (c.via === "bearer") return () => api(hub.url, cert.certPem, { ...base, bearer: bearers.get(c.role)! });
  if (c.via === "none" || c.rule.credentials === "none") return () => api(hub.url, cert.certPem, base);
  if (c.rule.method === "GET") return () => api(hub.url, cert.certPem, { ...base, cookie: sessions.get(c.role)!.cookie });
  // a write to the session itself (logging out) is made with a session of its own, not the one the other requests share
  const s = c.rule.object === "session" ? await login(hub.url, cert.certPem, userOf(c.role), PASSWORD) : sessions.get(c.role)!;
  return () => api(hub.url, cert.certPem, { ...base, cookie: s.cookie, csrf: s.csrf });
}

beforeAll(async () => {
  cert = await testCertificate();
  db = await freshDatabase();
  hub = await startHub(testHubConfig(cert, db.url, { database: { url: db.url, poolSize: 6 }, clockToleranceMs: 120_000 }), () => undefined);
  pool = hub.pool;
  freshHash = hashPassword(PASSWORD);
  for (const role of ROLES) await createUser(pool, { name: userOf(role), password: PASSWORD, grants: ROLE_GRANTS[role] }, "test");
  await createUser(pool, { name: "matrix-other", password: PASSWORD, grants: [{ role: "auditor" }] }, "test");
  await setOwner(pool, CTL_IN, "security");
  await setOwner(pool, CTL_OUT, "finance");
  const inHost = await insertHost(pool, "aa-host-in", IN_GROUP, [CTL_IN, CTL_OUT]);
  const outHost = await insertHost(pool, "aa-host-out", OUT_GROUP, [CTL_IN, CTL_OUT]);
  await insertIncident(pool, inHost.id, "incident on the payments host");
  await insertIncident(pool, outHost.id, "incident on the web host");
  for (const [h, words] of [[inHost, "decision on the payments host"], [outHost, "decision on the web host"]] as const) {
    await pool.query("INSERT INTO hub_decisions (host_id, kind, control, subject, reason, given_by) VALUES ($1, 'ack', $2, '{}', $3, 'matrix-other')", [h.id, CTL_IN, words]);
  }
  await makeApiToken(pool, "matrix-other", "token of someone else", null, "test");
  await pool.query("INSERT INTO hub_policy_versions (content, files, author, message, status) VALUES ($1, $2, 'matrix-other', 'CHG-0 the version every list shows', 'pending')", [POLICY_CONTENT, JSON.stringify(SOX)]);
  for (const role of ROLES) {
    sessions.set(role, await login(hub.url, cert.certPem, userOf(role), PASSWORD));
    bearers.set(role, (await makeApiToken(pool, userOf(role), `token of ${role}`, 3600_000, "test")).token);
  }
}, 120_000);

afterAll(async () => {
  await hub?.close();
  await db?.drop();
});

describe("the access matrix", () => {
  it("has a fixture for every declared write", () => {
    const missing = USER_ROUTES.filter((r) => r.method !== "GET" && !bodies[r.id]).map((r) => `${r.method} ${r.path}`);
    expect(missing).toEqual([]);
  });

  it("answers every route × role × scope × credential as the rules say: no unauthorised read or write, no authorised one refused", async () => {
    const wrong: string[] = [];
    let cases = 0;
    let refused = 0;
    for (const rule of USER_ROUTES) {
      for (const role of ROLES) {
        for (const scope of ["in", "out"] as const) {
          for (const via of ["cookie", "bearer", "none"] as const) {
            const c: Case = { rule, role, scope, via };
            const want = expected(c);
            const fire = await prepare(c);
            const before = await auditCount();
            const reply = await fire();
            const after = await auditCount();
            cases++;
            const label = `${rule.method} ${rule.path} as ${role} (${scope} of scope, ${via})`;
            const ok = want.status === "2xx" ? reply.status >= 200 && reply.status < 300 : reply.status === want.status;
            if (!ok) wrong.push(`${label}: ${reply.status}, expected ${want.status}: ${reply.text.slice(0, 200)}`);
            // a page's refusal is a page: HTML, or the sign-in page for a browser without a session
            if (rule.page && (reply.status === 403 || reply.status === 404) && reply.headers["content-type"] !== "text/html; charset=utf-8") wrong.push(`${label}: refused with ${String(reply.headers["content-type"])}, not a page`);
            if (rule.page && rule.credentials !== "none" && via === "none" && !String(reply.headers["location"] ?? "").startsWith("/ui/login")) wrong.push(`${label}: not sent to the sign-in page`);
            if (rule.page && !reply.headers["content-security-policy"]) wrong.push(`${label}: a page without its CSP`);
            if (want.status !== "2xx" && !want.done) {
              refused++;
              if (after !== before) wrong.push(`${label}: refused, but the audit log grew`);
              continue;
            }
            if (want.shows && !reply.text.includes(want.shows)) wrong.push(`${label}: the answer lacks ${want.shows}`);
            if (want.hides && reply.text.includes(want.hides)) wrong.push(`${label}: the answer shows ${want.hides}, out of scope`);
            if (rule.audited && after <= before) wrong.push(`${label}: done, but not in the audit log`);
            if (!rule.audited && after !== before) wrong.push(`${label}: a read wrote to the audit log`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    // every route was sent as every role, in and out of scope, three ways
    expect(cases).toBe(USER_ROUTES.length * ROLES.length * 2 * 3);
    expect(refused).toBeGreaterThan(cases / 3);
    console.log(`access matrix: ${cases} requests over ${USER_ROUTES.length} routes, ${refused} refused as the rules say, 0 wrong`);
  }, 600_000);

  it("keeps no password and no token in the audit log", async () => {
    const dump = JSON.stringify((await pool.query("SELECT * FROM hub_audit")).rows);
    expect(dump).not.toContain(PASSWORD);
    expect(dump).not.toMatch(/cvh_[A-Za-z0-9_-]{43}/);
    expect(dump).toContain('"actor":"matrix-administrator"');
  });
});
