// `covenant hub publish|approve|reject` as run: the built CLI with an author's and an approver's
// API tokens, over HTTPS to a hub on real PostgreSQL; errors printed as `check` prints them; the
// author unable to approve their own version; the approved version then served to hosts.
import { mkdtempSync, writeFileSync, cpSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenantAsync, ensureBuilt } from "../helpers/cli.ts";
import { createUser, makeApiToken } from "../../src/hub/auth/users.js";
import { startHub, type RunningHub } from "../../src/hub/serve.js";
import { listVersions } from "../../src/hub/policy/versions.js";
import { testHubConfig } from "../hub/helpers/config.js";
import { freshDatabase, type TestDatabase } from "../hub/helpers/pg.js";
import { testCertificate, type TestCert } from "../hub/helpers/certs.js";

let db: TestDatabase;
let cert: TestCert;
let hub: RunningHub;
let dir: string;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  ensureBuilt();
  cert = await testCertificate();
  db = await freshDatabase();
  hub = await startHub(testHubConfig(cert, db.url), () => undefined);
  dir = mkdtempSync(join(tmpdir(), "hub-policy-cli-"));
  for (const [name, role] of [["alice", "author"], ["bob", "approver"]] as const) {
    await createUser(hub.pool, { name, password: "correct horse battery staple", grants: [{ role }] }, "test");
    const file = join(dir, `${name}.token`);
    writeFileSync(file, (await makeApiToken(hub.pool, name, "cli", 3600_000, "test")).token, { mode: 0o600 });
    chmodSync(file, 0o600);
    tokens[name] = file;
  }
}, 120_000);

afterAll(async () => {
  await hub?.close();
  await db?.drop();
});

const remote = (who: string) => ["--hub", hub.url, "--ca", cert.cert, "--token-file", tokens[who]!];

describe("covenant hub publish, approve, reject", () => {
  it("prints every error of a policy that does not check, as check does, and publishes nothing", async () => {
    const bad = join(dir, "bad");
    cpSync("examples/sox", bad, { recursive: true });
    writeFileSync(join(bad, "ledger.promise"), 'control "X-1" {\n  file "/etc/x" { mode = 0999 }\n}\n');
    const r = await covenantAsync(["hub", "publish", bad, "--message", "try", ...remote("alice")]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^ledger\.promise:\d+:\d+: error E\d+: /m);
    expect(r.err).toContain("nothing was published");
    expect(await listVersions(hub.pool)).toEqual([]);
  });

  it("publishes as the author, refuses the author's own approval, and takes the approver's", async () => {
    const r = await covenantAsync(["hub", "publish", "examples/sox", "--message", "CHG-7 quarterly review", ...remote("alice")]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.out).toMatch(/published policy version (\d+) \(4 files, content [0-9a-f]{12}\): waiting for another person's approval/);
    const id = /version (\d+)/.exec(r.out)![1]!;
    const own = await covenantAsync(["hub", "approve", id, ...remote("alice")]);
    expect(own.code).toBe(5);
    expect(own.err).toContain("403");
    const approved = await covenantAsync(["hub", "approve", id, "--reason", "CAB 12", ...remote("bob")]);
    expect(approved).toMatchObject({ code: 0, out: expect.stringContaining(`policy version ${id} approved`) });
    expect(await listVersions(hub.pool)).toMatchObject([{ id: Number(id), status: "approved", author: "alice", decidedBy: "bob", current: true }]);
    const again = await covenantAsync(["hub", "reject", id, "--reason", "late", ...remote("bob")]);
    expect(again.code).toBe(5);
    expect(again.err).toContain("approved already");
  });

  it("says so when no API token is given", async () => {
    const none = await covenantAsync(["hub", "publish", "examples/sox", "--message", "m", "--hub", hub.url, "--ca", cert.cert], { env: { COVENANT_HUB_TOKEN: "" } });
    expect(none.code).toBe(2);
    expect(none.err).toContain("give an API token");
  });
});
