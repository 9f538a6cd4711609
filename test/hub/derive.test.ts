// The fleet's state derived from pushed records: each promise's current outcome, each change,
// each host's last run that counts (dry runs and sandbox runs do not), and records the hub cannot
// read stored but deriving nothing.
import { describe, expect, it } from "vitest";
import { makeEnrollToken } from "../../src/hub/admin.js";
import { hubPerTest } from "./helpers/config.js";
import { SyntheticHost } from "./helpers/synthetic-host.js";

const t = hubPerTest();

const mac = (n: number) => n.toString(16).padStart(64, "0");
function line(seq: number, kind: string, run: number, body: unknown): string {
  return JSON.stringify({ seq, kind, run, time: new Date(Date.UTC(2026, 11, 6, 10, 0, seq)).toISOString(), body, mac: mac(seq) });
}
const change = (key: string, control: string, from: string | null, to: string) => ({ key, control, type: "file", promiser: `/etc/${key}`, from, to, reason: `now ${to}`, differences: [], changes: [] });
const summary = (run: number, extra: Record<string, unknown> = {}) => ({ run, kind: "run", host: "web-01", started: "2026-12-06T10:00:00Z", finished: `2026-12-06T10:0${run}:00Z`, policy: "ab".repeat(32), dryRun: false, promises: 3, counts: { kept: 2, drift: 1 }, outcomes: "cd".repeat(32), changed: 2, ...extra });

describe("derived fleet state", () => {
  it("keeps each promise's newest outcome, every change, and the last run that counts", async () => {
    const host = new SyntheticHost();
    const { token } = await makeEnrollToken(t.hub.pool, { validForMs: 60_000, actor: "t" });
    await host.enroll(t.hub.url, t.cert.certPem, token);
    host.lines = [
      line(1, "change", 1, change("sshd", "SOX-AC-01", null, "kept")),
      line(2, "change", 1, change("shadow", "SOX-AC-02", null, "drift")),
      line(3, "run", 1, summary(1)),
      line(4, "change", 2, change("shadow", "SOX-AC-02", "drift", "repaired")),
      line(5, "run", 2, summary(2, { counts: { kept: 2, repaired: 1 } })),
      line(6, "run", 3, summary(3, { dryRun: true, counts: { drift: 3 } })),
      line(7, "change", 4, { key: "x", control: "C", type: "file", promiser: "/x", from: null, to: "exploded", reason: "" }),
      line(8, "change", 4, "not an object"),
    ];
    expect((await host.push(t.hub.url, t.cert.certPem, 0, 4)).body).toMatchObject({ stored: 4 });
    expect((await host.push(t.hub.url, t.cert.certPem, 4, 8)).body).toMatchObject({ stored: 4 });
    const state = (await t.hub.pool.query("SELECT key, control, outcome, seq FROM hub_promise_state ORDER BY key")).rows;
    expect(state).toEqual([
      { key: "shadow", control: "SOX-AC-02", outcome: "repaired", seq: "4" },
      { key: "sshd", control: "SOX-AC-01", outcome: "kept", seq: "1" },
    ]);
    const changes = (await t.hub.pool.query("SELECT seq, from_outcome, to_outcome FROM hub_changes ORDER BY seq")).rows;
    expect(changes).toEqual([
      { seq: "1", from_outcome: null, to_outcome: "kept" },
      { seq: "2", from_outcome: null, to_outcome: "drift" },
      { seq: "4", from_outcome: "drift", to_outcome: "repaired" },
    ]);
    const h = (await t.hub.pool.query("SELECT last_run_seq, counts, promises, last_run_kind FROM hub_hosts")).rows[0];
    expect(h).toEqual({ last_run_seq: "5", counts: { kept: 2, repaired: 1 }, promises: 3, last_run_kind: "run" });
    // every record is kept as evidence, the unreadable ones too
    expect((await t.hub.pool.query("SELECT count(*)::int AS n FROM hub_records")).rows[0]).toEqual({ n: 8 });
  });
});
