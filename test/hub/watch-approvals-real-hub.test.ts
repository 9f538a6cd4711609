// Integrity approvals given on the hub, applied by a running `covenant watch`: between two of its
// evaluations (never beside one), under the run lock, and the promise evaluated whole again at
// once, so that its outcome is the approved baseline's and the hub learns the answer from the
// push that follows. `covenant hub serve` on real PostgreSQL over HTTPS, a real watcher process
// reading real inotify events, real `run`, `enroll`, `push` and `hub approve-change` processes.
import type { ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../../src/store/store.ts";
import { covenant, covenantAsync } from "../helpers/cli.ts";
import { startWatcher } from "../helpers/watcher.ts";
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
const children: ChildProcess[] = [];

beforeAll(async () => {
  hub = await startRealHub("watch-approvals-hub");
  ({ db, cert, config, url } = hub);
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
}, 60_000);

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

afterAll(async () => {
  await pool?.end();
  await stopRealHub(hub);
});

async function enroll(state: string, name: string): Promise<void> {
  const made = covenant(["hub", "token", "--config", config]);
  expect(made.code, made.err).toBe(0);
  const e = await covenantAsync(["enroll", url, "--ca", cert.cert, "--state", state, "--name", name, "--json"], { env: { COVENANT_ENROLL_TOKEN: made.out.trim() } });
  expect(e.code, e.err).toBe(0);
}

/** An enrolled host whose configuration file is kept to its approved state, watched in real time; its first run approved "level = 1". */
async function watchedHost(name: string): Promise<{ state: string; policy: string; file: string }> {
  const dir = tempDir(`watch-approvals-${name}`);
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, "etc"));
  const file = join(dir, "etc", "app.conf");
  writeFileSync(file, "level = 1\n", { mode: 0o640 });
  const policy = join(dir, "policy");
  mkdirSync(policy, { mode: 0o700 });
  writeFileSync(join(policy, "p.promise"), `control "CFG-1" {\n  title = "the application's configuration changes only as approved"\n  file "${file}" {\n    integrity = sha256\n    watch     = realtime\n  }\n}\n`, { mode: 0o600 });
  const state = join(dir, "state");
  expect((await covenantAsync(["run", "--state", state, "--no-push", policy])).code).toBe(0);
  await enroll(state, name);
  return { state, policy, file };
}

/** The promise's open deficiency as the hub lists it: its key and the change record that reported its state. */
function onHub(name: string): { key: string; latestRecord: number; integrityChange: boolean }[] {
  const r = covenant(["hub", "deficiencies", name, "--config", config, "--json"]);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as never;
}

/** Gives an integrity approval on the hub; its number there, and its id as the host records it. */
async function approveOnHub(name: string, key: string, record: number, reason: string): Promise<{ decision: string; wire: string }> {
  const given = covenant(["hub", "approve-change", name, key, "--record", String(record), "--config", config, "--reason", reason, "--by", "dave"]);
  expect(given.code, given.err).toBe(0);
  const decision = /decision (\d+)/.exec(given.out)![1]!;
  const nonce = (await pool.query<{ nonce: string }>("SELECT nonce FROM hub_decisions WHERE id = $1", [decision])).rows[0]!.nonce;
  return { decision, wire: `${decision}-${nonce}` };
}

async function decisionRow(id: string): Promise<{ state: string; host_record: string | null; host_reason: string | null }> {
  return (await pool.query("SELECT state, host_record, host_reason FROM hub_decisions WHERE id = $1", [id])).rows[0] as never;
}

/** The host's records of a kind, bodies parsed. */
function hostRecords(state: string, kind: string): { seq: number; body: Record<string, unknown> }[] {
  const s = StateStore.openReadOnly(state);
  try {
    return s
      .records(1, s.lastRecord()?.seq ?? 0)
      .filter((r) => r.kind === kind)
      .map((r) => ({ seq: r.seq, body: JSON.parse(r.body) as Record<string, unknown> }));
  } finally {
    s.close();
  }
}

function openDeficiencies(state: string): { key: string }[] {
  return (JSON.parse(covenant(["deficiencies", "--state", state, "--json"]).out) as { key: string; status: string }[]).filter((d) => d.status === "open");
}

describe("an integrity approval given on the hub, with the watcher running", () => {
  it("is applied by the watcher between its evaluations: the hub sees it applied, the host records the approval, the promise is kept", async () => {
    const h = await watchedHost("watched-01");
    const w = startWatcher(["--state", h.state, h.policy], children);
    await w.waitFor(/watch run 2 \(start-up rescan\): 1 promise, all kept/);
    await w.waitFor(/covenant watch: push: sent \d+ records? in 1 push/);
    // the change is the watcher's own finding, recorded by its evaluation of the event
    writeFileSync(h.file, "level = 2\n");
    await w.waitFor(/watch run 3 \(event on .*\): 1 promise, 1 not kept/);
    // the watcher pushes at most every 30 s: its record reaches the hub now through `covenant push`
    // (which applies no decision: none is given yet), and the approval goes with the watcher's next push
    expect((await covenantAsync(["push", "--state", h.state])).code).toBe(0);
    const listed = onHub("watched-01");
    expect(listed).toHaveLength(1);
    expect(listed[0]!.integrityChange).toBe(true);
    const change = hostRecords(h.state, "change").at(-1)!;
    expect(listed[0]!.latestRecord).toBe(change.seq);
    const { decision, wire } = await approveOnHub("watched-01", listed[0]!.key, listed[0]!.latestRecord, "CHG-90 raised the level");

    await w.waitFor(new RegExp(`covenant watch: push: .*decision ${wire} \\(integrity-approval\\) applied: record \\d+`), 45_000);
    // the promise evaluated whole again at once, against the approved baseline
    const seen = await w.waitFor(/watch run \d+ \(an integrity approval from the hub was applied: the promise whole again\): 1 promise, all kept/, 10_000);
    const approvedAt = Number(new RegExp(`decision ${wire} \\(integrity-approval\\) applied: record (\\d+)`).exec(seen)![1]);
    const approvals = hostRecords(h.state, "approval");
    expect(approvals.map((a) => a.seq)).toContain(approvedAt);
    expect(approvals.find((a) => a.seq === approvedAt)!.body).toMatchObject({ decision: wire, by: "dave (hub)", reason: "CHG-90 raised the level" });
    expect(openDeficiencies(h.state)).toEqual([]);
    // what the store says after it: the approval's own run closed the deficiency (drift → kept), and
    // the watcher's whole evaluation after it found the approved state (kept, so no change record)
    const changesAfter = hostRecords(h.state, "change").filter((c) => c.seq > approvedAt);
    expect(changesAfter.map((c) => [c.body["from"], c.body["to"]])).toEqual([["drift", "kept"]]);
    const runsAfter = hostRecords(h.state, "run").filter((r) => r.seq > approvedAt);
    expect(runsAfter.map((r) => [r.body["kind"], r.body["counts"]])).toEqual([
      ["run", { kept: 1 }],
      ["watch", { kept: 1 }],
    ]);
    // the hub learnt it from the push that followed the approval
    const row = await decisionRow(decision);
    expect(row.state).toBe("applied");
    expect(Number(row.host_record)).toBe(approvedAt);
    expect(onHub("watched-01")).toEqual([]);

    // approved means kept from now on: the watcher's next evaluation of the file is kept, and so is a run's
    const mark = w.out().length;
    writeFileSync(h.file, "level = 2\n");
    while (!/watch run \d+ \(event on [^\n]*\): 1 promise, (all kept|1 not kept)/.test(w.out().slice(mark))) await new Promise((r) => setTimeout(r, 20));
    expect(w.out().slice(mark)).toMatch(/watch run \d+ \(event on [^\n]*app\.conf[^\n]*\): 1 promise, all kept/);
    w.child.kill("SIGTERM");
    expect(await w.exited).toBe(0);
    const next = await covenantAsync(["run", "--state", h.state, "--no-push", h.policy]);
    expect(next.code, next.out + next.err).toBe(0);
    expect(covenant(["verify", "--state", h.state]).code).toBe(0);
  }, 90_000);

  it("is refused when the file changed again before the approval reached the watcher: nothing approved, the hub sees it refused", async () => {
    const h = await watchedHost("watched-02");
    writeFileSync(h.file, "level = 2\n");
    expect((await covenantAsync(["run", "--state", h.state, "--no-push", h.policy])).code).toBeGreaterThan(0);
    expect((await covenantAsync(["push", "--state", h.state])).code).toBe(0);
    const listed = onHub("watched-02");
    expect(listed).toHaveLength(1);
    const { decision, wire } = await approveOnHub("watched-02", listed[0]!.key, listed[0]!.latestRecord, "CHG-91");
    // changed again before any push brings the approval: the watcher's start-up rescan finds the new state
    writeFileSync(h.file, "level = 3 # not what was approved\n");
    const approvalsBefore = hostRecords(h.state, "approval").length;
    const w = startWatcher(["--state", h.state, h.policy], children);
    await w.waitFor(/watch run \d+ \(start-up rescan\): 1 promise, 1 not kept/);
    await w.waitFor(new RegExp(`covenant watch: push: .*decision ${wire} \\(integrity-approval\\) refused, record \\d+: the promise's state changed since record ${listed[0]!.latestRecord}`), 20_000);
    expect(hostRecords(h.state, "approval")).toHaveLength(approvalsBefore);
    expect(openDeficiencies(h.state)).toHaveLength(1);
    expect(w.out()).not.toMatch(/an integrity approval from the hub was applied/);
    const row = await decisionRow(decision);
    expect(row.state).toBe("refused");
    expect(row.host_reason).toContain("changed since record");
    w.child.kill("SIGTERM");
    expect(await w.exited).toBe(0);
    expect(covenant(["verify", "--state", h.state]).code).toBe(0);
  }, 60_000);
});
