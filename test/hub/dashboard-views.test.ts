// The figures of the dashboard's control and host views (server/views/), from records pushed by
// synthetic hosts over real HTTPS into a hub on real PostgreSQL: the fleet's daily chart, the
// episodes with host and hub times, the policy versions and adoptions, integrity approvals and
// unapproved changes, waivers, a host's controls, policy and last run, and the same figures in
// the JSON of GET /api/controls/:control and GET /api/hosts/:host.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeEnrollToken } from "../../src/hub/admin.js";
import { startHub, type RunningHub } from "../../src/hub/serve.js";
import { publishVersion } from "../../src/hub/policy/versions.js";
import { policyBody } from "../../src/store/policies.js";
import { createUser } from "../../src/hub/auth/users.js";
import { controlView } from "../../src/hub/server/views/control-view.js";
import { grantWaiver, withdrawDecision } from "../../src/hub/decision-giving.js";
import { hostView } from "../../src/hub/server/views/host-view.js";
import { controlsList } from "../../src/hub/server/views/controls-list.js";
import type { Access } from "../../src/hub/auth/access.js";
import { testHubConfig } from "./helpers/config.js";
import { testCertificate, type TestCert } from "./helpers/certs.js";
import { freshDatabase, type TestDatabase } from "./helpers/pg.js";
import { SyntheticHost } from "./helpers/synthetic-host.js";
import { api, login } from "./helpers/api-client.js";

const sox = readdirSync("examples/sox").filter((f) => f.endsWith(".promise")).map((f) => ({ path: f, text: readFileSync(join("examples/sox", f), "utf8") }));
const PASSWORD = "correct horse battery staple";
const AC = "ITGC-AC-01";
const CM = "ITGC-CM-02";
const AC_KEY = `${AC}/connections:[5432,1433,1521]`;
const CM_KEY = `${CM}/file:\${ledger_dir}/*.dat`;
const PERIOD = { from: "2026-11-01", to: "2026-11-07" };
const PAGING = { limit: 100, offset: 0, page: 1 };
const NOW = new Date("2026-11-08T00:00:00Z");
const EVERYTHING: Access = { allHosts: true, hostsForControls: false, groups: [], allControls: true, controlIds: [], controlOwners: [], selfOnly: false };

let cert: TestCert;
let db: TestDatabase;
let hub: RunningHub;
let alpha: SyntheticHost;
let beta: SyntheticHost;
let content = "";

const mac = (n: number) => n.toString(16).padStart(64, "0");
function rec(host: SyntheticHost, kind: string, time: string, body: unknown): void {
  const seq = host.lines.length + 1;
  host.lines.push(JSON.stringify({ seq, kind, run: seq, time, body, mac: mac(seq) }));
}
const change = (key: string, control: string, from: string | null, to: string, reason: string, extra: Record<string, unknown> = {}) => ({ key, control, type: key.split("/")[1]!.split(":")[0], promiser: key.split(":").slice(1).join(":"), from, to, reason, differences: [], changes: [], ...extra });
const run = (host: string, policy: string, finished: string, counts: Record<string, number>) => ({ run: 1, kind: "run", host, started: finished, finished, policy, policyRecord: 1, dryRun: false, promises: 2, counts, outcomes: "ab".repeat(32), changed: 1 });

async function enrolled(name: string, group: string): Promise<SyntheticHost> {
  const host = new SyntheticHost(name);
  const { token } = await makeEnrollToken(hub.pool, { validForMs: 60_000, group, actor: "test" });
  expect((await host.enroll(hub.url, cert.certPem, token)).status).toBe(201);
  return host;
}

beforeAll(async () => {
  cert = await testCertificate();
  db = await freshDatabase();
  hub = await startHub(testHubConfig(cert, db.url), () => undefined);
  const published = await publishVersion(hub.pool, hub.key, { files: sox, message: "CHG-1 the SOX controls", author: "alice", approvalRequired: false });
  content = "version" in published ? published.version.content : "";
  alpha = await enrolled("alpha-01", "payments");
  beta = await enrolled("beta-02", "web");
  const policy = policyBody(sox, "2026-11-01T09:00:00Z");
  // alpha: kept, then an episode from the 3rd 12:00 to the 5th 08:00
  rec(alpha, "policy", "2026-11-01T09:00:00.000Z", policy);
  rec(alpha, "change", "2026-11-01T10:00:00.000Z", change(AC_KEY, AC, null, "kept", "as promised"));
  rec(alpha, "run", "2026-11-01T10:00:05.000Z", run("alpha-01", policy.hash, "2026-11-01T10:00:05.000Z", { kept: 2 }));
  rec(alpha, "change", "2026-11-03T12:00:00.000Z", change(AC_KEY, AC, "kept", "drift", "peer 10.9.9.9 \u202Eevil <script>x</script>"));
  rec(alpha, "change", "2026-11-05T08:00:00.000Z", change(AC_KEY, AC, "drift", "kept", "as promised"));
  rec(alpha, "run", "2026-11-05T08:00:05.000Z", run("alpha-01", policy.hash, "2026-11-05T08:00:05.000Z", { kept: 2 }));
  // beta: drift from the 4th, still open; an unapproved integrity change and two approvals
  rec(beta, "change", "2026-11-04T00:00:00.000Z", change(AC_KEY, AC, null, "drift", "peer 10.1.1.1"));
  rec(beta, "change", "2026-11-04T01:00:00.000Z", change(CM_KEY, CM, null, "drift", "content changed", { findings: [{ path: "/srv/ledger/gl.dat", kinds: ["content", "mtime"], changes: ["content changed"] }] }));
  rec(beta, "approval", "2026-11-04T02:00:00.000Z", { how: "approve", targets: [CM], paths: 1, sample: ["/srv/ledger/gl.dat"], digest: "00", at: "2026-11-04T02:00:00.000Z", by: "carol", reason: "month-end posting CHG-7" });
  rec(beta, "approval", "2026-11-04T03:00:00.000Z", { how: "approve", targets: ["OTHER-9"], paths: 1, sample: ["/elsewhere"], digest: "00", at: "2026-11-04T03:00:00.000Z", by: "dave" });
  rec(beta, "change", "2026-11-04T02:00:01.000Z", change(CM_KEY, CM, "drift", "kept", "approved"));
  for (const h of [alpha, beta]) expect((await h.push(hub.url, cert.certPem, 0, h.lines.length)).status).toBe(200);
  await createUser(hub.pool, { name: "reader", password: PASSWORD, grants: [{ role: "auditor" }] }, "test");
}, 120_000);

afterAll(async () => {
  await hub?.close();
  await db?.drop();
});

describe("a control's view", () => {
  it("charts per day the hosts kept and deficient, each promise a step function of its changes", async () => {
    const v = (await controlView(hub.pool, AC, PERIOD, PAGING, NOW))!;
    expect(v.period).toMatchObject({ from: "2026-11-01", to: "2026-11-07", days: 7 });
    expect(v.chart.map((d) => [d.day, d.evaluations, d.kept, d.deficient, d.other])).toEqual([
      ["2026-11-01", 1, 1, 0, 0],
      ["2026-11-02", 1, 1, 0, 0],
      ["2026-11-03", 1, 0, 1, 0],
      ["2026-11-04", 2, 0, 2, 0],
      // alpha was drift until 08:00: deficient that day although kept at its end
      ["2026-11-05", 2, 0, 2, 0],
      ["2026-11-06", 2, 1, 1, 0],
      ["2026-11-07", 2, 1, 1, 0],
    ]);
    expect(v.hosts).toEqual({ total: 2, kept: 1, deficient: 1, other: 0 });
  });

  it("lists the episodes per host and promise, open first, with host time and hub receive time", async () => {
    const v = (await controlView(hub.pool, AC, PERIOD, PAGING, NOW))!;
    expect(v.episodes).toMatchObject({ total: 2, open: 1 });
    const [open, closed] = v.episodes.items;
    expect(open).toMatchObject({ host: beta.id, promise: AC_KEY, outcome: "drift", opened: "2026-11-04T00:00:00.000Z", resolved: null, durationMs: null, reason: "peer 10.1.1.1", type: "connections" });
    expect(closed).toMatchObject({ host: alpha.id, hostName: "alpha-01", opened: "2026-11-03T12:00:00.000Z", openedRecord: 4, resolved: "2026-11-05T08:00:00.000Z", resolvedBy: "kept", resolvedRecord: 5, durationMs: 44 * 3600_000 });
    expect(Date.parse(closed!.openedReceivedAt!)).toBeGreaterThan(NOW.getTime());
    // a period that ends before the drift: no episode, and the state carried into it from before
    const before = (await controlView(hub.pool, AC, { from: "2026-11-02", to: "2026-11-02" }, PAGING, NOW))!;
    expect(before.episodes.total).toBe(0);
    expect(before.chart).toEqual([{ day: "2026-11-02", evaluations: 1, kept: 1, deficient: 0, other: 0 }]);
    // an episode open when the period began is listed from its start
    const during = (await controlView(hub.pool, AC, { from: "2026-11-05", to: "2026-11-05" }, PAGING, NOW))!;
    expect(during.episodes.items.map((e) => [e.hostName, e.opened])).toEqual([["beta-02", "2026-11-04T00:00:00.000Z"], ["alpha-01", "2026-11-03T12:00:00.000Z"]]);
    // paged
    const second = (await controlView(hub.pool, AC, PERIOD, { limit: 1, offset: 1, page: 2 }, NOW))!;
    expect(second.episodes.items.map((e) => e.host)).toEqual([alpha.id]);
  });

  it("shows its design, the version that defined it, who adopted it when, and its waivers", async () => {
    const v = (await controlView(hub.pool, AC, PERIOD, PAGING, NOW))!;
    expect(v.design.catalogue).toMatchObject({ title: "Only approved application servers reach the general-ledger database", owner: "security", severity: "high", key: true, content });
    expect(v.design.promises.map((p) => p.key)).toEqual([AC_KEY]);
    expect(v.design.promises[0]!.text).toContain("max_per_source = 40");
    expect(v.design.versions).toHaveLength(1);
    const [ver] = v.design.versions;
    expect(ver).toMatchObject({ content, changed: false, adoptedBy: 1, published: [{ author: "alice", status: "approved", decidedBy: "alice", inForce: [{ group: "" }] }] });
    expect(ver!.adoptions).toEqual([expect.objectContaining({ host: alpha.id, at: "2026-11-01T09:00:00.000Z", current: true })]);
    expect(v.waivers.policy).toEqual([expect.objectContaining({ approvedBy: "j.doe (CFO office)", until: "2027-03-31", ticket: "CHG-1182" })]);
    expect(v.waivers.hub).toEqual({ total: 0, items: [] });
  });

  it("lists the waivers given on the hub for the control, with what each host made of them", async () => {
    const [given] = await grantWaiver(hub.pool, { control: AC, host: alpha.id, reason: "RISK-7: the new ledger replica", from: "2026-11-10", until: "2026-12-31", by: "carol", today: "2026-11-08" });
    const v = (await controlView(hub.pool, AC, PERIOD, PAGING, NOW))!;
    expect(v.waivers.hub).toEqual({ total: 1, items: [expect.objectContaining({ decision: given!.id, host: alpha.id, hostName: alpha.name, from: "2026-11-10", until: "2026-12-31", reason: "RISK-7: the new ledger replica", givenBy: "carol", state: "pending", hostRecord: null })] });
    expect((await controlView(hub.pool, CM, PERIOD, PAGING, NOW))!.waivers.hub.total).toBe(0);
    await withdrawDecision(hub.pool, given!.id, "carol");
    expect((await controlView(hub.pool, AC, PERIOD, PAGING, NOW))!.waivers.hub.items[0]!.state).toBe("withdrawn");
  });

  it("lists the integrity approvals given to the control and its unapproved changes", async () => {
    const v = (await controlView(hub.pool, CM, PERIOD, PAGING, NOW))!;
    expect(v.integrity.unapproved).toEqual([expect.objectContaining({ host: beta.id, record: 2, promise: CM_KEY, detail: { paths: ["/srv/ledger/gl.dat"], kinds: ["content", "mtime"], findings: 1 } })]);
    expect(v.integrity.approved.map((a) => [a.record, a.detail["by"]])).toEqual([[3, "carol"]]);
    // the other control's page has neither
    const ac = (await controlView(hub.pool, AC, PERIOD, PAGING, NOW))!;
    expect(ac.integrity).toEqual({ approved: [], unapproved: [] });
  });

  it("knows nothing of a control no host, owner or policy names", async () => {
    expect(await controlView(hub.pool, "NOPE-1", PERIOD, PAGING, NOW)).toBeUndefined();
  });
});

describe("a host's view", () => {
  it("shows its controls grouped, its policy against the version in force, and its last run", async () => {
    const v = await hostView(hub.pool, alpha.id, EVERYTHING);
    expect(v.host).toMatchObject({ name: "alpha-01", group: "payments", chainStatus: "ok", lastSeq: 6 });
    expect(v.byControl).toEqual([expect.objectContaining({ control: AC, title: "Only approved application servers reach the general-ledger database", verdict: "kept", promises: [expect.objectContaining({ key: AC_KEY, outcome: "kept", since: "2026-11-05T08:00:00.000Z" })] })]);
    expect(v.policy).toMatchObject({ content, since: "2026-11-01T10:00:05.000Z", version: { author: "alice", status: "approved" }, inForce: { content, forGroup: "" }, runsInForce: true });
    expect(v.lastRun).toMatchObject({ seq: 6, finished: "2026-11-05T08:00:05.000Z", kind: "run", counts: { kept: 2 } });
  });

  it("shows a control owner only its controls, and no incidents", async () => {
    const owner: Access = { allHosts: false, hostsForControls: true, groups: [], allControls: false, controlIds: [], controlOwners: ["compliance"], selfOnly: false };
    const v = await hostView(hub.pool, beta.id, owner);
    expect(v.partial).toBe(true);
    expect(v.byControl.map((c) => c.control)).toEqual([CM]);
    expect(v.controls.map((c) => c.control)).toEqual([CM]);
    const all = await hostView(hub.pool, beta.id, EVERYTHING);
    expect(all.byControl.map((c) => c.control)).toEqual([AC, CM]);
  });
});

describe("the controls list", () => {
  it("counts hosts kept and deficient now, filtered by owner, severity and framework ref", async () => {
    const all = await controlsList(hub.pool, EVERYTHING, {}, { limit: 100, offset: 0 });
    expect(all.total).toBe(12);
    expect(all.controls.find((c) => c.control === AC)).toMatchObject({ owner: "security", severity: "high", key: true, hosts: 2, kept: 1, deficient: 1, other: 0 });
    expect(all.controls.find((c) => c.control === CM)).toMatchObject({ hosts: 1, kept: 1, deficient: 0 });
    expect((await controlsList(hub.pool, EVERYTHING, { owner: "compliance" }, { limit: 100, offset: 0 })).controls.every((c) => c.owner === "compliance")).toBe(true);
    expect((await controlsList(hub.pool, EVERYTHING, { severity: "critical", ref: "COBIT BAI06.01" }, { limit: 100, offset: 0 })).controls.map((c) => c.control)).toEqual([CM]);
    const cobit = (await controlsList(hub.pool, EVERYTHING, { ref: "COBIT" }, { limit: 100, offset: 0 })).controls;
    expect(cobit.length).toBeGreaterThan(1);
    expect(cobit.every((c) => c.refs.some((r) => r.startsWith("COBIT ")))).toBe(true);
    expect((await controlsList(hub.pool, EVERYTHING, { ref: "COB" }, { limit: 100, offset: 0 })).total).toBe(0);
    const paged = await controlsList(hub.pool, EVERYTHING, {}, { limit: 5, offset: 5 });
    expect(paged.controls).toHaveLength(5);
    expect(paged.controls[0]!.control).toBe(all.controls[5]!.control);
    expect(await controlsList(hub.pool, EVERYTHING, {}, { limit: 5, offset: 100 })).toEqual({ total: 12, controls: [] });
    // a control owner: only its owner's controls
    const owner: Access = { ...EVERYTHING, allHosts: false, allControls: false, controlOwners: ["compliance"] };
    expect((await controlsList(hub.pool, owner, {}, { limit: 100, offset: 0 })).controls.map((c) => c.owner)).toEqual(["compliance", "compliance", "compliance"]);
  });
});

describe("a revoked host", () => {
  it("counts no more on the controls list or a control's page, as on the overview; its episodes still shown", async () => {
    const before = await controlView(hub.pool, AC, PERIOD, PAGING, NOW);
    expect(before!.hosts.total).toBe(2);
    const episodes = before!.episodes.items.filter((e) => e.hostName === "beta-02");
    expect(episodes.length).toBeGreaterThan(0);
    await hub.pool.query("UPDATE hub_hosts SET revoked_at = now() WHERE id = $1", [beta.id]);
    try {
      const after = await controlView(hub.pool, AC, PERIOD, PAGING, NOW);
      expect(after!.hosts.total).toBe(1);
      expect(after!.outcomes.map((o) => o.hostName)).not.toContain("beta-02");
      expect(after!.outcomes[0]).not.toHaveProperty("revoked");
      expect(after!.episodes.items.filter((e) => e.hostName === "beta-02")).toEqual(episodes);
      const list = await controlsList(hub.pool, EVERYTHING, {}, { limit: 100, offset: 0 });
      expect(list.controls.find((c) => c.control === AC)).toMatchObject({ hosts: 1 });
    } finally {
      await hub.pool.query("UPDATE hub_hosts SET revoked_at = NULL WHERE id = $1", [beta.id]);
    }
  });
});

describe("the JSON routes", () => {
  it("send the same view as the pages draw", async () => {
    const s = await login(hub.url, cert.certPem, "reader", PASSWORD);
    const r = await api(hub.url, cert.certPem, { method: "GET", path: `/api/controls/${AC}?from=${PERIOD.from}&to=${PERIOD.to}`, cookie: s.cookie });
    expect(r.status).toBe(200);
    const v = (await controlView(hub.pool, AC, PERIOD, PAGING, NOW))!;
    expect(r.body["chart"]).toEqual(v.chart);
    expect(r.body["episodes"]).toEqual(JSON.parse(JSON.stringify(v.episodes)));
    expect(r.body["outcomes"]).toEqual(v.outcomes);
    const h = await api(hub.url, cert.certPem, { method: "GET", path: `/api/hosts/${alpha.id}`, cookie: s.cookie });
    expect(h.body["controls"]).toEqual([expect.objectContaining({ key: AC_KEY, control: AC, outcome: "kept", hostTime: "2026-11-05T08:00:00.000Z", seq: 5 })]);
    expect(h.body["policy"]).toMatchObject({ runsInForce: true });
    for (const path of [`/api/controls/${AC}?from=2026-13-01`, `/api/controls/${AC}?from=2026-11-02&to=2026-11-01`, `/api/controls/${AC}?from=2025-01-01&to=2026-11-01`, "/api/controls?owner=a&owner=b", "/api/controls?owner=%3Cx%3E"]) {
      const bad = await api(hub.url, cert.certPem, { method: "GET", path, cookie: s.cookie });
      expect(bad.status, path).toBe(400);
    }
    const listed = await api(hub.url, cert.certPem, { method: "GET", path: "/api/controls?owner=compliance", cookie: s.cookie });
    expect(listed.body).toMatchObject({ page: 1, total: 3 });
  });
});
