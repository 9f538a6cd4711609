// People on the hub, against real PostgreSQL over real HTTPS: the session cookie's flags, its
// rotation at login, logout, the idle and absolute timeouts; CSRF (a token tied to the session,
// in a header or a form field; other sites refused by Origin and Sec-Fetch-Site); API tokens
// (hashed, expiring, revocable, ended with their user); login throttling by name and address
// (429 with Retry-After), and failed logins that do not say whether the user exists; the audit
// log written for each change and refusing to be altered; every served route declared.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Pool } from "pg";
import { startHub, type RunningHub } from "../../src/hub/serve.js";
import { buildHubApp, servedRoutes } from "../../src/hub/server/app.js";
import { HOST_ROUTES, USER_ROUTES } from "../../src/hub/auth/rules.js";
import { createUser, makeApiToken } from "../../src/hub/auth/users.js";
import { hashPassword } from "../../src/hub/auth/passwords.js";
import { forgetEndedSessions } from "../../src/hub/auth/sessions.js";
import { NAME_LIMIT, ADDRESS_LIMIT } from "../../src/hub/auth/throttle.js";
import { freshDatabase, type TestDatabase } from "./helpers/pg.js";
import { testCertificate, type TestCert } from "./helpers/certs.js";
import { api, login, sessionCookieOf, type ApiRequest } from "./helpers/api-client.js";
import { readFileSync } from "node:fs";
import { testHubConfig } from "./helpers/config.js";

const PASSWORD = "a long enough passphrase";
let cert: TestCert;
let db: TestDatabase;
let hub: RunningHub;
let pool: Pool;
const logged: string[] = [];

beforeAll(async () => {
  cert = await testCertificate();
});

beforeEach(async () => {
  db = await freshDatabase();
  hub = await startHub(testHubConfig(cert, db.url, { database: { url: db.url, poolSize: 4 }, clockToleranceMs: 120_000 }), (l) => logged.push(l));
  pool = hub.pool;
  await createUser(pool, { name: "alice", password: PASSWORD, grants: [{ role: "administrator" }] }, "test");
});

afterEach(async () => {
  await hub.close();
  await db.drop();
});

const call = (r: ApiRequest) => api(hub.url, cert.certPem, r);
const count = async (sql: string, args: unknown[] = []) => Number((await pool.query<{ n: string }>(sql, args)).rows[0]!.n);

describe("creating users", () => {
  it("answers 409, never 500, to creations of one name at once", async () => {
    // another creation of bob, not yet committed: this one finds no bob, then waits on its insert
    const other = await pool.connect();
    try {
      await other.query("BEGIN");
      await other.query("INSERT INTO hub_users (name, password_hash, created_by) VALUES ('bob', 'x', 'test')");
      const made = createUser(pool, { name: "bob", password: PASSWORD, grants: [{ role: "auditor" }] }, "test").catch((err: unknown) => err);
      while (!(await count("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))) await new Promise((r) => setTimeout(r, 20));
      await other.query("COMMIT");
      expect(await made).toMatchObject({ status: 409, message: "a user named bob exists already" });
    } finally {
      other.release();
    }
    expect(await count("SELECT count(*) AS n FROM hub_users WHERE name = 'bob'")).toBe(1);
  });
});

describe("sessions", () => {
  it("sets a __Host- cookie that is Secure, HttpOnly, SameSite=Strict, Path=/ and keeps only its hash", async () => {
    const r = await call({ method: "POST", path: "/api/login", json: { user: "alice", password: PASSWORD } });
    expect(r.status).toBe(200);
    const set = String(r.headers["set-cookie"]);
    expect(set).toMatch(/^__Host-covenant_session=[A-Za-z0-9_-]{43}; /);
    for (const flag of ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"]) expect(set).toContain(flag);
    expect(set).not.toMatch(/domain=/i);
    const id = sessionCookieOf(r)!.split("=")[1]!;
    const stored = JSON.stringify((await pool.query("SELECT encode(id_hash, 'hex') AS h, * FROM hub_sessions")).rows);
    expect(stored).not.toContain(id);
    expect(stored).not.toContain(Buffer.from(id, "base64url").toString("hex"));
    const life = (await pool.query<{ s: number }>("SELECT extract(epoch FROM expires_at - created_at)::int AS s FROM hub_sessions")).rows[0]!.s;
    expect(life).toBe(12 * 3600);
    expect(r.text).not.toContain(PASSWORD);
  });

  it("makes a new session at each login and ends the one the browser held", async () => {
    const first = await login(hub.url, cert.certPem, "alice", PASSWORD);
    const again = await call({ method: "POST", path: "/api/login", json: { user: "alice", password: PASSWORD }, cookie: first.cookie });
    const second = sessionCookieOf(again)!;
    expect(second).not.toBe(first.cookie);
    expect((await call({ method: "GET", path: "/api/me", cookie: first.cookie })).status).toBe(401);
    expect((await call({ method: "GET", path: "/api/me", cookie: second })).body).toMatchObject({ user: "alice", via: "session" });
    expect(await count("SELECT count(*) AS n FROM hub_sessions")).toBe(1);
  });

  it("ends the session at logout, clearing the cookie", async () => {
    const s = await login(hub.url, cert.certPem, "alice", PASSWORD);
    const out = await call({ method: "POST", path: "/api/logout", cookie: s.cookie, csrf: s.csrf });
    expect(out.status).toBe(200);
    expect(String(out.headers["set-cookie"])).toMatch(/^__Host-covenant_session=; .*Max-Age=0/);
    expect((await call({ method: "GET", path: "/api/me", cookie: s.cookie })).status).toBe(401);
    expect(await count("SELECT count(*) AS n FROM hub_sessions")).toBe(0);
  });

  it("ends a session unused for 30 minutes, and any session 12 hours after login; use keeps it alive", async () => {
    const idle = await login(hub.url, cert.certPem, "alice", PASSWORD);
    await pool.query("UPDATE hub_sessions SET last_seen_at = now() - interval '29 minutes'");
    expect((await call({ method: "GET", path: "/api/me", cookie: idle.cookie })).status).toBe(200);
    expect(await count("SELECT count(*) AS n FROM hub_sessions WHERE last_seen_at > now() - interval '1 minute'")).toBe(1);
    await pool.query("UPDATE hub_sessions SET last_seen_at = now() - interval '31 minutes'");
    expect((await call({ method: "GET", path: "/api/me", cookie: idle.cookie })).status).toBe(401);
    expect(await count("SELECT count(*) AS n FROM hub_sessions")).toBe(0);
    const old = await login(hub.url, cert.certPem, "alice", PASSWORD);
    // made 12 hours ago and used all along
    await pool.query("UPDATE hub_sessions SET created_at = now() - interval '12 hours', expires_at = now() - interval '1 second', last_seen_at = now()");
    expect((await call({ method: "GET", path: "/api/me", cookie: old.cookie })).status).toBe(401);
    // ended sessions never presented again are removed too
    await login(hub.url, cert.certPem, "alice", PASSWORD);
    await login(hub.url, cert.certPem, "alice", PASSWORD);
    await pool.query("UPDATE hub_sessions SET last_seen_at = now() - interval '31 minutes' WHERE id_hash = (SELECT id_hash FROM hub_sessions LIMIT 1)");
    await forgetEndedSessions(pool);
    expect(await count("SELECT count(*) AS n FROM hub_sessions")).toBe(1);
  });

  it("trusts no cookie it did not make: a malformed one, two of the name, another name", async () => {
    const s = await login(hub.url, cert.certPem, "alice", PASSWORD);
    expect((await call({ method: "GET", path: "/api/me", cookie: `${s.cookie}; ${s.cookie.replace(/=.*/, "=")}${"A".repeat(43)}` })).status).toBe(401);
    expect((await call({ method: "GET", path: "/api/me", cookie: s.cookie.replace("__Host-", "") })).status).toBe(401);
    expect((await call({ method: "GET", path: "/api/me", cookie: `${s.cookie}x` })).status).toBe(401);
    expect((await call({ method: "GET", path: "/api/me", cookie: `theme=dark; ${s.cookie}` })).status).toBe(200);
  });

  it("ends a disabled user's sessions and stops their API tokens", async () => {
    await createUser(pool, { name: "bob", password: PASSWORD, grants: [{ role: "auditor" }] }, "test");
    const bob = await login(hub.url, cert.certPem, "bob", PASSWORD);
    const { token } = await makeApiToken(pool, "bob", "ci", null, "test");
    expect((await call({ method: "GET", path: "/api/hosts", bearer: token })).status).toBe(200);
    const admin = await login(hub.url, cert.certPem, "alice", PASSWORD);
    expect((await call({ method: "POST", path: "/api/users/bob/disable", json: { reason: "left" }, cookie: admin.cookie, csrf: admin.csrf })).status).toBe(200);
    expect((await call({ method: "GET", path: "/api/me", cookie: bob.cookie })).status).toBe(401);
    expect((await call({ method: "GET", path: "/api/hosts", bearer: token })).status).toBe(401);
    const relog = await call({ method: "POST", path: "/api/login", json: { user: "bob", password: PASSWORD } });
    expect(relog).toMatchObject({ status: 401, body: { message: "the user name or the password is wrong" } });
  });

  it("refuses to disable the last administrator or take the last administrator grant", async () => {
    const admin = await login(hub.url, cert.certPem, "alice", PASSWORD);
    const auth = { cookie: admin.cookie, csrf: admin.csrf };
    expect((await call({ method: "POST", path: "/api/users/alice/disable", json: { reason: "oops" }, ...auth })).status).toBe(409);
    const grant = (await call({ method: "GET", path: "/api/me", cookie: admin.cookie })).body["grants"] as { id: number }[];
    expect((await call({ method: "DELETE", path: `/api/users/alice/grants/${grant[0]!.id}`, ...auth })).status).toBe(409);
  });
});

describe("API tokens", () => {
  it("are shown once, kept hashed, expire, are revoked, and need no CSRF token", async () => {
    const s = await login(hub.url, cert.certPem, "alice", PASSWORD);
    const made = await call({ method: "POST", path: "/api/tokens", json: { name: "deploy", validFor: "1h" }, cookie: s.cookie, csrf: s.csrf });
    expect(made.status).toBe(201);
    const token = String(made.body["token"]);
    expect(token).toMatch(/^cvh_[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify((await pool.query("SELECT * FROM hub_api_tokens")).rows)).not.toContain(token.slice(4));
    const listed = await call({ method: "GET", path: "/api/tokens", bearer: token });
    expect(listed.text).toContain("deploy");
    expect(listed.text).not.toContain(token);
    // a write by token needs no CSRF token: it is not sent by a browser on its own
    const created = await call({ method: "POST", path: "/api/users", json: { name: "carol", password: PASSWORD, grants: [{ role: "auditor" }] }, bearer: token });
    expect(created.status).toBe(201);
    expect(created.text).not.toContain(PASSWORD);
    // a token cannot make tokens (it would outlive itself)
    expect((await call({ method: "POST", path: "/api/tokens", json: { name: "x" }, bearer: token })).status).toBe(403);
    await pool.query("UPDATE hub_api_tokens SET expires_at = now() - interval '1 second'");
    expect((await call({ method: "GET", path: "/api/me", bearer: token })).status).toBe(401);
    await pool.query("UPDATE hub_api_tokens SET expires_at = NULL");
    expect((await call({ method: "GET", path: "/api/me", bearer: token })).status).toBe(200);
    expect((await call({ method: "DELETE", path: `/api/tokens/${String(made.body["id"])}`, bearer: token })).status).toBe(200);
    const after = await call({ method: "GET", path: "/api/me", bearer: token });
    expect(after.status).toBe(401);
    expect(after.headers["www-authenticate"]).toContain("Bearer");
    // a malformed or unknown token never falls back to the cookie
    expect((await call({ method: "GET", path: "/api/me", bearer: "cvh_nope", cookie: s.cookie })).status).toBe(401);
  });
});

describe("CSRF", () => {
  it("refuses a write by cookie without the session's token, with another session's, or from another site", async () => {
    const s = await login(hub.url, cert.certPem, "alice", PASSWORD);
    const other = await login(hub.url, cert.certPem, "alice", PASSWORD);
    const body = { name: "dave", password: PASSWORD, grants: [{ role: "auditor" }] };
    const write = (extra: Partial<ApiRequest>) => call({ method: "POST", path: "/api/users", json: body, cookie: s.cookie, ...extra });
    expect((await write({})).status).toBe(403);
    expect((await write({ csrf: "x".repeat(43) })).status).toBe(403);
    expect((await write({ csrf: other.csrf })).status).toBe(403);
    expect((await write({ csrf: s.csrf, headers: { origin: "https://evil.example" } })).status).toBe(403);
    expect((await write({ csrf: s.csrf, headers: { "sec-fetch-site": "cross-site" } })).status).toBe(403);
    expect((await write({ csrf: s.csrf, headers: { "sec-fetch-site": "same-site" } })).status).toBe(403);
    expect(await count("SELECT count(*) AS n FROM hub_users WHERE name = 'dave'")).toBe(0);
    const origin = new URL(hub.url).origin;
    expect((await write({ csrf: s.csrf, headers: { origin, "sec-fetch-site": "same-origin" } })).status).toBe(201);
  });

  it("takes the token from a form's _csrf field, and refuses a login posted from another site", async () => {
    const s = await login(hub.url, cert.certPem, "alice", PASSWORD);
    expect((await call({ method: "POST", path: "/api/logout", form: { _csrf: "wrong" }, cookie: s.cookie })).status).toBe(403);
    expect((await call({ method: "POST", path: "/api/logout", form: { _csrf: s.csrf }, cookie: s.cookie })).status).toBe(200);
    const cross = await call({ method: "POST", path: "/api/login", json: { user: "alice", password: PASSWORD }, headers: { origin: "https://evil.example" } });
    expect(cross.status).toBe(403);
    expect(sessionCookieOf(cross)).toBeUndefined();
  });
});

describe("login throttling", () => {
  const attempt = (user: string, password: string) => call({ method: "POST", path: "/api/login", json: { user, password } });

  it(`waits after ${NAME_LIMIT} failures for a name (429, Retry-After), even with the right password; a success before resets the count`, async () => {
    for (let i = 0; i < NAME_LIMIT - 1; i++) expect((await attempt("alice", `wrong password ${i}`)).status).toBe(401);
    expect((await attempt("alice", PASSWORD)).status).toBe(200);
    for (let i = 0; i < NAME_LIMIT; i++) expect((await attempt("alice", `wrong password ${i}`)).status).toBe(401);
    const held = await attempt("alice", PASSWORD);
    expect(held.status).toBe(429);
    expect(Number(held.headers["retry-after"])).toBeGreaterThan(20);
    expect(Number(held.headers["retry-after"])).toBeLessThanOrEqual(30);
    expect(sessionCookieOf(held)).toBeUndefined();
    // the throttled attempt was not counted; once the wait is over, the right password works
    expect(await count("SELECT count(*) AS n FROM hub_login_attempts WHERE user_name = 'alice' AND NOT ok")).toBe(2 * NAME_LIMIT - 1);
    await pool.query("UPDATE hub_login_attempts SET at = at - interval '31 seconds'");
    expect((await attempt("alice", PASSWORD)).status).toBe(200);
  });

  it("doubles the wait with each failure after the limit, up to 15 minutes", async () => {
    for (let i = 0; i < NAME_LIMIT; i++) await attempt("alice", "wrong");
    for (const wait of [30, 60, 120]) {
      expect(Number((await attempt("alice", "wrong")).headers["retry-after"])).toBeGreaterThan(wait - 10);
      await pool.query("UPDATE hub_login_attempts SET at = at - make_interval(secs => $1)", [wait + 1]);
      expect((await attempt("alice", "wrong")).status).toBe(401);
    }
    await pool.query("INSERT INTO hub_login_attempts (user_name, address, ok) SELECT 'alice', '10.0.0.9', false FROM generate_series(1, 30)");
    expect(Number((await attempt("alice", "wrong")).headers["retry-after"])).toBe(900);
  });

  it(`throttles an address after ${ADDRESS_LIMIT} failures whatever the names`, async () => {
    await pool.query("INSERT INTO hub_login_attempts (user_name, address, ok) SELECT 'n' || i, '127.0.0.1', false FROM generate_series(1, $1) i", [ADDRESS_LIMIT]);
    expect((await attempt("alice", PASSWORD)).status).toBe(429);
    await pool.query("UPDATE hub_login_attempts SET at = at - interval '16 minutes'");
    expect((await attempt("alice", PASSWORD)).status).toBe(200);
  });

  it("answers an unknown user as a wrong password, after the same scrypt work, and throttles unknown names alike", async () => {
    const timed = async (user: string) => {
      const t = performance.now();
      const r = await attempt(user, "not the password at all");
      return { r, ms: performance.now() - t };
    };
    const known = [];
    const unknown = [];
    for (let i = 0; i < 3; i++) {
      known.push(await timed("alice"));
      unknown.push(await timed(`nobody${i}`));
    }
    for (const x of [...known, ...unknown]) expect(x.r).toMatchObject({ status: 401, body: { status: "error", message: "the user name or the password is wrong" } });
    const median = (xs: { ms: number }[]) => xs.map((x) => x.ms).sort((a, b) => a - b)[1]!;
    // an unknown name costs a scrypt too: not a fraction of a known one's time
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.4);
    for (let i = 0; i < NAME_LIMIT; i++) await attempt("ghost", "x");
    expect((await attempt("ghost", "x")).status).toBe(429);
    expect(logged.join("\n")).not.toContain("not the password at all");
  });
});

describe("passwords", () => {
  it("are stored as scrypt N=2^15 r=8 p=1 with a 16-byte salt; a hash with weaker parameters still logs in and is replaced", async () => {
    const stored = (await pool.query<{ password_hash: string }>("SELECT password_hash FROM hub_users WHERE name = 'alice'")).rows[0]!.password_hash;
    const [alg, n, r, p, salt, key] = stored.split("$");
    expect([alg, n, r, p]).toEqual(["scrypt", "32768", "8", "1"]);
    expect(Buffer.from(salt!, "base64").length).toBe(16);
    expect(Buffer.from(key!, "base64").length).toBe(32);
    expect(stored).not.toContain(PASSWORD);
    await pool.query("UPDATE hub_users SET password_hash = $1 WHERE name = 'alice'", [await hashPassword(PASSWORD, { N: 2 ** 14, r: 8, p: 1 })]);
    expect((await call({ method: "POST", path: "/api/login", json: { user: "alice", password: PASSWORD } })).status).toBe(200);
    expect((await pool.query<{ password_hash: string }>("SELECT password_hash FROM hub_users WHERE name = 'alice'")).rows[0]!.password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
  });

  it("refuses a password shorter than 12 characters, without echoing it", async () => {
    const s = await login(hub.url, cert.certPem, "alice", PASSWORD);
    const r = await call({ method: "POST", path: "/api/users", json: { name: "erin", password: "short-pw-11" }, cookie: s.cookie, csrf: s.csrf });
    expect(r).toMatchObject({ status: 400, body: { message: "a password must have at least 12 characters" } });
    expect(r.text).not.toContain("short-pw-11");
  });
});

describe("the hub's audit log", () => {
  it("gets an entry for each change, by the user's name, and refuses UPDATE, DELETE and TRUNCATE", async () => {
    const s = await login(hub.url, cert.certPem, "alice", PASSWORD);
    const auth = { cookie: s.cookie, csrf: s.csrf };
    await call({ method: "POST", path: "/api/users", json: { name: "frank", password: PASSWORD, grants: [{ role: "operations", scope: "group:web" }] }, ...auth });
    await call({ method: "POST", path: "/api/users/frank/grants", json: { role: "auditor" }, ...auth });
    await call({ method: "PUT", path: "/api/controls/ITGC-AC-01/owner", json: { owner: "security" }, ...auth });
    const exported = await call({ method: "GET", path: "/api/audit/export", cookie: s.cookie });
    expect(exported.headers["content-type"]).toContain("text/csv");
    const actions = (await pool.query<{ actor: string; action: string; object: string }>("SELECT actor, action, object FROM hub_audit ORDER BY id")).rows;
    expect(actions.filter((a) => a.actor === "alice").map((a) => `${a.action} ${a.object ?? ""}`.trim())).toEqual(["login user:alice", "user.create user:frank", "user.grant user:frank", "control.set-owner control:ITGC-AC-01", "audit.export"]);
    expect(exported.text).toContain("user.grant,user:frank");
    const page = await call({ method: "GET", path: "/api/audit?size=2", cookie: s.cookie });
    expect((page.body["entries"] as unknown[]).length).toBe(2);
    expect(String(page.body["next"])).toMatch(/^\/api\/audit\?before=\d+&size=2$/);
    for (const sql of ["UPDATE hub_audit SET actor = 'mallory'", "DELETE FROM hub_audit", "TRUNCATE hub_audit"]) await expect(pool.query(sql)).rejects.toThrow(/append-only/);
    expect(JSON.stringify(actions)).not.toContain(PASSWORD);
  });
});

describe("bad input", () => {
  it("answers malformed requests with a clear status and message, changing nothing", async () => {
    const s = await login(hub.url, cert.certPem, "alice", PASSWORD);
    const auth = { cookie: s.cookie, csrf: s.csrf };
    const before = await count("SELECT count(*) AS n FROM hub_audit");
    const cases: [ApiRequest, number, string][] = [
      [{ method: "GET", path: "/api/hosts/not-a-host-id", cookie: s.cookie }, 404, "not found"],
      [{ method: "POST", path: "/api/incidents/99999999999999999999/resolve", json: { reason: "x" }, ...auth }, 404, "not found"],
      [{ method: "GET", path: "/api/controls/..%2Fetc", cookie: s.cookie }, 404, "not found"],
      [{ method: "GET", path: "/api/audit?before=-1", cookie: s.cookie }, 400, "before is an entry's id"],
      [{ method: "GET", path: "/api/audit/export?from=yesterday", cookie: s.cookie }, 400, "from is a date or time (ISO 8601)"],
      [{ method: "POST", path: "/api/users", json: [1, 2], ...auth }, 400, "the body is not a JSON object"],
      [{ method: "POST", path: "/api/users", json: { name: "Not Valid!", password: PASSWORD }, ...auth }, 400, "a user name is 1 to 64"],
      [{ method: "POST", path: "/api/users/alice/grants", json: { role: "owner", scope: "group:web" }, ...auth }, 400, "the owner role's scope is control:NAME or owner:NAME"],
      [{ method: "POST", path: "/api/users/alice/grants", json: { role: "administrator" }, ...auth }, 409, "alice holds administrator already"],
      [{ method: "POST", path: "/api/login", json: { user: "alice" } }, 400, "give user and password"],
      [{ method: "POST", path: "/api/tokens", json: { name: "t", validFor: "forever" }, ...auth }, 400, "validFor is a duration"],
      [{ method: "PUT", path: "/api/controls/ITGC-1/owner", json: { owner: "" }, ...auth }, 400, "owner is an owner's name"],
      [{ method: "POST", path: "/api/users", headers: { "content-type": "text/plain" }, ...auth }, 415, "application/json"],
      [{ method: "GET", path: "/api/nothing-here", cookie: s.cookie }, 404, "no such endpoint"],
    ];
    for (const [req, status, message] of cases) {
      const r = await call(req);
      expect(r.status, `${req.method} ${req.path}`).toBe(status);
      expect(String(r.body["message"]), `${req.method} ${req.path}`).toContain(message);
    }
    const big = await call({ method: "POST", path: "/api/users", json: { name: "x", password: "y".repeat(70_000) }, ...auth });
    expect(big.status).toBe(413);
    expect(await count("SELECT count(*) AS n FROM hub_audit")).toBe(before);
    expect(logged.filter((l) => l.includes("internal error"))).toEqual([]);
  });
});

describe("every served route is declared", () => {
  it("serves each declared route, and refuses to add one without an access rule", async () => {
    const app = buildHubApp({ pool, https: { cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, clockToleranceMs: 1000, key: hub.key, approvalRequired: true, log: () => undefined });
    await app.ready();
    for (const r of [...USER_ROUTES, ...HOST_ROUTES]) expect(app.hasRoute({ method: r.method, url: r.path }), `${r.method} ${r.path}`).toBe(true);
    // every route the app was given (fastify's HEAD twins of GETs aside) is declared, and nothing else
    const served = servedRoutes(app).filter((r) => !r.startsWith("HEAD "));
    expect(servedRoutes(app).filter((r) => r.startsWith("HEAD ")).length).toBe(served.filter((r) => r.startsWith("GET ")).length);
    expect([...served].sort()).toEqual([...USER_ROUTES, ...HOST_ROUTES].map((r) => `${r.method} ${r.path}`).sort());
    await app.close();
    const again = buildHubApp({ pool, https: { cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, clockToleranceMs: 1000, key: hub.key, approvalRequired: true, log: () => undefined });
    expect(() => again.get("/api/secret", async () => "everything")).toThrow(/has no access rule/);
    await again.close();
  });
});
