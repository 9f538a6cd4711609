// The host's side of the fleet hub as hosts use it: real `covenant run`, `enroll`, `push` and
// `prune` processes (the built CLI), each host with its own state directory, against a stand-in
// hub over real TLS that checks every request with protocol.ts's own functions
// (helpers/standin-hub.ts). What the hub ends up holding is compared line for line with what the
// host's store holds, as an evidence pack's extract writes it.
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractLine } from "../../src/evidence/manifest.ts";
import { chainOver, hubChainStart } from "../../src/hub/protocol.ts";
import { readEnrolment } from "../../src/hub/client/enrolment.ts";
import { pushToHub } from "../../src/hub/client/push.ts";
import { outcomesDigest, StateStore, type RunBody } from "../../src/store/store.ts";
import type { PromiseResult } from "../../src/evaluator/engine.ts";
import { covenant, covenantAsync, ensureBuilt } from "../helpers/cli.ts";
import { removeTempDirs, result, runBody, tempDir } from "../store/helpers.ts";
import { certificate, StandinHub } from "./helpers/standin-hub.ts";

let hub: StandinHub;
let caFile: string;

beforeAll(async () => {
  ensureBuilt();
  hub = await StandinHub.start();
  caFile = join(tempDir("hub-ca"), "ca.pem");
  writeFileSync(caFile, hub.tls.cert, { mode: 0o644 });
});
afterAll(async () => {
  await hub.close();
  removeTempDirs();
});

interface Host {
  policy: string;
  state: string;
}

/** A host with a one-promise policy over a file that keeps it: each run after the first records only its summary. */
function newHost(): Host {
  const dir = tempDir("hub-host");
  mkdirSync(join(dir, "srv"));
  writeFileSync(join(dir, "srv", "gl.dat"), "ledger\n", { mode: 0o640 });
  const policy = join(dir, "gl.promise");
  writeFileSync(policy, `control "ITGC-CM-02" {\n  title = "Ledger file"\n  file "${dir}/srv/gl.dat" { mode = 0640 }\n}\n`);
  return { policy, state: join(dir, "state") };
}

const run = (h: Host, extra: string[] = []) => covenantAsync(["run", "--state", h.state, ...extra, h.policy]);
const push = (h: Host, extra: string[] = []) => covenantAsync(["push", "--state", h.state, ...extra]);

let tokens = 0;
async function enroll(h: Host, extra: string[] = []): Promise<{ host: string; token: string }> {
  const token = `enrolment-token-${++tokens}-${Math.random().toString(36).slice(2)}`;
  hub.tokens.add(token);
  const e = await covenantAsync(["enroll", hub.url, "--token", token, "--ca", caFile, "--state", h.state, "--json", ...extra]);
  expect(e.code, e.err).toBe(0);
  return { host: (JSON.parse(e.out) as { host: string }).host, token };
}

/** The store's records as an evidence pack's extract writes them. */
function storeLines(state: string): string[] {
  const s = StateStore.openReadOnly(state);
  try {
    const last = s.lastRecord()?.seq ?? 0;
    return s.records(1, last).map((r) => extractLine(r));
  } finally {
    s.close();
  }
}

function expectHubHolds(host: string, state: string): void {
  const lines = storeLines(state);
  const held = hub.hosts.get(host)!;
  expect(held.lines).toEqual(lines);
  expect(held.chains.at(-1)).toBe(chainOver(hubChainStart(host), lines).toString("hex"));
}

const mode = (p: string) => statSync(p).mode & 0o777;

describe("covenant enroll", () => {
  it("registers the signing key, keeps hub.json (0600) and hub-ca.pem (0644) and never the token; refuses a second time without --again", async () => {
    const h = newHost();
    expect((await run(h)).code).toBe(0);
    const { host, token } = await enroll(h);
    const saved = JSON.parse(readFileSync(join(h.state, "hub.json"), "utf8")) as Record<string, string>;
    expect(saved).toMatchObject({ url: hub.url, host, fingerprint: expect.stringMatching(/^ed25519:[0-9a-f]{32}$/) });
    expect(JSON.stringify(saved)).not.toContain(token);
    expect(mode(join(h.state, "hub.json"))).toBe(0o600);
    expect(mode(join(h.state, "hub-ca.pem"))).toBe(0o644);
    expect(readFileSync(join(h.state, "hub-ca.pem"), "utf8")).toBe(hub.tls.cert.endsWith("\n") ? hub.tls.cert : `${hub.tls.cert}\n`);
    const key = covenant(["key", "export", "--state", h.state]);
    expect(key.err).toContain(saved["fingerprint"]);

    hub.tokens.add("another-enrolment-token");
    const twice = await covenantAsync(["enroll", hub.url, "--token", "another-enrolment-token", "--ca", caFile, "--state", h.state]);
    expect(twice.code).toBe(2);
    expect(twice.err).toContain("already enrolled");
    // the same hub knows this key already: it says so, and the enrolment kept is the first
    const same = await covenantAsync(["enroll", hub.url, "--ca", caFile, "--state", h.state, "--again"], { env: { COVENANT_ENROLL_TOKEN: "another-enrolment-token" } });
    expect(same.code).toBe(5);
    expect(same.err).toMatch(/the hub refused the enrolment \(HTTP 409\): this key is enrolled already; not enrolled/);
    expect(JSON.parse(readFileSync(join(h.state, "hub.json"), "utf8"))).toEqual(saved);
    expect((await push(h)).code).toBe(0);

    // moving to another hub: a new host id there, and the whole history sent to it
    const other = await StandinHub.start();
    try {
      const otherCa = join(tempDir("hub-ca-2"), "ca.pem");
      writeFileSync(otherCa, other.tls.cert, { mode: 0o644 });
      other.tokens.add("second-hub-enrolment-token");
      const moved = await covenantAsync(["enroll", other.url, "--ca", otherCa, "--state", h.state, "--again", "--json"], { env: { COVENANT_ENROLL_TOKEN: "second-hub-enrolment-token" } });
      expect(moved.code, moved.err).toBe(0);
      const id = (JSON.parse(moved.out) as { host: string }).host;
      expect(id).not.toBe(host);
      const sent = await push(h);
      expect(sent.code, sent.err).toBe(0);
      expect(other.hosts.get(id)!.lines).toEqual(storeLines(h.state));
    } finally {
      await other.close();
    }
  });

  it("says what the hub refused (a used token) without echoing the token; refuses a hub whose certificate the CA given did not sign", async () => {
    const h = newHost();
    const used = await covenantAsync(["enroll", hub.url, "--token", "never-issued-enrolment-secret", "--ca", caFile, "--state", h.state]);
    expect(used.code).toBe(5);
    expect(used.err).toMatch(/the hub refused the enrolment \(HTTP 401\): the enrolment token is not one this hub made; not enrolled/);
    expect(used.err + used.out).not.toContain("never-issued-enrolment-secret");

    const other = join(tempDir("hub-other-ca"), "other.pem");
    writeFileSync(other, (await certificate()).cert);
    hub.tokens.add("good-enrolment-token");
    const wrong = await covenantAsync(["enroll", hub.url, "--token", "good-enrolment-token", "--ca", other, "--state", h.state]);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/is not to be trusted: its certificate is not one the hub's CA signed for this address .*; not enrolled/);
    expect(() => statSync(join(h.state, "hub.json"))).toThrow();
    expect(hub.tokens.has("good-enrolment-token")).toBe(true); // the request never reached the hub
  });
});

describe("covenant push", () => {
  it("sends a fresh store whole, then only what is new; verify is not disturbed", async () => {
    const h = newHost();
    expect((await run(h)).code).toBe(0);
    const { host } = await enroll(h);
    const first = await push(h);
    expect(first.code, first.err).toBe(0);
    const n = storeLines(h.state).length;
    expect(first.out).toMatch(new RegExp(`^sent ${n} records in 1 push: the hub holds records up to ${n} \\(chain [0-9a-f]{12}…\\), this host's last record is ${n}; clock skew [+-]\\d+\\.\\d s`));
    expectHubHolds(host, h.state);

    // the run pushes after it: its summary goes at once
    const second = await run(h);
    expect(second.code).toBe(0);
    expect(second.out).toMatch(new RegExp(`covenant run: push: sent 1 record in 1 push: the hub holds records up to ${n + 1}`));
    expectHubHolds(host, h.state);
    expect(hub.log.filter((l) => l.path === "/v1/push").at(-1)).toMatchObject({ status: 200, records: 1 });

    const nothing = await push(h, ["--json"]);
    expect(nothing.code).toBe(0);
    expect(JSON.parse(nothing.out)).toMatchObject({ status: "caught-up", pushed: 0, sent: 0, holds: { seq: n + 1 }, head: n + 1 });
    const v = covenant(["verify", "--state", h.state]);
    expect(v.code, v.out).toBe(0);
  });

  it("keeps the records while the hub is down, and sends them in order once it is back; the run's exit code and time are its own", async () => {
    const h = newHost();
    expect((await run(h)).code).toBe(0);
    const { host } = await enroll(h);
    expect((await push(h)).code).toBe(0);
    await hub.down();
    try {
      const t0 = Date.now();
      const during = await run(h);
      expect(during.code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(during.err).toMatch(/covenant run: push: the hub is unreachable \(ECONNREFUSED \(connect\)\): 1 record wait; they will be sent later/);
      expect((await run(h, ["--no-push"])).err).toBe("");
      // a run that finds a deficiency exits 1 whatever the push did
      chmodSync(h.policy.replace(/gl\.promise$/, "srv/gl.dat"), 0o644);
      const deficient = await run(h);
      expect(deficient.code).toBe(1);
      expect(deficient.err).toMatch(/covenant run: push: the hub is unreachable .*: 4 records wait; they will be sent later/);
      chmodSync(h.policy.replace(/gl\.promise$/, "srv/gl.dat"), 0o640);
      const waiting = await push(h);
      expect(waiting.code).toBe(4);
      expect(waiting.err).toMatch(/the hub is unreachable .*: 4 records wait; they will be sent later/);
    } finally {
      await hub.up();
    }
    hub.failWith = 503;
    try {
      const busy = await push(h);
      expect(busy.code).toBe(4);
      expect(busy.err).toMatch(/the hub is unreachable \(HTTP 503: the database is down\): 4 records wait/);
    } finally {
      hub.failWith = undefined;
    }
    const after = await push(h);
    expect(after.code, after.err).toBe(0);
    expect(after.out).toMatch(/^sent 4 records in 1 push/);
    expectHubHolds(host, h.state);
  });

  it("sends again from where a hub restored from a backup stands, when its chain there is the host's", async () => {
    const h = newHost();
    expect((await run(h)).code).toBe(0);
    expect((await run(h, ["--no-push"])).code).toBe(0);
    const { host } = await enroll(h);
    expect((await push(h)).code).toBe(0);
    const n = storeLines(h.state).length;
    hub.lose(host, n - 2);
    const r = await push(h);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`the hub held only records up to ${n - 2} (the host believed ${n}), so they were sent again from there`);
    expectHubHolds(host, h.state);
    hub.lose(host, 0);
    expect((await push(h)).code).toBe(0);
    expectHubHolds(host, h.state);
  });

  it("stops and says so when the hub reports a fork or a rollback (the store restored from a copy), with the hub's words escaped", async () => {
    const h = newHost();
    expect((await run(h)).code).toBe(0);
    const { host } = await enroll(h);
    expect((await push(h)).code).toBe(0);
    const copy = `${h.state}.copy`;
    cpSync(h.state, copy, { recursive: true, preserveTimestamps: true });
    expect((await run(h)).code).toBe(0);
    expect((await run(h)).code).toBe(0);
    const held = hub.hosts.get(host)!.lines.length;
    // the copy put back: one run leaves its head below what the hub holds, three fork it
    rmSync(h.state, { recursive: true });
    cpSync(copy, h.state, { recursive: true, preserveTimestamps: true });
    const back = await run(h);
    expect(back.code).toBe(0);
    expect(back.err).toMatch(/covenant run: push: the hub refused the push \(HTTP 409, rollback\): the host's head \d+ is below record \d+, which it sent; 1 record wait, and will not be sent until this is resolved/);
    expect((await run(h, ["--no-push"])).code).toBe(0);
    expect((await run(h, ["--no-push"])).code).toBe(0);
    const fork = await push(h);
    expect(fork.code).toBe(5);
    expect(fork.err).toMatch(/the hub refused the push \(HTTP 409, fork\): record \d+ is not the one the host sent before; 3 records wait/);
    expect(hub.hosts.get(host)!.lines.length).toBe(held);

    hub.failWith = 400;
    hub.failBody = { error: "\u001b[2J\u001b[31mforged\nOK caught up" };
    try {
      const evil = await push(h);
      expect(evil.code).toBe(5);
      expect(evil.err).not.toMatch(/\u001b/);
      expect(evil.err.trim().split("\n")).toHaveLength(1);
      expect(evil.err).toContain("(HTTP 400, malformed): the hub found the push malformed: \\x1b[2J\\x1b[31mforged\\nOK caught up; 3 records wait");
    } finally {
      hub.failWith = undefined;
    }
  });

  it("takes a hub that holds more than a push sent (another push of the host went first) only when the host's own chain agrees", async () => {
    const h = newHost();
    expect((await run(h)).code).toBe(0);
    for (let i = 0; i < 3; i++) expect((await run(h, ["--no-push"])).code).toBe(0);
    const { host } = await enroll(h);
    expect((await push(h)).code).toBe(0);
    const n = storeLines(h.state).length;
    // this host's record of the position set back, as a push that read it before the other one finished would have it
    const s = StateStore.open(h.state);
    try {
      s.setHubPosition(host, { seq: 2, chain: chainOver(hubChainStart(host), storeLines(h.state).slice(0, 2)).toString("hex") }, { back: true });
      const found = readEnrolment(h.state)!;
      const o = await pushToHub(s, found.enrolment, found.ca, s.signingKey(false)!, { maxRecords: 2 });
      expect(o).toMatchObject({ status: "caught-up", holds: { seq: n }, batches: 1, pushed: 2, sent: 0 });
      expect(s.hubPosition(host)?.seq).toBe(n);
      // a hub whose answer the host's chain does not bear out is not believed
      s.setHubPosition(host, { seq: 2, chain: chainOver(hubChainStart(host), storeLines(h.state).slice(0, 2)).toString("hex") }, { back: true });
      const held = hub.hosts.get(host)!;
      held.chains[n - 1] = "0".repeat(64);
      const lie = await pushToHub(s, found.enrolment, found.ca, s.signingKey(false)!, { maxRecords: 2 });
      expect(lie).toMatchObject({ status: "refused", reason: "answer" });
      expect(lie.status === "refused" && lie.message).toMatch(new RegExp(`the hub says it holds records up to ${n}, past the push's last record \\(4\\), and the host cannot vouch for it: its chain value at record ${n} is not this host's`));
      expect(s.hubPosition(host)?.seq).toBe(2);
    } finally {
      s.close();
    }
  });

  it("sends a long history in several pushes, in order", async () => {
    const dir = tempDir("hub-long");
    const s = StateStore.open(dir);
    // 45 runs of 100 promises that all change state each run: 4,500 change records and the summaries
    for (let run = 1; run <= 45; run++) {
      const results: PromiseResult[] = Array.from({ length: 100 }, (_, i) => result(`C-1/file:/srv/f${i}`, run % 2 === 0 ? "kept" : "drift", run % 2 === 0 ? [] : ["mode is 0644, promised 0640"]));
      const r = s.beginRun();
      for (const x of results) s.recordResult(r, `2026-11-23T10:00:00.${String(run).padStart(3, "0")}Z`, x);
      s.finishRun({ ...runBody(r, 100), outcomes: outcomesDigest(results) } as RunBody, undefined, results.map((x) => x.key));
    }
    s.close();
    const h = { policy: "", state: dir };
    const { host } = await enroll(h);
    const before = hub.log.length;
    const r = await push(h);
    expect(r.code, r.err).toBe(0);
    const total = storeLines(dir).length;
    expect(total).toBeGreaterThan(4500);
    expect(r.out).toMatch(new RegExp(`^sent ${total} records in 3 pushes`));
    expect(hub.log.slice(before).map((l) => l.records)).toEqual([2000, 2000, total - 4000]);
    expectHubHolds(host, dir);
  });
});
