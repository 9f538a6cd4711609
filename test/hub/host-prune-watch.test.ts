// With a hub, the hub holds it: `covenant prune` on an enrolled host removes only records the hub
// has acknowledged. The watcher pushes after its evaluations, at most every 30 s, and what waits
// when it stops goes then. And a hub that takes the connection but never answers costs a run at
// most its push's time limit, never its exit code. Real CLI processes, a stand-in hub over TLS.
import type { ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { extractLine } from "../../src/evidence/manifest.ts";
import { StateStore } from "../../src/store/store.ts";
import { covenant, covenantAsync, ensureBuilt } from "../helpers/cli.ts";
import { startWatcher } from "../helpers/watcher.ts";
import { dailyStore } from "../cli/prune-store.ts";
import { removeTempDirs, tempDir } from "../store/helpers.ts";
import { StandinHub } from "./helpers/standin-hub.ts";

let hub: StandinHub;
let caFile: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  ensureBuilt();
  hub = await StandinHub.start();
  caFile = join(tempDir("hub-ca"), "ca.pem");
  writeFileSync(caFile, hub.tls.cert, { mode: 0o644 });
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});
afterAll(async () => {
  await hub.close();
  removeTempDirs();
});

let tokens = 0;
async function enroll(state: string, url = hub.url): Promise<string> {
  const token = `prune-watch-enrolment-token-${++tokens}`;
  hub.tokens.add(token);
  const e = await covenantAsync(["enroll", url, "--token", token, "--ca", caFile, "--state", state, "--json"]);
  expect(e.code, e.err).toBe(0);
  return (JSON.parse(e.out) as { host: string }).host;
}

function storeLines(state: string): string[] {
  const s = StateStore.openReadOnly(state);
  try {
    return s.records(1, s.lastRecord()?.seq ?? 0).map((r) => extractLine(r));
  } finally {
    s.close();
  }
}

describe("covenant prune on an enrolled host", () => {
  it("refuses to remove records the hub does not hold, until they are pushed", async () => {
    const { dir } = dailyStore("hub-prune");
    const out = tempDir("hub-pack");
    expect(covenant(["key", "export", "--state", dir, "--out", join(out, "host.pub")]).code).toBe(0);
    const e = covenant(["evidence", "--from", "2026-11-01", "--to", "2026-11-30", "--tz", "UTC", "--out", join(out, "pack"), "--state", dir]);
    expect(e.code, e.err).toBe(0);
    const host = await enroll(dir);
    const args = ["prune", "--state", dir, "--before", "2026-11-23", "--tz", "UTC", "--pack", join(out, "pack.tar.gz")];
    const refused = covenant(args);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/this host is enrolled with a hub, which holds none of its records, but this prune removes records up to \d+: run `covenant push` first, so that the hub holds every record removed \(nothing is pruned\)/);
    expect(covenant([...args, "--dry-run"]).code).toBe(2);
    const pushed = await covenantAsync(["push", "--state", dir]);
    expect(pushed.code, pushed.err).toBe(0);
    const done = covenant(args);
    expect(done.code, done.err).toBe(0);
    expect(covenant(["verify", "--state", dir]).code).toBe(0);
    // the prune record goes to the hub after the records it holds
    const after = await covenantAsync(["push", "--state", dir]);
    expect(after.code, after.err).toBe(0);
    expect(after.out).toMatch(/^sent 1 record in 1 push/);
    expect(hub.hosts.get(host)!.lines.at(-1)).toBe(storeLines(dir).at(-1));
  });
});

describe("the watcher's pushes", () => {
  it("pushes after its first evaluation, then at most once every 30 s, and what waits goes when it stops", async () => {
    const dir = tempDir("hub-watch");
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "files"));
    const ledger = join(dir, "files", "ledger.conf");
    writeFileSync(ledger, "x\n", { mode: 0o640 });
    chmodSync(ledger, 0o640);
    const policy = join(dir, "policy");
    mkdirSync(policy, { mode: 0o700 });
    writeFileSync(join(policy, "p.promise"), `control "W-1" {\n  title = "t"\n  file "${ledger}" {\n    mode  = 0640\n    watch = realtime\n  }\n}\n`, { mode: 0o600 });
    const state = join(dir, "state");
    // a store to enroll: one run first
    expect((await covenantAsync(["run", "--state", state, "--no-push", policy])).code).toBe(0);
    const host = await enroll(state);
    const pushesBefore = hub.log.filter((l) => l.path === "/v1/push").length;
    const w = startWatcher(["--state", state, policy], children);
    await w.waitFor(/watch run 2 \(start-up rescan\)/);
    await w.waitFor(/covenant watch: push: sent \d+ records? in 1 push/);
    chmodSync(ledger, 0o666);
    await w.waitFor(/watch run 3 \(event on .*\): 1 promise, 1 not kept/);
    chmodSync(ledger, 0o640);
    await w.waitFor(/watch run 4 \(event on .*\): 1 promise, all kept/);
    await new Promise((r) => setTimeout(r, 1500));
    // within 30 s of the first push, no other
    expect(hub.log.filter((l) => l.path === "/v1/push").length).toBe(pushesBefore + 1);
    expect(hub.hosts.get(host)!.lines.length).toBeLessThan(storeLines(state).length);
    w.child.kill("SIGTERM");
    expect(await w.exited).toBe(0);
    expect(w.out()).toMatch(/covenant watch: push: sent \d+ records in 1 push[^\n]*\n(.*\n)*covenant watch: stopped/);
    expect(hub.hosts.get(host)!.lines).toEqual(storeLines(state));
  });
});

describe("the push after a run", () => {
  it("gives up on a hub that takes the connection and never answers, within its limit, and the run keeps its exit code", async () => {
    const held: Socket[] = [];
    const silent: Server = createServer((socket) => held.push(socket));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    try {
      const dir = tempDir("hub-silent");
      writeFileSync(join(dir, "a.dat"), "x\n", { mode: 0o640 });
      const policy = join(dir, "p.promise");
      writeFileSync(policy, `control "C-1" {\n  title = "t"\n  file "${dir}/a.dat" { mode = 0640 }\n}\n`);
      const state = join(dir, "state");
      expect((await covenantAsync(["run", "--state", state, "--no-push", policy])).code).toBe(0);
      await enroll(state);
      // the enrolment now points at a hub that never answers
      const port = (silent.address() as { port: number }).port;
      const saved = JSON.parse(readFileSync(join(state, "hub.json"), "utf8")) as Record<string, string>;
      writeFileSync(join(state, "hub.json"), JSON.stringify({ ...saved, url: `https://127.0.0.1:${port}` }), { mode: 0o600 });
      const t0 = Date.now();
      const r = await covenantAsync(["run", "--state", state, policy]);
      const took = Date.now() - t0;
      expect(r.code).toBe(0);
      expect(r.err).toMatch(/covenant run: push: the hub is unreachable \(no answer within 10 s\): \d+ records wait; they will be sent later/);
      expect(took).toBeLessThan(16_000);
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
  }, 30_000);
});
