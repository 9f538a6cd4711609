// Decisions given on the hub reaching the host with its next push reply, recorded on both sides:
// `covenant hub serve` on real PostgreSQL over HTTPS, real `covenant run`, `enroll`, `push`,
// `deficiencies` processes with their own state directories, and the hub's admin commands
// (`covenant hub deficiencies|ack|waive|decisions`). Forged and replayed decisions are given to
// the host's own code (applyDecisions) over a store real runs wrote.
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDecisions } from "../../src/hub/client/decisions.ts";
import { readEnrolment } from "../../src/hub/client/enrolment.ts";
import { signDecision, type HubDecision } from "../../src/hub/protocol.ts";
import { hubSigningKey } from "../../src/hub/signing.ts";
import { StateStore } from "../../src/store/store.ts";
import { covenant, covenantAsync } from "../helpers/cli.ts";
import { tempDir } from "../store/helpers.ts";
import type { TestCert } from "./helpers/certs.ts";
import type { TestDatabase } from "./helpers/pg.ts";
import { startRealHub, stopRealHub, type RealHub } from "./helpers/real-hub.ts";

let hub: RealHub;
let db: TestDatabase;
let cert: TestCert;
let config: string;
let url: string;
let pool: pg.Pool;

beforeAll(async () => {
  hub = await startRealHub("decisions-hub");
  ({ db, cert, config, url } = hub);
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await stopRealHub(hub);
});

async function enroll(state: string, name: string): Promise<string> {
  const made = covenant(["hub", "token", "--config", config]);
  expect(made.code, made.err).toBe(0);
  const e = await covenantAsync(["enroll", url, "--ca", cert.cert, "--state", state, "--name", name, "--json"], { env: { COVENANT_ENROLL_TOKEN: made.out.trim() } });
  expect(e.code, e.err).toBe(0);
  return (JSON.parse(e.out) as { host: string }).host;
}

/** A host with one drifting file (mode 0666, promised 0640), enrolled and pushed. */
async function driftingHost(name: string): Promise<{ dir: string; state: string; policy: string; host: string; file: string }> {
  const dir = tempDir(`decisions-${name}`);
  mkdirSync(join(dir, "srv"));
  const file = join(dir, "srv", "app.dat");
  writeFileSync(file, "x\n");
  chmodSync(file, 0o666);
  const policy = join(dir, "p.promise");
  writeFileSync(policy, `control "APP-1" {\n  title = "application data is not world-writable"\n  file "${file}" { mode = 0640 }\n}\n`);
  const state = join(dir, "state");
  const run = await covenantAsync(["run", "--state", state, policy, "--no-push"]);
  expect(run.code, run.err).toBeGreaterThan(0);
  const host = await enroll(state, name);
  const p = await covenantAsync(["push", "--state", state]);
  expect(p.code, p.err).toBe(0);
  return { dir, state, policy, host, file };
}

function hostDeficiencies(state: string): { id: string; status: string; outcome: string; ack?: { by: string; decision?: string; record: number } }[] {
  const r = covenant(["deficiencies", "--state", state, "--json", "--all"]);
  return JSON.parse(r.out) as never;
}

/** A decision's id as the host is sent it and records it: its number on the hub and its nonce. */
async function wireId(id: string | number): Promise<string> {
  return `${id}-${(await pool.query<{ nonce: string }>("SELECT nonce FROM hub_decisions WHERE id = $1", [id])).rows[0]!.nonce}`;
}

async function decisionRow(id: string | number): Promise<{ state: string; host_record: string | null; host_reason: string | null; deliveries: number }> {
  return (await pool.query("SELECT state, host_record, host_reason, deliveries FROM hub_decisions WHERE id = $1", [id])).rows[0] as never;
}

describe("an acknowledgement given on the hub", () => {
  it("reaches the host with its next push reply, is recorded there as `covenant ack` records one, and the hub sees it applied", async () => {
    const h = await driftingHost("ack-01");
    const mine = hostDeficiencies(h.state).filter((d) => d.status === "open");
    expect(mine).toHaveLength(1);
    // the hub names the deficiency as the host does
    const onHub = JSON.parse(covenant(["hub", "deficiencies", "ack-01", "--config", config, "--json"]).out) as { id: string; control: string; ackedBy: string | null }[];
    expect(onHub.map((d) => d.id)).toEqual([mine[0]!.id]);
    expect(onHub[0]!.control).toBe("APP-1");
    const given = covenant(["hub", "ack", "ack-01", mine[0]!.id, "--config", config, "--reason", "CHG-42: being fixed this week", "--by", "alice"]);
    expect(given.code, given.err).toBe(0);
    const decision = /decision (\d+)/.exec(given.out)![1]!;
    const wire = await wireId(decision);
    expect((await decisionRow(decision)).state).toBe("pending");
    // a second acknowledgement of the same deficiency while one waits is refused
    expect(covenant(["hub", "ack", "ack-01", mine[0]!.id, "--config", config, "--reason", "again"]).code).not.toBe(0);

    const p = await covenantAsync(["push", "--state", h.state]);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toMatch(new RegExp(`decision ${wire} \\(ack\\) applied: record \\d+`));
    const acked = hostDeficiencies(h.state).find((d) => d.id === mine[0]!.id)!;
    expect(acked.ack).toMatchObject({ by: "alice (hub)", decision: wire });
    // the host's table says who acknowledged it: escalation stops, as for a local `covenant ack`
    const table = covenant(["deficiencies", "--state", h.state]);
    expect(table.out).toContain("by alice (hub)");
    expect(covenant(["history", "--state", h.state]).out).toContain(`acknowledged ${mine[0]!.id} (APP-1/`);
    expect(covenant(["history", "--state", h.state]).out).toContain(`by alice (hub), the fleet hub's decision ${wire}, as `);
    // the record went to the hub with the push that followed: applied, with the host's record number
    const row = await decisionRow(decision);
    expect(row.state).toBe("applied");
    expect(Number(row.host_record)).toBe(acked.ack!.record);
    const after = JSON.parse(covenant(["hub", "deficiencies", "ack-01", "--config", config, "--json"]).out) as { ackedBy: string | null }[];
    expect(after[0]!.ackedBy).toBe("alice (hub)");
    // answered: no later reply carries it, and `covenant verify` accepts the history
    const again = await covenantAsync(["push", "--state", h.state]);
    expect(again.out).not.toContain(`decision ${wire}`);
    expect(covenant(["verify", "--state", h.state]).code).toBe(0);
    const listed = JSON.parse(covenant(["hub", "decisions", "--config", config, "--host", "ack-01", "--json"]).out) as { id: number; state: string; hostRecord: number }[];
    expect(listed).toMatchObject([{ id: Number(decision), state: "applied", hostRecord: acked.ack!.record }]);
  });

  it("of a deficiency resolved meanwhile is refused by the host, with one record saying why, and the hub sees it refused", async () => {
    const h = await driftingHost("ack-02");
    const id = hostDeficiencies(h.state)[0]!.id;
    const given = covenant(["hub", "ack", "ack-02", id, "--config", config, "--reason", "known"]);
    const decision = /decision (\d+)/.exec(given.out)![1]!;
    const wire = await wireId(decision);
    // repaired on the host before the next push: nothing open to acknowledge
    chmodSync(h.file, 0o640);
    expect((await covenantAsync(["run", "--state", h.state, h.policy, "--no-push"])).code).toBe(0);
    const p = await covenantAsync(["push", "--state", h.state]);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toMatch(new RegExp(`decision ${wire} \\(ack\\) refused, record \\d+: the deficiency ${id} was resolved`));
    const row = await decisionRow(decision);
    expect(row.state).toBe("refused");
    expect(row.host_reason).toContain("nothing open to acknowledge");
    expect(covenant(["history", "--state", h.state]).out).toContain(`the fleet hub's decision ${wire} (ack of APP-1) by cli:`);
  });
});

describe("a waiver given on the hub", () => {
  it("makes the next run's drift waived, with who approved it, from a waiver record in the host's chain", async () => {
    const h = await driftingHost("waive-01");
    const until = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const given = covenant(["hub", "waive", "APP-1", "--host", "waive-01", "--until", until, "--config", config, "--reason", "RISK-7: vendor fix due", "--by", "carol"]);
    expect(given.code, given.err).toBe(0);
    const decision = /decisions? \((\d+)\)/.exec(given.out)![1]!;
    const wire = await wireId(decision);
    const p = await covenantAsync(["push", "--state", h.state]);
    expect(p.out).toMatch(new RegExp(`decision ${wire} \\(waiver\\) applied`));
    const run = await covenantAsync(["run", "--state", h.state, h.policy, "--json", "--no-push"]);
    const report = JSON.parse(run.out) as { controls: { id: string; verdict: string; waiver?: { approvedBy: string; until: string }; promises: { outcome: string; notes: string[] }[] }[] };
    const c = report.controls.find((x) => x.id === "APP-1")!;
    expect(c.verdict).toBe("waived");
    expect(c.waiver).toEqual({ reason: "RISK-7: vendor fix due", approvedBy: "carol (hub)", until });
    expect(covenant(["history", "--state", h.state]).out).toContain(`waiver of APP-1 until ${until} approved by carol (hub), the fleet hub's decision ${wire}: RISK-7: vendor fix due`);
    expect(c.promises[0]!.notes).toContain(`waiver approved by carol (hub), until ${until} (hub decision ${wire})`);
    expect((await decisionRow(decision)).state).toBe("applied");
    expect(covenant(["verify", "--state", h.state]).code).toBe(0);
    // the evidence report shows it beside the policy's waivers, with who approved it
    const today = new Date().toISOString().slice(0, 10);
    const rep = covenant(["report", "--state", h.state, "--from", today, "--to", today, "--tz", "UTC", "--format", "json"]);
    expect(rep.code, rep.err).toBeLessThan(2);
    const waivers = (JSON.parse(rep.out) as { controls: { id: string; operation: { waivers: unknown[] } }[] }).controls.find((x) => x.id === "APP-1")!.operation.waivers;
    expect(waivers).toEqual([{ reason: "RISK-7: vendor fix due", approvedBy: "carol (hub)", until, ticket: `hub decision ${wire}`, status: "in-force" }]);
  });

  it("for a host group makes one decision per host of the group", async () => {
    const a = await driftingHost("waive-g1");
    const b = await driftingHost("waive-g2");
    await pool.query("UPDATE hub_hosts SET host_group = 'batch' WHERE id = ANY($1::uuid[])", [[a.host, b.host]]);
    const given = covenant(["hub", "waive", "APP-1", "--group", "batch", "--until", "2099-12-31", "--config", config, "--reason", "decommissioning"]);
    expect(given.code, given.err).toBe(0);
    const rows = (await pool.query("SELECT host_id FROM hub_decisions WHERE kind = 'waiver' AND reason = 'decommissioning' ORDER BY host_id")).rows as { host_id: string }[];
    expect(rows.map((r) => r.host_id).sort()).toEqual([a.host, b.host].sort());
  });
});

describe("decisions the host does not take", () => {
  it("refuses a decision not signed by the hub's key or naming another host, and applies a replayed one once", async () => {
    const h = await driftingHost("forge-01");
    const other = await driftingHost("forge-02");
    const id = hostDeficiencies(h.state)[0]!.id;
    const hubKey = hubSigningKey(join(dirname(config), "signing.key"), false);
    const forger = generateKeyPairSync("ed25519");
    const decision = (over: Partial<HubDecision>): HubDecision => ({ id: "900001-00000000000000a1", host: h.host, kind: "ack", control: "APP-1", by: "mallory", reason: "forged", at: new Date().toISOString(), deficiency: id, key: "k", ...over });
    const store = StateStore.open(h.state);
    try {
      const enrolment = readEnrolment(h.state)!.enrolment;
      const before = store.lastRecord()!.seq;
      const forged = applyDecisions(store, enrolment, [signDecision(decision({}), forger.privateKey)]);
      expect(forged.rejected).toHaveLength(1);
      expect(forged.rejected[0]).toContain("signature is not the hub's");
      // signed by the hub, for the other host: its statement names that host, so it does not hold for this one
      const elsewhere = applyDecisions(store, enrolment, [signDecision(decision({ id: "900002-00000000000000a2", host: other.host }), hubKey.privateKey)]);
      expect(elsewhere.rejected).toHaveLength(1);
      expect(store.lastRecord()!.seq).toBe(before);
      expect(hostDeficiencies(h.state)[0]!.ack).toBeUndefined();
      // a genuine one, replayed: applied once, one record
      const genuine = signDecision(decision({ id: "900003-00000000000000a3", by: "alice", reason: "real" }), hubKey.privateKey);
      const first = applyDecisions(store, enrolment, [genuine, genuine]);
      expect(first.applied).toHaveLength(1);
      const second = applyDecisions(store, enrolment, [genuine]);
      expect(second).toMatchObject({ applied: [], refused: [], already: ["900003-00000000000000a3"] });
      expect(store.lastRecord()!.seq).toBe(before + 1);
      // the same number with another nonce (a hub restored from a backup numbers decisions again): a decision of its own, answered with its own record
      const renumbered = applyDecisions(store, enrolment, [signDecision(decision({ id: "900003-00000000000000b3", by: "alice", reason: "after the restore" }), hubKey.privateKey)]);
      expect(renumbered.already).toEqual([]);
      expect(renumbered.applied.length + renumbered.refused.length).toBe(1);
      expect(store.lastRecord()!.seq).toBe(before + 2);
    } finally {
      store.close();
    }
    expect(hostDeficiencies(h.state)[0]!.ack).toMatchObject({ by: "alice (hub)", decision: "900003-00000000000000b3" });
    expect(covenant(["verify", "--state", h.state]).code).toBe(0);
  });

  it("gets a delivered decision again when it crashed before applying it: carried until the hub holds its record", async () => {
    const h = await driftingHost("crash-01");
    const id = hostDeficiencies(h.state)[0]!.id;
    const decision = /decision (\d+)/.exec(covenant(["hub", "ack", "crash-01", id, "--config", config, "--reason", "known"]).out)![1]!;
    const wire = await wireId(decision);
    // delivered in a reply the host never acted on (as if it crashed): marked so on the hub
    await pool.query("UPDATE hub_decisions SET state = 'delivered', deliveries = 1, delivered_at = now() WHERE id = $1", [decision]);
    const p = await covenantAsync(["push", "--state", h.state]);
    expect(p.out).toMatch(new RegExp(`decision ${wire} \\(ack\\) applied`));
    expect(await decisionRow(decision)).toMatchObject({ state: "applied", deliveries: 2 });
  });
});

describe("an integrity approval given on the hub", () => {
  /** A host whose integrity promise found the file's content changed since its approved state. */
  async function changedHost(name: string): Promise<{ state: string; policy: string; file: string; key: string; record: number }> {
    const dir = tempDir(`decisions-${name}`);
    mkdirSync(join(dir, "etc"));
    const file = join(dir, "etc", "app.conf");
    writeFileSync(file, "level = 1\n", { mode: 0o640 });
    const policy = join(dir, "p.promise");
    writeFileSync(policy, `control "CFG-1" {\n  title = "the application's configuration changes only as approved"\n  file "${file}" { integrity = sha256 }\n}\n`);
    const state = join(dir, "state");
    expect((await covenantAsync(["run", "--state", state, policy, "--no-push"])).code).toBe(0);
    writeFileSync(file, "level = 2\n");
    expect((await covenantAsync(["run", "--state", state, policy, "--no-push"])).code).toBeGreaterThan(0);
    await enroll(state, name);
    expect((await covenantAsync(["push", "--state", state])).code).toBe(0);
    const listed = JSON.parse(covenant(["hub", "deficiencies", name, "--config", config, "--json"]).out) as { key: string; latestRecord: number; integrityChange: boolean }[];
    expect(listed).toHaveLength(1);
    expect(listed[0]!.integrityChange).toBe(true);
    return { state, policy, file, key: listed[0]!.key, record: listed[0]!.latestRecord };
  }

  it("re-baselines the state approved while the host still observes it: the deficiency closed, the next run kept", async () => {
    const h = await changedHost("integrity-01");
    const given = covenant(["hub", "approve-change", "integrity-01", h.key, "--record", String(h.record), "--config", config, "--reason", "CHG-77 raised the level", "--by", "dave"]);
    expect(given.code, given.err).toBe(0);
    const decision = /decision (\d+)/.exec(given.out)![1]!;
    const wire = await wireId(decision);
    const p = await covenantAsync(["push", "--state", h.state]);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toMatch(new RegExp(`decision ${wire} \\(integrity-approval\\) applied: record \\d+`));
    expect(hostDeficiencies(h.state).filter((d) => d.status === "open")).toEqual([]);
    expect(covenant(["history", "--state", h.state]).out).toContain("by dave (hub)");
    const next = await covenantAsync(["run", "--state", h.state, h.policy, "--no-push"]);
    expect(next.code, next.out + next.err).toBe(0);
    expect((await decisionRow(decision)).state).toBe("applied");
    expect(covenant(["verify", "--state", h.state]).code).toBe(0);
  });

  it("is refused when the state changed again after it was given", async () => {
    const h = await changedHost("integrity-02");
    const decision = /decision (\d+)/.exec(covenant(["hub", "approve-change", "integrity-02", h.key, "--record", String(h.record), "--config", config, "--reason", "CHG-78"]).out)![1]!;
    const wire = await wireId(decision);
    writeFileSync(h.file, "level = 3 # not what was approved\n");
    const p = await covenantAsync(["push", "--state", h.state]);
    expect(p.out).toMatch(new RegExp(`decision ${wire} \\(integrity-approval\\) refused, record \\d+: the host observes another state now`));
    expect(hostDeficiencies(h.state).filter((d) => d.status === "open")).toHaveLength(1);
    const row = await decisionRow(decision);
    expect(row.state).toBe("refused");
    // and a state the hub no longer holds as the promise's newest is refused on the hub itself
    expect(covenant(["hub", "approve-change", "integrity-02", h.key, "--record", String(h.record - 1), "--config", config, "--reason", "old"]).code).not.toBe(0);
  });
});
