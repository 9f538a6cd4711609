// Attacks on what the dashboard and its JSON show people of a narrow role: a control owner reads
// a host only for its controls, so nothing of the page or of GET /api/hosts/:host may carry
// another control's figures (the host's last run counts every control's promises). Real
// PostgreSQL, real HTTPS, records pushed by synthetic hosts.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeEnrollToken } from "../../src/hub/admin.js";
import { startHub, type RunningHub } from "../../src/hub/serve.js";
import { policyBody } from "../../src/store/policies.js";
import { createUser } from "../../src/hub/auth/users.js";
import { testHubConfig } from "./helpers/config.js";
import { testCertificate, type TestCert } from "./helpers/certs.js";
import { freshDatabase, type TestDatabase } from "./helpers/pg.js";
import { SyntheticHost } from "./helpers/synthetic-host.js";
import { api, login } from "./helpers/api-client.js";

const sox = readdirSync("examples/sox").filter((f) => f.endsWith(".promise")).map((f) => ({ path: f, text: readFileSync(join("examples/sox", f), "utf8") }));
const PASSWORD = "correct horse battery staple";
const AC = "ITGC-AC-01"; // owned by security in examples/sox
const CM = "ITGC-CM-02"; // owned by compliance
const AC_KEY = `${AC}/connections:[5432,1433,1521]`;
const CM_KEY = `${CM}/file:\${ledger_dir}/*.dat`;

let cert: TestCert;
let db: TestDatabase;
let hub: RunningHub;
let host: SyntheticHost;

const mac = (n: number) => n.toString(16).padStart(64, "0");
function rec(h: SyntheticHost, kind: string, time: string, body: unknown): void {
  const seq = h.lines.length + 1;
  h.lines.push(JSON.stringify({ seq, kind, run: seq, time, body, mac: mac(seq) }));
}
const change = (key: string, control: string, to: string, reason: string) => ({ key, control, type: key.split("/")[1]!.split(":")[0], promiser: key.split(":").slice(1).join(":"), from: null, to, reason, differences: [], changes: [] });

beforeAll(async () => {
  cert = await testCertificate();
  db = await freshDatabase();
  hub = await startHub(testHubConfig(cert, db.url), () => undefined);
  host = new SyntheticHost("gl-db-01");
  const { token } = await makeEnrollToken(hub.pool, { validForMs: 60_000, group: "payments", actor: "test" });
  expect((await host.enroll(hub.url, cert.certPem, token)).status).toBe(201);
  const policy = policyBody(sox, "2026-11-01T09:00:00Z");
  rec(host, "policy", "2026-11-01T09:00:00.000Z", policy);
  // the security team's control drifts (7 promises' worth in the run's counts); compliance's is kept
  rec(host, "change", "2026-11-01T10:00:00.000Z", change(AC_KEY, AC, "drift", "peer 10.9.9.9"));
  rec(host, "change", "2026-11-01T10:00:01.000Z", change(CM_KEY, CM, "kept", "as promised"));
  rec(host, "run", "2026-11-01T10:00:05.000Z", { run: 1, kind: "run", host: "gl-db-01", started: "2026-11-01T10:00:00.000Z", finished: "2026-11-01T10:00:05.000Z", policy: policy.hash, policyRecord: 1, dryRun: false, promises: 41, counts: { kept: 27, drift: 7, failed: 5, error: 2 }, outcomes: "ab".repeat(32), changed: 2 });
  expect((await host.push(hub.url, cert.certPem, 0, host.lines.length)).status).toBe(200);
  // the pushed policy is catalogued after the push is answered (its owners are what an owner's grant reaches)
  await hub.checker.idle();
  await createUser(hub.pool, { name: "olive", password: PASSWORD, grants: [{ role: "owner", scope: "owner:compliance" }] }, "test");
  await createUser(hub.pool, { name: "audrey", password: PASSWORD, grants: [{ role: "auditor" }] }, "test");
}, 120_000);

afterAll(async () => {
  await hub?.close();
  await db?.drop();
});

describe("a control owner on a host's page and JSON", () => {
  it("sees its own control but not the last run's figures, which count every control", async () => {
    const olive = await login(hub.url, cert.certPem, "olive", PASSWORD);
    const json = await api(hub.url, cert.certPem, { method: "GET", path: `/api/hosts/${host.id}`, cookie: olive.cookie });
    expect(json.status).toBe(200);
    expect((json.body["byControl"] as { control: string }[]).map((c) => c.control)).toEqual([CM]);
    const lastRun = json.body["lastRun"] as { seq: number; promises: number | null; counts: Record<string, number> };
    expect(lastRun.seq).toBe(4);
    expect(lastRun.counts).toEqual({});
    expect(lastRun.promises).toBeNull();
    const page = await api(hub.url, cert.certPem, { method: "GET", path: `/ui/hosts/${host.id}`, cookie: olive.cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain(CM);
    expect(page.text).not.toContain(AC);
    expect(page.text).not.toMatch(/class="counts"/);
    expect(page.text).not.toMatch(/>\s*41\s*</);
    // an auditor, who sees the whole host, still gets them
    const audrey = await login(hub.url, cert.certPem, "audrey", PASSWORD);
    const full = await api(hub.url, cert.certPem, { method: "GET", path: `/api/hosts/${host.id}`, cookie: audrey.cookie });
    expect(full.body["lastRun"]).toMatchObject({ promises: 41, counts: { kept: 27, drift: 7, failed: 5, error: 2 } });
    const fullPage = await api(hub.url, cert.certPem, { method: "GET", path: `/ui/hosts/${host.id}`, cookie: audrey.cookie });
    expect(fullPage.text).toMatch(/class="counts"/);
  });
});
