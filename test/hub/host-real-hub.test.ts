// The host's side against the real hub: `covenant hub serve` on real PostgreSQL (a database of its
// own) over HTTPS, and real `covenant run`, `enroll`, `push` processes with their own state
// directories. The stand-in (helpers/standin-hub.ts) covers the faults; this holds the two sides
// of protocol v1 to each other.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import pg from "pg";
import { decideVersion, publishVersion } from "../../src/hub/policy/versions.ts";
import { hubSigningKey } from "../../src/hub/signing.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../../src/store/store.ts";
import { readEnrolment } from "../../src/hub/client/enrolment.ts";
import { pushToHub } from "../../src/hub/client/push.ts";
import { covenant, covenantAsync } from "../helpers/cli.ts";
import { dailyStore } from "../cli/prune-store.ts";
import { tempDir } from "../store/helpers.ts";
import type { TestCert } from "./helpers/certs.ts";
import type { TestDatabase } from "./helpers/pg.ts";
import { startRealHub, stopRealHub, type RealHub } from "./helpers/real-hub.ts";

let hub: RealHub;
let db: TestDatabase;
let cert: TestCert;
let config: string;
let url: string;

beforeAll(async () => {
  hub = await startRealHub("real-hub");
  ({ db, cert, config, url } = hub);
}, 60_000);

afterAll(async () => {
  await stopRealHub(hub);
});

async function enroll(state: string, name: string): Promise<string> {
  const made = covenant(["hub", "token", "--config", config]);
  expect(made.code, made.err).toBe(0);
  const e = await covenantAsync(["enroll", url, "--ca", cert.cert, "--state", state, "--name", name, "--json"], { env: { COVENANT_ENROLL_TOKEN: made.out.trim() } });
  expect(e.code, e.err).toBe(0);
  expect(e.out + e.err).not.toContain(made.out.trim());
  return (JSON.parse(e.out) as { host: string }).host;
}

/** A host that ran a one-file policy (`control`, given the host's directory), enrolled as `name`, and pushed. */
async function pushingHost(dirName: string, name: string, control = (dir: string) => `control "C-1" {\n  title = "t"\n  file "${dir}/p.promise" { mode = 0644 }\n}\n`): Promise<{ state: string; policy: string }> {
  const dir = tempDir(dirName);
  const policy = join(dir, "p.promise");
  writeFileSync(policy, control(dir), { mode: 0o644 });
  const state = join(dir, "state");
  expect((await covenantAsync(["run", "--state", state, policy])).code).toBeLessThan(2);
  await enroll(state, name);
  expect((await covenantAsync(["push", "--state", state])).code).toBe(0);
  return { state, policy };
}

/** What `covenant hub hosts` says the hub holds of a host. */
function hubHolds(name: string): number {
  const hosts = JSON.parse(covenant(["hub", "hosts", "--config", config, "--json"]).out) as { name: string; lastSeq: number }[];
  return hosts.find((h) => h.name === name)!.lastSeq;
}

const head = (state: string) => {
  const s = StateStore.openReadOnly(state);
  try {
    return s.lastRecord()!.seq;
  } finally {
    s.close();
  }
};

describe("a host running the hub's policy", () => {
  it("runs the version in force (--from-hub), checked with the hub's key and here, and the last good one when the hub is out of reach", async () => {
    const dir = tempDir("from-hub-host");
    mkdirSync(join(dir, "srv"));
    writeFileSync(join(dir, "srv", "ap.dat"), "x\n", { mode: 0o640 });
    const local = join(dir, "local.promise");
    writeFileSync(local, `control "C-1" {\n  title = "t"\n  file "${dir}/srv/ap.dat" { mode = 0640 }\n}\n`);
    const state = join(dir, "state");
    expect((await covenantAsync(["run", "--state", state, local, "--no-push"])).code).toBe(0);
    await enroll(state, "ap-01");
    const none = await covenantAsync(["run", "--from-hub", "--state", state, "--no-push"]);
    expect(none.code).toBe(2);
    expect(none.err).toContain("the hub has no policy version in force for this host");
    // an author publishes, with approval not required for this test (the hub's own key signs it)
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const key = hubSigningKey(join(dirname(config), "signing.key"), false);
      const text = `control "AP-1" {\n  title = "application data is not world-writable"\n  file "${dir}/srv/ap.dat" { mode = 0640 }\n}\n`;
      const r = await publishVersion(pool, key, { files: [{ path: "ap.promise", text }], message: "CHG-9", author: "alice", approvalRequired: false });
      expect(r).toMatchObject({ version: { status: "approved" } });
    } finally {
      await pool.end();
    }
    const first = await covenantAsync(["run", "--from-hub", "--state", state, "--no-push"]);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/the hub's policy version \d+ \([0-9a-f]{12}\) taken: it checks on this host/);
    expect(first.out).toContain("AP-1");
    expect(readFileSync(join(state, "hub-policy", "current"), "utf8").trim()).toMatch(/^[0-9a-f]{64}$/);
    const again = await covenantAsync(["run", "--from-hub", "--state", state]);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/the hub's policy [0-9a-f]{12}, as before/);
    // the hub reports which version the host runs, from what it pushed
    const hosts = JSON.parse(covenant(["hub", "hosts", "--config", config, "--json"]).out) as { name: string }[];
    expect(hosts.some((h) => h.name === "ap-01")).toBe(true);
    // a version that does not check on this host (here, put in the hub's tables past its own check): the last good one runs
    const pool2 = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const key = hubSigningKey(join(dirname(config), "signing.key"), false);
      const bad = [{ path: "ap.promise", text: 'control "AP-1" {\n  file "/x" { mode = 0999 }\n}\n' }];
      const v = await pool2.query<{ id: string }>("INSERT INTO hub_policy_versions (content, files, author, message, status) VALUES ($1, $2, 'mallory', 'bad', 'pending') RETURNING id", ["ab".repeat(32), JSON.stringify(bad)]);
      expect(await decideVersion(pool2, key, { id: Number(v.rows[0]!.id), by: "bob", decision: "approved" })).toMatchObject({ version: { status: "approved" } });
    } finally {
      await pool2.end();
    }
    const kept = await covenantAsync(["run", "--from-hub", "--state", state, "--no-push"]);
    expect(kept.code, kept.err).toBe(0);
    expect(kept.err).toMatch(/ap\.promise:2:\d+/);
    expect(kept.out).toMatch(/the hub's policy version \d+ \(abababababab\) does not check on this host \(above\): the last good version [0-9a-f]{12} runs/);
    // the hub out of reach: the last good version runs, said so
    const enrolment = JSON.parse(readFileSync(join(state, "hub.json"), "utf8")) as { url: string };
    writeFileSync(join(state, "hub.json"), JSON.stringify({ ...enrolment, url: "https://127.0.0.1:1" }), { mode: 0o600 });
    const offline = await covenantAsync(["run", "--from-hub", "--state", state, "--no-push"]);
    expect(offline.code, offline.err).toBe(0);
    expect(offline.out).toMatch(/no policy from the hub \(the hub could not be reached: .*\): the last good version [0-9a-f]{12} runs/);
    expect((await covenantAsync(["run", "--from-hub", "--state", state, local])).code).toBe(2);
  });
});

describe("a host and the real hub", () => {
  it("enrols, pushes its history, and every run pushes what it recorded", async () => {
    const dir = tempDir("real-hub-host");
    mkdirSync(join(dir, "srv"));
    writeFileSync(join(dir, "srv", "gl.dat"), "x\n", { mode: 0o640 });
    const policy = join(dir, "p.promise");
    writeFileSync(policy, `control "C-1" {\n  title = "t"\n  file "${dir}/srv/gl.dat" { mode = 0640 }\n}\n`);
    const state = join(dir, "state");
    expect((await covenantAsync(["run", "--state", state, policy])).code).toBe(0);
    await enroll(state, "gl-db-01");
    // the hub's own key kept, for the policy versions it signs
    expect(JSON.parse(readFileSync(join(state, "hub.json"), "utf8"))).toMatchObject({ name: "gl-db-01", hubKey: { fingerprint: expect.stringMatching(/^ed25519:[0-9a-f]{32}$/) } });
    const p = await covenantAsync(["push", "--state", state]);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toMatch(new RegExp(`^sent ${head(state)} records in 1 push: the hub holds records up to ${head(state)}`));
    expect(hubHolds("gl-db-01")).toBe(head(state));
    const r = await covenantAsync(["run", "--state", state, policy]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/covenant run: push: sent 1 record in 1 push/);
    expect(hubHolds("gl-db-01")).toBe(head(state));
  });

  it("sends a store pruned before its first push, naming the prune's cut", async () => {
    const { dir } = dailyStore("real-hub-pruned");
    const out = tempDir("real-hub-pack");
    expect(covenant(["key", "export", "--state", dir, "--out", join(out, "host.pub")]).code).toBe(0);
    expect(covenant(["evidence", "--from", "2026-11-01", "--to", "2026-11-30", "--tz", "UTC", "--out", join(out, "pack"), "--state", dir]).code).toBe(0);
    expect(covenant(["prune", "--state", dir, "--before", "2026-11-23", "--tz", "UTC", "--pack", join(out, "pack.tar.gz")]).code).toBe(0);
    await enroll(dir, "gl-db-02");
    const p = await covenantAsync(["push", "--state", dir]);
    expect(p.code, p.err).toBe(0);
    expect(hubHolds("gl-db-02")).toBe(head(dir));
  });

  it("after `covenant key rotate`, pushes with the new key, naming it, and the hub takes it from the rotation record", async () => {
    const { state } = await pushingHost("real-hub-rotate", "gl-db-03");
    const rotated = covenant(["key", "rotate", "--state", state, "--reason", "yearly", "--json"]);
    expect(rotated.code, rotated.err).toBe(0);
    const to = (JSON.parse(rotated.out) as { new: string }).new;
    const p = await covenantAsync(["push", "--state", state]);
    expect(p.code, p.err).toBe(0);
    expect(hubHolds("gl-db-03")).toBe(head(state));
    const hosts = JSON.parse(covenant(["hub", "hosts", "--config", config, "--json"]).out) as { name: string; fingerprint: string }[];
    expect(hosts.find((h) => h.name === "gl-db-03")!.fingerprint).toBe(to);
    expect(JSON.parse(readFileSync(join(state, "hub.json"), "utf8"))).toMatchObject({ fingerprint: to });
  });
  it("takes a rotated key whose rotation record lies past the first push of a long backlog (the pushes before it carry the record ahead)", async () => {
    const { state, policy } = await pushingHost("real-hub-rotate-backlog", "gl-db-04");
    const sent = hubHolds("gl-db-04");
    for (let i = 0; i < 3; i++) expect((await covenantAsync(["run", "--state", state, "--no-push", policy])).code).toBeLessThan(2);
    const rotated = covenant(["key", "rotate", "--state", state, "--reason", "yearly", "--json"]);
    expect(rotated.code, rotated.err).toBe(0);
    const to = (JSON.parse(rotated.out) as { new: string }).new;
    // pushes of two records: the rotation's record is several pushes past the first, each signed with the new key
    const s = StateStore.open(state);
    try {
      expect(s.rotationsAfter(sent + 2).length).toBe(1);
      const found = readEnrolment(state)!;
      const o = await pushToHub(s, found.enrolment, found.ca, s.signingKey(false)!, { maxRecords: 2 });
      expect(o).toMatchObject({ status: "caught-up" });
      expect(o.batches).toBeGreaterThanOrEqual(2);
    } finally {
      s.close();
    }
    expect(hubHolds("gl-db-04")).toBe(head(state));
    const hosts = JSON.parse(covenant(["hub", "hosts", "--config", config, "--json"]).out) as { name: string; fingerprint: string }[];
    expect(hosts.find((h) => h.name === "gl-db-04")!.fingerprint).toBe(to);
  });
  it("checks the policies hosts pushed in the bundle's own thread, and catalogues them", async () => {
    await pushingHost("real-hub-catalogue", "gl-db-05", (dir) => `control "CAT-1" {\n  title    = "catalogued by the thread"\n  severity = low\n  file "${dir}/p.promise" { mode = 0644 }\n}\n`);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      let rows: { problem: string | null; controls: number }[] = [];
      for (let i = 0; i < 100; i++) {
        rows = (await c.query<{ problem: string | null; controls: number }>("SELECT problem, controls FROM hub_policy_contents")).rows;
        if (rows.length && rows.every((r) => r.problem !== "not checked yet")) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      for (let i = 0; i < 100; i++) {
        if ((await c.query("SELECT 1 FROM hub_controls WHERE control = 'CAT-1' AND title = 'catalogued by the thread'")).rowCount) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(rows.length).toBeGreaterThan(0);
      // each checked (some of these tests' policies do not check: that is a finding of the check, not a failure of the thread)
      expect(rows.filter((r) => r.problem === "not checked yet" || /^its check|could not start/.test(r.problem ?? ""))).toEqual([]);
      expect(rows.some((r) => r.problem === null && r.controls > 0)).toBe(true);
      expect((await c.query("SELECT title FROM hub_controls WHERE control = 'CAT-1'")).rows).toEqual([{ title: "catalogued by the thread" }]);
    } finally {
      await c.end();
    }
  });
});
