// Fleet evidence through the real push path: a hub on real PostgreSQL over HTTPS, two hosts whose
// records come from real stores, enrolled and pushed signed (helpers/synthetic-host.ts), one with
// its clock ten minutes ahead; the receive times are the hub's own. An auditor downloads the pack
// from the evidence.export route with an API token; it verifies with the hub's key alone, carries
// the hub's receive time of each record, flags the host whose clock is ahead, and the download
// is in the audit log. Operations are refused it.
import { hostDaysProblem } from "../../src/hub/server/api/evidence-routes.js";
import { createHash, createPublicKey } from "node:crypto";
import { request } from "node:https";
import { readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FleetPackChecker } from "../../src/evidence/fleet-verify.ts";
import { readPack, readPackInto } from "../../src/evidence/read.ts";
import { makeEnrollToken } from "../../src/hub/admin.ts";
import { createUser, makeApiToken } from "../../src/hub/auth/users.ts";
import { lineOf } from "../../src/hub/client/batch.ts";
import type { FleetReport } from "../../src/hub/evidence/fleet-model.ts";
import { startHub, type RunningHub } from "../../src/hub/serve.ts";
import { StateStore } from "../../src/store/store.ts";
import { A, B, C, recordRun, result } from "../report/report-helpers.ts";
import { removeTempDirs, tempDir } from "../store/helpers.ts";
import { testCertificate, type TestCert } from "./helpers/certs.ts";
import { testHubConfig } from "./helpers/config.ts";
import { freshDatabase, type TestDatabase } from "./helpers/pg.ts";
import { SyntheticHost } from "./helpers/synthetic-host.ts";

let cert: TestCert;
let db: TestDatabase;
let hub: RunningHub;
/** yesterday to tomorrow (UTC): the records are all in the period, near midnight too */
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
const PERIOD = `from=${day(-1)}&to=${day(1)}`;
let pushedFrom = 0;
let web: SyntheticHost;
let pushedTo = 0;

/** A real store's records as lines: six runs, ten seconds apart, ending `skewMs` after now (the host's clock). */
function linesOf(skewMs: number): string[] {
  const dir = tempDir("pushing-host");
  const s = StateStore.open(dir);
  const end = Date.now() + skewMs;
  for (let i = 0; i < 6; i++) recordRun(s, { at: new Date(end - (5 - i) * 10_000).toISOString(), results: [A, B, C].map((k) => result(k, k === B && i >= 3 ? "drift" : "kept")) });
  const lines: string[] = [];
  s.scanHistory({}, (r) => lines.push(lineOf(r)));
  s.close();
  return lines;
}

async function enrolledHost(name: string, group: string, skewMs: number): Promise<SyntheticHost> {
  const h = new SyntheticHost(name);
  const token = await makeEnrollToken(hub.pool, { validForMs: 60_000, group, actor: "test" });
  expect((await h.enroll(hub.url, cert.certPem, token.token)).status).toBe(201);
  h.lines = linesOf(skewMs);
  const pushed = await h.push(hub.url, cert.certPem, 0, h.lines.length, { sentAt: new Date(Date.now() + skewMs) });
  expect(pushed.status, JSON.stringify(pushed.body)).toBe(200);
  return h;
}

/** GET with a bearer token, the answer's bytes as they came. */
function download(path: string, bearer: string): Promise<{ status: number; type: string; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, hub.url), { method: "GET", ca: cert.certPem, headers: { authorization: `Bearer ${bearer}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"] ?? ""), bytes: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  cert = await testCertificate();
  db = await freshDatabase();
  hub = await startHub(testHubConfig(cert, db.url, { clockToleranceMs: 120_000 }), () => undefined);
  pushedFrom = Date.now();
  await enrolledHost("pay-01", "payments", 0);
  await enrolledHost("pay-02", "payments", 600_000);
  web = await enrolledHost("web-01", "web", 0);
  pushedTo = Date.now();
  await createUser(hub.pool, { name: "ada", password: "correct horse battery staple", grants: [{ role: "auditor" }] }, "test");
  await createUser(hub.pool, { name: "olly", password: "correct horse battery staple", grants: [{ role: "operations", scope: "group:payments" }] }, "test");
}, 120_000);

afterAll(async () => {
  await hub?.close();
  await db?.drop();
  removeTempDirs();
});

describe("the fleet pack from the evidence.export route", () => {
  it("shows a host whose history was rewritten (a fork the hub found at a push) as in doubt, in the report and the pack", async () => {
    // the host sends its history again with record 2 changed: the hub refuses it, as a fork
    web.lines[1] = web.lines[1]!.replace(/"mac":"[0-9a-f]{64}"/, `"mac":"${"ab".repeat(32)}"`);
    const forked = await web.push(hub.url, cert.certPem, 0, web.lines.length);
    expect(forked.status).toBe(409);
    expect(forked.body).toMatchObject({ reason: "fork" });
    const auditor = (await makeApiToken(hub.pool, "ada", "audit fork", 3_600_000, "test")).token;
    const got = await download(`/api/evidence/export?${PERIOD}&group=web`, auditor);
    expect(got.status).toBe(200);
    const file = join(tempDir("downloaded-fork"), "pack.tar.gz");
    writeFileSync(file, got.bytes);
    const checker = new FleetPackChecker(createPublicKey(hub.key.publicKey.export({ type: "spki", format: "pem" })));
    await readPackInto(file, (name) => checker.file(name));
    const verdict = checker.verdict();
    expect(verdict.intact).toBe(true);
    expect(verdict.manifest!.hosts[0]).toMatchObject({ name: "web-01", chainStatus: "fork", incidents: [{ kind: "fork", seq: 2 }] });
    const report = JSON.parse((await readPack(file)).find((f) => f.name.endsWith("reports/fleet.json"))!.bytes.toString("utf8")) as FleetReport;
    expect(report.summary.hostsInDoubt).toBe(1);
    // what the hub holds is what the host first sent: its chain over it still links
    expect(report.hosts[0]!.chain).toMatchObject({ status: "fork", verdict: "intact" });
  }, 60_000);

  it("gives an auditor the group's pack, signed by the hub, with the hub's receive times and the clock ahead flagged; audited; refused to operations", async () => {
    const auditor = (await makeApiToken(hub.pool, "ada", "audit", 3_600_000, "test")).token;
    const exportDirsBefore = readdirSync(tmpdir()).filter((n) => n.startsWith("covenant-hub-export-"));
    const got = await download(`/api/evidence/export?${PERIOD}&group=payments`, auditor);
    expect(got.status, got.bytes.toString("utf8").slice(0, 300)).toBe(200);
    expect(got.type).toBe("application/gzip");
    const file = join(tempDir("downloaded"), "pack.tar.gz");
    writeFileSync(file, got.bytes);
    const checker = new FleetPackChecker(createPublicKey(hub.key.publicKey.export({ type: "spki", format: "pem" })));
    await readPackInto(file, (name) => checker.file(name));
    const verdict = checker.verdict();
    expect(verdict.problems).toEqual([]);
    expect(verdict.manifest!.hosts.map((h) => h.name)).toEqual(["pay-01", "pay-02"]);
    const files = await readPack(file);
    const report = JSON.parse(files.find((f) => f.name.endsWith("reports/fleet.json"))!.bytes.toString("utf8")) as FleetReport;
    const ahead = report.hosts.find((h) => h.name === "pay-02")!;
    expect(ahead.clock.ahead.count).toBe(ahead.chain.records);
    expect(ahead.chain.incidents.map((i) => i.kind)).toEqual(["clock"]);
    expect(report.hosts.find((h) => h.name === "pay-01")!.clock.ahead.count).toBe(0);
    // the receive times are the hub's, from the push
    const chain = files.find((f) => f.name.endsWith(`hosts/${verdict.manifest!.hosts[0]!.id}/chain.jsonl`))!.bytes.toString("utf8").trim().split("\n").slice(1);
    for (const line of chain) {
      const received = Date.parse((JSON.parse(line) as { receivedAt: string }).receivedAt);
      expect(received).toBeGreaterThanOrEqual(pushedFrom - 1000);
      expect(received).toBeLessThanOrEqual(pushedTo + 1000);
    }
    const logged = await hub.pool.query<{ actor: string; object: string; detail: { hosts: number; manifestSha256: string } }>("SELECT actor, object, detail FROM hub_audit WHERE action = 'evidence.export' AND object = 'group:payments'");
    expect(logged.rows).toMatchObject([{ actor: "ada", object: "group:payments", detail: { hosts: 2 } }]);
    const operations = (await makeApiToken(hub.pool, "olly", "ops", 3_600_000, "test")).token;
    expect((await download(`/api/evidence/export?${PERIOD}&group=payments`, operations)).status).toBe(403);
    expect((await download(`/api/evidence/export?from=${day(-1)}`, auditor)).status).toBe(400);
    expect((await download(`/api/evidence/export?${PERIOD}&group=nobody`, auditor)).status).toBe(404);
    // the pack was written to a private temporary directory of the hub's, removed once sent (and after the refusal)
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith("covenant-hub-export-"))).toEqual(exportDirsBefore);
    expect(logged.rows[0]!.detail.manifestSha256).toBe(createHash("sha256").update(files.find((f) => /(^|\/)manifest\.json$/.test(f.name))!.bytes).digest("hex"));
  }, 60_000);
});

describe("the size of one export", () => {
  it("refuses more host-days than one request may ask for, saying how to cut it", () => {
    const day = 86_400_000;
    expect(hostDaysProblem(32, { startMs: 0, endMs: 366 * day })).toBeUndefined();
    expect(hostDaysProblem(33, { startMs: 0, endMs: 366 * day })).toMatch(/^33 hosts over 366 days is 12078 host-days, more than the 12000 .*host group or a shorter period/);
    expect(hostDaysProblem(130, { startMs: 0, endMs: 92 * day })).toBeUndefined();
    expect(hostDaysProblem(12_000, { startMs: 0, endMs: day })).toBeUndefined();
    expect(hostDaysProblem(12_001, { startMs: 0, endMs: day })).toBeDefined();
  });
});
