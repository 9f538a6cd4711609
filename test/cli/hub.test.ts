// `covenant hub serve|token|hosts|revoke` as run: the built CLI against real PostgreSQL and a
// served hub over HTTPS; configuration errors named with the file; the token printed once and
// never again; SIGTERM stopping the server cleanly.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { bin, covenant, covenantAsync, ensureBuilt } from "../helpers/cli.ts";
import { freshDatabase, type TestDatabase } from "../hub/helpers/pg.ts";
import { testCertificate, type TestCert } from "../hub/helpers/certs.ts";
import { SyntheticHost } from "../hub/helpers/synthetic-host.ts";

let db: TestDatabase;
let cert: TestCert;
let dir: string;
let config: string;

beforeAll(async () => {
  ensureBuilt();
  db = await freshDatabase();
  cert = await testCertificate();
  dir = mkdtempSync(join(tmpdir(), "hub-cli-"));
  config = join(dir, "hub.yaml");
  writeFileSync(config, `listen: { host: 127.0.0.1, port: 0 }\ntls: { cert: ${cert.cert}, key: ${cert.key} }\ndatabase: { url: "${db.url}" }\nclockTolerance: 90s\n`);
});

afterAll(async () => {
  await db.drop();
});

function serve(cfg: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["hub", "serve", "--config", cfg], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /serving (https:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.on("exit", (code) => reject(new Error(`hub serve exited with ${code}: ${out}`)));
  });
}

describe("covenant hub", () => {
  it("serves, enrols a host with a token made by `hub token`, lists and revokes it, and stops on SIGTERM", async () => {
    const cfg = join(dir, "serve.yaml");
    writeFileSync(cfg, `listen: { host: 127.0.0.1, port: 0 }\ntls: { cert: ${cert.cert}, key: ${cert.key} }\ndatabase: { url: "${db.url}" }\n`);
    const { child, url } = await serve(cfg);
    try {
      const made = covenant(["hub", "token", "--config", cfg, "--group", "payments", "--valid", "2h"]);
      expect(made.code).toBe(0);
      const token = made.out.trim();
      expect(token).toMatch(/^cvt_[A-Za-z0-9_-]{43}$/);
      expect(made.err).toContain("for group payments");
      const host = new SyntheticHost("db-07");
      expect((await host.enroll(url, cert.certPem, token)).status).toBe(201);
      host.grow(3);
      expect((await host.push(url, cert.certPem, 0, 3)).status).toBe(200);
      const listed = covenant(["hub", "hosts", "--config", cfg]);
      expect(listed.code).toBe(0);
      expect(listed.out).toMatch(/db-07\s+\S+\s+payments\s+3\s/);
      const json = JSON.parse(covenant(["hub", "hosts", "--config", cfg, "--json"]).out) as { name: string; lastSeq: number }[];
      expect(json).toMatchObject([{ name: "db-07", lastSeq: 3 }]);
      expect(covenant(["hub", "revoke", "db-07", "--config", cfg]).code).toBe(2);
      const revoked = covenant(["hub", "revoke", "db-07", "--config", cfg, "--reason", "decommissioned"]);
      expect(revoked).toMatchObject({ code: 0 });
      expect(revoked.out).toContain("revoked db-07");
      expect((await host.push(url, cert.certPem, 0, 3)).status).toBe(403);
      expect(covenant(["hub", "hosts", "--config", cfg]).out).toContain("revoked");
    } finally {
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  });

  it("changes the schema only in `hub migrate` and `hub serve`: an admin command against an older one says to migrate", async () => {
    const fresh = await freshDatabase();
    try {
      const cfg = join(dir, "fresh.yaml");
      writeFileSync(cfg, `tls: { cert: a.pem, key: a.key }\ndatabase: { url: "${fresh.url}" }\n`);
      const tables = async () => {
        const c = new pg.Client({ connectionString: fresh.url });
        await c.connect();
        try {
          return Number((await c.query<{ n: string }>("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")).rows[0]!.n);
        } finally {
          await c.end();
        }
      };
      for (const args of [["hosts"], ["incidents"], ["token"], ["user", "list"]]) {
        const r = covenant(["hub", ...args, "--config", cfg]);
        expect(r, args.join(" ")).toMatchObject({ code: 2, err: expect.stringContaining("the database's hub schema is not made yet, older than this hub's") });
        expect(r.err).toContain("run `covenant hub migrate` (or start `covenant hub serve`) first");
      }
      expect(await tables()).toBe(0);
      const first = covenant(["hub", "migrate", "--config", cfg]);
      expect(first).toMatchObject({ code: 0, out: expect.stringMatching(/^covenant hub: schema migrated: 1(, \d+)*/) });
      expect(covenant(["hub", "migrate", "--config", cfg])).toMatchObject({ code: 0, out: expect.stringContaining("schema up to date") });
      expect(covenant(["hub", "hosts", "--config", cfg, "--json"])).toMatchObject({ code: 0, out: "[]\n" });
    } finally {
      await fresh.drop();
    }
  });

  it("names the file and the setting of a configuration it cannot use, and never prints a password", async () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "listen: { port: 99999 }\ntls: { cert: a.pem, key: a.key }\ndatabase: { url: x }\n");
    expect(covenant(["hub", "serve", "--config", bad])).toMatchObject({ code: 2, err: expect.stringContaining(`${bad}: listen.port must be a port number`) });
    writeFileSync(bad, "tls: { cert: a.pem, key: a.key }\ndatabase: { url: \"postgres://u:s3cret@127.0.0.1:5432/x\" }\n");
    const r = covenant(["hub", "token", "--config", bad]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("must not hold a password");
    expect(r.err + r.out).not.toContain("s3cret");
    writeFileSync(bad, "tls: { cert: a.pem, key: a.key }\ndatabase: { url: \"postgres://postgres@127.0.0.1:1/none\" }\n");
    const down = await covenantAsync(["hub", "hosts", "--config", bad], { env: { PGPASSWORD: "hunter2-secret" } });
    expect(down.code).toBe(2);
    expect(down.err).toContain("cannot use the database postgres://postgres@127.0.0.1:1/none");
    expect(down.err).not.toContain("hunter2");
    writeFileSync(bad, "tls: { cert: a.pem, key: a.key }\ndatabase: { url: x }\nlisten: {}\nretention: 7y\n");
    expect(covenant(["hub", "serve", "--config", bad]).err).toContain('unknown setting "retention"');
  });

  it("does not start with a covenant.yaml (`notify:`) it cannot use: each problem on a line of its own, with its place", () => {
    const notify = join(dir, "covenant.yaml");
    writeFileSync(notify, "version: 1\nstakeholders: {}\nchanels: {}\nroute: { receivers: [nobody], group_wait: soon }\n", { mode: 0o600 });
    const cfg = join(dir, "notify.yaml");
    writeFileSync(cfg, `listen: { host: 127.0.0.1, port: 0 }\ntls: { cert: ${cert.cert}, key: ${cert.key} }\ndatabase: { url: "${db.url}" }\nnotify: covenant.yaml\n`);
    const r = covenant(["hub", "serve", "--config", cfg]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`cannot start: notify: ${notify} has`);
    expect(r.err).toMatch(new RegExp(`\\n  ${notify.replace(/[.]/g, "\\.")}:3:1: E302: `));
    expect(r.out).not.toContain("serving");
  });

  it("refuses a token valid for no time", () => {
    expect(covenant(["hub", "token", "--config", config, "--valid", "soon"])).toMatchObject({ code: 2, err: expect.stringContaining("is not a duration") });
  });
});
