// `covenant hub user ...` as run: the built CLI against real PostgreSQL. The first administrator
// made on the hub's machine, the password from a file or stdin and never from argv nor printed;
// grants checked against the role's scope; a token printed once that then works over HTTPS.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { bin, covenant, ensureBuilt } from "../helpers/cli.ts";
import { freshDatabase, type TestDatabase } from "../hub/helpers/pg.ts";
import { testCertificate } from "../hub/helpers/certs.ts";
import { startHub } from "../../src/hub/serve.ts";
import { api, login } from "../hub/helpers/api-client.ts";
import { testHubConfig } from "../hub/helpers/config.js";

const PASSWORD = "first admin passphrase";
let db: TestDatabase;
let dir: string;
let config: string;

beforeAll(async () => {
  ensureBuilt();
  db = await freshDatabase();
  dir = mkdtempSync(join(tmpdir(), "hub-users-"));
  config = join(dir, "hub.yaml");
  writeFileSync(config, `tls: { cert: a.pem, key: a.key }\ndatabase: { url: "${db.url}" }\n`);
  // a new installation: the schema is made before the first administrator
  expect(covenant(["hub", "migrate", "--config", config])).toMatchObject({ code: 0, out: expect.stringContaining("schema migrated: 1") });
});

afterAll(async () => {
  await db.drop();
});

function withStdin(args: string[], input: string) {
  const r = spawnSync(bin, args, { input, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("covenant hub user", () => {
  it("makes the first administrator from a password file, lists, grants, makes a token that works, and disables", async () => {
    const pw = join(dir, "alice.pw");
    writeFileSync(pw, `${PASSWORD}\n`, { mode: 0o600 });
    const add = covenant(["hub", "user", "add", "alice", "--grant", "administrator", "--display-name", "Alice A.", "--password-file", pw, "--config", config]);
    expect(add).toMatchObject({ code: 0, out: "made user alice (administrator)\n" });
    expect(add.out + add.err).not.toContain(PASSWORD);
    const bob = withStdin(["hub", "user", "add", "bob", "--grant", "operations=group:payments", "--config", config], "bob's long passphrase\n");
    expect(bob.code).toBe(0);
    expect(covenant(["hub", "user", "grant", "bob", "auditor", "--config", config])).toMatchObject({ code: 0, out: expect.stringMatching(/^granted bob auditor \(#\d+\)/) });
    const listed = covenant(["hub", "user", "list", "--config", config]);
    expect(listed.out).toMatch(/alice\s+Alice A\.\s+administrator \(#\d+\)\s+active/);
    expect(listed.out).toMatch(/bob\s+operations group:payments \(#\d+\), auditor \(#\d+\)\s+active/);
    const made = covenant(["hub", "user", "token", "bob", "--name", "ci", "--valid", "1d", "--config", config]);
    expect(made.code).toBe(0);
    const token = made.out.trim();
    expect(token).toMatch(/^cvh_[A-Za-z0-9_-]{43}$/);
    expect(made.err).toContain("shown once");

    const cert = await testCertificate();
    const hub = await startHub(testHubConfig(cert, db.url, { database: { url: db.url, poolSize: 2 }, clockToleranceMs: 60_000 }), () => undefined);
    try {
      expect((await api(hub.url, cert.certPem, { method: "GET", path: "/api/me", bearer: token })).body).toMatchObject({ user: "bob", via: "token" });
      const s = await login(hub.url, cert.certPem, "alice", PASSWORD);
      expect((await api(hub.url, cert.certPem, { method: "GET", path: "/api/users", cookie: s.cookie })).status).toBe(200);
      expect(covenant(["hub", "user", "disable", "bob", "--reason", "moved team", "--config", config]).code).toBe(0);
      expect((await api(hub.url, cert.certPem, { method: "GET", path: "/api/me", bearer: token })).status).toBe(401);
    } finally {
      await hub.close();
    }
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const audit = JSON.stringify((await c.query("SELECT actor, action, object, detail FROM hub_audit ORDER BY id")).rows);
      expect(audit).toContain('"action":"user.create","object":"user:alice"');
      expect(audit).toContain('"action":"user.disable"');
      expect(audit).not.toContain(PASSWORD);
      expect(audit).not.toContain(token);
    } finally {
      await c.end();
    }
  }, 60_000);

  it("refuses a short password, a grant without its scope, an unknown role, a readable password file, and a user twice", () => {
    expect(withStdin(["hub", "user", "add", "carol", "--grant", "auditor", "--config", config], "short-pw-11\n")).toMatchObject({ code: 2, err: expect.stringContaining("at least 12 characters") });
    expect(withStdin(["hub", "user", "add", "carol", "--grant", "operations", "--config", config], `${PASSWORD}\n`)).toMatchObject({ code: 2, err: expect.stringContaining("the operations role needs a scope: group:NAME") });
    expect(withStdin(["hub", "user", "add", "carol", "--grant", "root", "--config", config], `${PASSWORD}\n`)).toMatchObject({ code: 2, err: expect.stringContaining('unknown role "root"') });
    const open = join(dir, "open.pw");
    writeFileSync(open, PASSWORD, { mode: 0o644 });
    const r = covenant(["hub", "user", "add", "carol", "--password-file", open, "--config", config]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("group-readable");
    expect(r.err).not.toContain(PASSWORD);
    expect(withStdin(["hub", "user", "add", "alice", "--config", config], `${PASSWORD}\n`)).toMatchObject({ code: 2, err: expect.stringContaining("a user named alice exists already") });
    expect(covenant(["hub", "user", "disable", "nobody", "--reason", "x", "--config", config])).toMatchObject({ code: 2, err: expect.stringContaining("no user is named nobody") });
  });
});
