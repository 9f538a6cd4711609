// Attack on the decisions a push reply carries: a reply holds at most MAX_DECISIONS_PER_REPLY, and
// a decision stays in every reply until the host answers it. Integrity approvals are answered only
// by a push outside the watcher (cli/hub-push.ts defers them while `covenant watch` holds the run
// lock), so on a watched host they wait, delivered and unanswered; enough of them (a patch day's
// worth of approvals, or anyone with approve-change on the host giving twenty) must not keep every
// later acknowledgement and waiver from ever reaching the host. Real PostgreSQL, real HTTPS; the
// synthetic host answers nothing, as a watched host answers no integrity approval.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeEnrollToken } from "../../src/hub/admin.js";
import { startHub, type RunningHub } from "../../src/hub/serve.js";
import { policyBody } from "../../src/store/policies.js";
import { giveIntegrityApproval, grantWaiver } from "../../src/hub/decision-giving.js";
import { MAX_DECISIONS_PER_REPLY } from "../../src/hub/protocol.js";
import { testHubConfig } from "./helpers/config.js";
import { testCertificate, type TestCert } from "./helpers/certs.js";
import { freshDatabase, type TestDatabase } from "./helpers/pg.js";
import { SyntheticHost } from "./helpers/synthetic-host.js";

const sox = readdirSync("examples/sox").filter((f) => f.endsWith(".promise")).map((f) => ({ path: f, text: readFileSync(join("examples/sox", f), "utf8") }));
const CM = "ITGC-CM-02";

let cert: TestCert;
let db: TestDatabase;
let hub: RunningHub;
let host: SyntheticHost;

const mac = (n: number) => n.toString(16).padStart(64, "0");
function rec(h: SyntheticHost, kind: string, time: string, body: unknown): number {
  const seq = h.lines.length + 1;
  h.lines.push(JSON.stringify({ seq, kind, run: seq, time, body, mac: mac(seq) }));
  return seq;
}

beforeAll(async () => {
  cert = await testCertificate();
  db = await freshDatabase();
  hub = await startHub(testHubConfig(cert, db.url), () => undefined);
  host = new SyntheticHost("ledger-01");
  const { token } = await makeEnrollToken(hub.pool, { validForMs: 60_000, group: "payments", actor: "test" });
  expect((await host.enroll(hub.url, cert.certPem, token)).status).toBe(201);
  rec(host, "policy", "2026-11-01T09:00:00.000Z", policyBody(sox, "2026-11-01T09:00:00Z"));
}, 120_000);

afterAll(async () => {
  await hub?.close();
  await db?.drop();
});

const decisionKinds = (body: Record<string, unknown>): { id: string; kind: string }[] =>
  ((body["decisions"] as { text: string }[] | undefined) ?? []).map((d) => JSON.parse(d.text) as { id: string; kind: string });

describe("decisions a host has not answered yet", () => {
  it("do not keep a later waiver out of every push reply", async () => {
    // MAX_DECISIONS_PER_REPLY integrity changes, each approved on the hub, delivered and left unanswered
    const changes: { key: string; seq: number }[] = [];
    for (let i = 0; i < MAX_DECISIONS_PER_REPLY; i++) {
      const key = `${CM}/file:/srv/ledger/f${i}.dat`;
      const seq = rec(host, "change", `2026-11-02T10:00:${String(i).padStart(2, "0")}.000Z`, {
        key, control: CM, type: "file", promiser: `/srv/ledger/f${i}.dat`, from: "kept", to: "drift", reason: "content changed", differences: [], changes: [],
        findings: [{ path: `/srv/ledger/f${i}.dat`, kinds: ["content"], changes: ["content changed"] }],
      });
      changes.push({ key, seq });
    }
    expect((await host.push(hub.url, cert.certPem, 0, host.lines.length)).status).toBe(200);
    for (const c of changes) await giveIntegrityApproval(hub.pool, { host: host.id, promise: c.key, record: c.seq, reason: "patch day CHG-9", by: "carol" });
    const first = await host.push(hub.url, cert.certPem, host.lines.length, host.lines.length);
    expect(first.status).toBe(200);
    expect(decisionKinds(first.body).filter((d) => d.kind === "integrity-approval")).toHaveLength(MAX_DECISIONS_PER_REPLY);
    // a waiver given afterwards reaches the host with its next push
    const [waiver] = await grantWaiver(hub.pool, { control: CM, host: host.id, reason: "ledger migration CHG-10", until: "2099-12-31", by: "vera" });
    const next = await host.push(hub.url, cert.certPem, host.lines.length, host.lines.length);
    expect(next.status).toBe(200);
    const carried = decisionKinds(next.body);
    expect(carried.length).toBeLessThanOrEqual(MAX_DECISIONS_PER_REPLY);
    // a decision's id as hosts are sent it is its number and its nonce
    expect(carried.map((d) => d.id.split("-")[0])).toContain(String(waiver!.id));
    // and the approvals still waiting are carried in turn, none left behind for good
    const seen = new Set(carried.map((d) => d.id));
    for (let i = 0; i < 3; i++) for (const d of decisionKinds((await host.push(hub.url, cert.certPem, host.lines.length, host.lines.length)).body)) seen.add(d.id);
    expect(seen.size).toBe(MAX_DECISIONS_PER_REPLY + 1);
  }, 60_000);
});
