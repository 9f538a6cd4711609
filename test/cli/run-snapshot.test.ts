// `covenant run` from its own start-up snapshot (src/cli/run-snapshot.ts, bin/covenant) gives
// exactly what the bundle gives, whether it runs the command itself (a policy from the cache) or
// hands it to the bundle (a policy checked in full, a sandbox, a bad configuration: hand-over.ts),
// and records and tells what the bundle would; it reaches the store, the native helpers and the
// channel libraries from the package's files, and an enrolled host's push through the bundle's hub
// client; it holds nothing of the machine that built it; and it is used only when the node on
// PATH built it.
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../../src/store/store.ts";
import { covenant, covenantAsync, ensureBuilt, type CliResult } from "../helpers/cli.ts";
import { mailAndTextConfig } from "../helpers/notify-channels.ts";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server.ts";
import { startTwilioStandin, type TwilioStandin } from "../helpers/twilio-standin.ts";
import { StandinHub } from "../hub/helpers/standin-hub.ts";

beforeAll(() => ensureBuilt());
const top = mkdtempSync(join(tmpdir(), "covenant-run-snapshot-"));
afterAll(() => rmSync(top, { recursive: true, force: true }));

const HANDED = /^covenant: handed over to the bundle: .*\n/gm;

/** A fresh scene: three ledger files (kept, drifted, changed after its baseline) and a policy over them. */
function scene(name: string): { dir: string; policy: string; state: string; ledger: (n: string) => string } {
  const dir = join(top, name);
  mkdirSync(join(dir, "files"), { recursive: true });
  const ledger = (n: string) => join(dir, "files", `${n}.dat`);
  for (const n of ["kept", "drifted", "changed"]) writeFileSync(ledger(n), `ledger ${n}\n`, { mode: 0o640 });
  const files = ["kept", "drifted", "changed"].map((n) => `  file "${ledger(n)}" {\n    mode      = 0640\n    integrity = sha256\n    repair    = perms\n  }`).join("\n");
  const policy = join(dir, "ledger.promise");
  writeFileSync(policy, `stakeholder ops { description = "Operations" }\ncontrol "GL-01" {\n  title    = "ledger files"\n  owner    = ops\n  severity = high\n${files}\n}\n`);
  return { dir, policy, state: join(dir, "state"), ledger };
}

/** What may differ between two runs of the same scene in two directories: the directory (and so digests), the instants, the elapsed times, the ids. */
function normal(r: CliResult, dir: string): CliResult {
  const clean = (t: string) =>
    t
      .split(dir)
      .join("<scene>")
      // a policy's file as the report names it: relative to the working directory when below its parent
      .split(relative(process.cwd(), dir))
      .join("<scene>")
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<instant>")
      .replace(/\b\d+(\.\d+)? ?(ms|s)\b/g, "<elapsed>")
      .replace(/"durationMs": [\d.]+/g, '"durationMs": <elapsed>')
      // the policy's digest covers its text, which names the scene's files
      .replace(/\b[0-9a-f]{64}\b/g, "<digest>")
      // deficiencies' and messages' ids, and the MACs of records, made afresh in each store
      .replace(/\b([dm])-[0-9a-z]{8,16}\b/g, "$1-<id>")
      .replace(/\b[0-9a-f]{16}\b/g, "<mac>");
  return { code: r.code, out: clean(r.out), err: clean(r.err) };
}

/** Writes a heartbeat as a watcher does, of a process that is gone (this pid, another start time). */
function beatGone(state: string): void {
  const ticks = Number(readFileSync(`/proc/${process.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19]) + 1;
  const store = StateStore.open(state);
  try {
    store.beat({ pid: process.pid, startTicks: ticks, started: new Date(Date.now() - 3_600_000).toISOString(), lastBeat: new Date().toISOString(), policy: "ab".repeat(32), intervalMs: 10_000 });
  } finally {
    store.close();
  }
}

/** The same commands on two copies of a scene: one through the launcher (the run snapshot), one with COVENANT_NO_SNAPSHOT (the bundle). */
function bothWays(name: string, steps: (s: ReturnType<typeof scene>) => { args: string[]; before?: () => void; env?: Record<string, string> }[]) {
  const results: Record<"snapshot" | "bundle", { result: CliResult; handed: number }[]> = { snapshot: [], bundle: [] };
  for (const way of ["snapshot", "bundle"] as const) {
    const s = scene(`${name}-${way}`);
    for (const step of steps(s)) {
      step.before?.();
      const r = covenant(step.args, { env: { COVENANT_DEBUG: "1", ...(way === "bundle" ? { COVENANT_NO_SNAPSHOT: "1" } : {}), ...step.env } });
      const handed = r.err.match(HANDED)?.length ?? 0;
      results[way].push({ result: normal({ ...r, err: r.err.replace(HANDED, "") }, s.dir), handed });
    }
  }
  return results;
}

describe("covenant run from its snapshot", () => {
  it("gives exactly what the bundle gives, and hands over only what it does not hold", () => {
    const results = bothWays("same", (s) => {
      const run = (...extra: string[]) => ["run", "--state", s.state, ...extra, s.policy];
      return [
        { args: run() }, // no policy cache yet: checked in full, by the bundle
        { args: run() }, // from the cache
        { args: run("--quiet") },
        { args: run("--json"), before: () => chmodSync(s.ledger("drifted"), 0o666) },
        { args: run("--dry-run") },
        { args: run("--junit", join(s.dir, "junit.xml")), before: () => writeFileSync(s.ledger("changed"), "ledger changed, and not by Covenant\n") },
        { args: run(), env: { FORCE_COLOR: "1" } },
        { args: run("--config", join(s.dir, "missing.yaml")) },
        { args: run("--config", join(s.dir, "bad.yaml")), before: () => writeFileSync(join(s.dir, "bad.yaml"), "version: 1\nstakeholders: [\n") },
        { args: ["run", "--sandbox", "--sandbox-dir", join(s.dir, "sandbox"), s.policy] },
        { args: run("--timeout", "1ms") },
        { args: run("--no-such-option") },
        { args: ["run", "--help"] },
        { args: ["run", "--state", s.state, join(s.dir, "nothing-here.promise")] },
        { args: run("--no-policy-cache") },
      ];
    });
    expect(results.snapshot.map((r) => r.result)).toEqual(results.bundle.map((r) => r.result));
    // the scene did what it says: drift found and repaired, the changed file reported
    expect(results.bundle[3]!.result.code).toBe(0);
    expect(results.bundle[3]!.result.out).toContain('"repaired"');
    expect(results.bundle[5]!.result.code).toBe(1);
    // the bundle never hands over; the snapshot hands over the first run (no cache), the
    // configurations it cannot use (missing, bad), the sandbox, the missing policy and
    // --no-policy-cache, and nothing else
    expect(results.bundle.map((r) => r.handed)).toEqual(results.bundle.map(() => 0));
    expect(results.snapshot.map((r) => r.handed)).toEqual([1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1]);
  });

  it("tells and records what the bundle tells and records: unrouted notices, a report channel, channels that cannot be reached, a watcher gone", () => {
    const results = bothWays("told", (s) => {
      const config = join(s.dir, "covenant.yaml");
      const run = (...extra: string[]) => ["run", "--state", s.state, ...extra, s.policy];
      const store = (...args: string[]) => [...args, "--state", s.state];
      return [
        { args: run() },
        // no covenant.yaml: the deficiency is recorded with nobody to tell (run-notify, unrouted)
        { args: run("--junit", join(s.dir, "junit.xml")), before: () => writeFileSync(s.ledger("changed"), "ledger changed, and not by Covenant\n") },
        { args: ["deficiencies", "--all", "--json", ...store()] },
        // a digest written to files, and a webhook and an Alertmanager nobody answers for (retried later)
        {
          args: run("--config", config),
          before: () => {
            chmodSync(s.ledger("drifted"), 0o666);
            writeFileSync(
              config,
              `version: 1\nstakeholders:\n  ops:\n    channels: [digest, hook, am]\nchannels:\n  digest: { type: report, directory: ${join(s.dir, "reports")} }\n  hook: { type: webhook, url: "http://127.0.0.1:9/hook" }\n  am: { type: alertmanager, url: "http://127.0.0.1:9" }\n`,
              { mode: 0o600 },
            );
          },
        },
        // a watcher whose process is gone: a deficiency of Covenant's own, told as the others
        { args: run("--config", config), before: () => beatGone(s.state) },
        { args: ["deficiencies", "--all", "--json", ...store()] },
        { args: ["verify", ...store()] },
      ];
    });
    const dir = (way: string) => join(top, `told-${way}`);
    const digests = (way: string) => readdirSync(join(dir(way), "reports")).sort().map((f) => normal({ code: 0, out: readFileSync(join(dir(way), "reports", f), "utf8"), err: "" }, dir(way)).out);
    // the outbox's messages, in no order of their own (their ids are random)
    type Message = { status: string; channel: string; kind: string; deficiencies: string[]; attempts: number; last_error?: string };
    const outbox = (way: string) =>
      (JSON.parse(covenant(["outbox", "--all", "--json", "--state", join(dir(way), "state")]).out) as Message[])
        .map((m) => JSON.stringify({ status: m.status, channel: m.channel, kind: m.kind, deficiencies: m.deficiencies.length, attempts: m.attempts, error: m.last_error }))
        .sort();
    expect(results.snapshot.map((r) => r.result)).toEqual(results.bundle.map((r) => r.result));
    expect(digests("snapshot")).toEqual(digests("bundle"));
    expect(outbox("snapshot")).toEqual(outbox("bundle"));
    // the scene did what it says
    expect(results.bundle.map((r) => r.result.code)).toEqual([0, 1, 1, 1, 1, 1, 0]);
    expect(results.bundle[2]!.result.out).toContain("content differs");
    expect(results.bundle[4]!.result.out).toContain("the watcher is not watching");
    expect([...new Set(outbox("bundle").map((m) => (JSON.parse(m) as Message).channel))].sort()).toEqual(["am", "digest", "hook"]);
    expect(digests("bundle").join()).toContain("GL-01");
    // handed over: the first run (no policy cache yet) and the first with the configuration (not
    // in its cache yet); the second with it, telling of the watcher gone, is the snapshot's own
    expect(results.snapshot.map((r) => r.handed)).toEqual([1, 0, 0, 1, 0, 0, 0]);
  });

  describe("tells through the channel libraries it requires from the package", () => {
    let smtp: TestSmtpServer;
    let twilio: TwilioStandin;
    beforeAll(async () => {
      smtp = await startSmtpServer();
      twilio = await startTwilioStandin();
    });
    afterAll(async () => {
      await smtp.close();
      await twilio.close();
    });

    it("an email and a text for a deficiency found by a run from the cache", async () => {
      const s = scene("tell");
      writeFileSync(join(s.dir, "smtp.pass"), smtp.password, { mode: 0o600 });
      const config = join(s.dir, "covenant.yaml");
      writeFileSync(config, mailAndTextConfig({ smtp, twilio, passwordFile: join(s.dir, "smtp.pass"), tokenEnv: "RUN_SNAPSHOT_TWILIO_TOKEN" }), { mode: 0o600 });
      const env = { COVENANT_DEBUG: "1", RUN_SNAPSHOT_TWILIO_TOKEN: twilio.authToken };
      const args = ["run", "--state", s.state, "--config", config, s.policy];
      const first = await covenantAsync(args, { env });
      expect(first.err).toMatch(HANDED); // checked in full
      expect(first.code).toBe(0);
      writeFileSync(s.ledger("changed"), "ledger changed, and not by Covenant\n");
      const second = await covenantAsync(args, { env });
      expect(second.err).toBe(""); // from the snapshot, nothing handed over
      expect(second.out).toMatch(/content differs/);
      expect(second.code).toBe(1);
      expect(smtp.messages).toHaveLength(1);
      expect(smtp.messages[0]!.raw.toString("utf8")).toContain("GL-01");
      expect(twilio.messages).toHaveLength(1);
      expect(twilio.messages[0]!.to).toBe("+15550000001");
    });
  });

  it("loads no file of the bundle for a run from the caches, with a configuration: only better-sqlite3's addon and the native helpers (safe_fs, seal)", () => {
    const s = scene("loads");
    const preload = join(s.dir, "loaded.cjs");
    const out = join(s.dir, "loaded.txt");
    writeFileSync(preload, `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(out)}, Object.keys(require.cache).join("\\n")));\n`);
    const flags = readFileSync("dist/snapshot/node", "utf8").split("\n")[1]!.split(" ").filter((f) => f !== "");
    const config = join(s.dir, "covenant.yaml");
    writeFileSync(config, `version: 1\nstakeholders:\n  ops:\n    timezone: Europe/London\n    quiet_hours: { from: "22:00", to: "07:00" }\n    channels: [digest]\nchannels:\n  digest: { type: report, directory: ${join(s.dir, "reports")} }\n`, { mode: 0o600 });
    const args = ["run", "--quiet", "--state", s.state, "--config", config, s.policy];
    expect(covenant(args)).toMatchObject({ code: 0, err: "" }); // writes the policy's and the configuration's caches
    const r = spawnSync(process.execPath, [...flags, "--require", preload, "--snapshot-blob", "dist/snapshot/run.blob", "--", ...args], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "", COVENANT_DEBUG: "1" } });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, "", ""]);
    const loaded = readFileSync(out, "utf8").split("\n").filter((f) => f !== preload);
    expect(loaded.map((f) => f.replace(process.cwd(), "<package>")).sort()).toEqual(["<package>/build/Release/safe_fs.node", "<package>/build/Release/seal.node", "<package>/node_modules/better-sqlite3/build/Release/better_sqlite3.node"]);
  });

  it("says why it handed over with outside text escaped", () => {
    // a state directory whose name holds a space and an escape sequence, its policy cache not a file
    const s = scene("escaped");
    const state = join(s.dir, "hand over \u001b[31mred", "state");
    mkdirSync(join(state, "policy.cache"), { recursive: true, mode: 0o700 });
    const r = covenant(["run", "--quiet", "--state", state, s.policy], { env: { COVENANT_DEBUG: "1" } });
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^covenant: handed over to the bundle: the policy cache: .*\\x1b\[31mred\/state\/policy\.cache is not a regular file/m);
    expect(r.err).not.toContain("\u001b");
  });

  it("pushes an enrolled host's records through the bundle's hub client, once the run is over", async () => {
    const hub = await StandinHub.start();
    try {
      const s = scene("push");
      writeFileSync(join(s.dir, "hub-ca.pem"), hub.tls.cert);
      const env = { COVENANT_DEBUG: "1" };
      expect((await covenantAsync(["run", "--quiet", "--state", s.state, s.policy], { env })).code).toBe(0);
      hub.tokens.add("run-snapshot-enrolment-token");
      const enrolled = await covenantAsync(["enroll", hub.url, "--token", "run-snapshot-enrolment-token", "--ca", join(s.dir, "hub-ca.pem"), "--state", s.state, "--json"]);
      expect(enrolled.code, enrolled.err).toBe(0);
      const host = (JSON.parse(enrolled.out) as { host: string }).host;
      // from the cache: the run is the snapshot's (nothing handed over), the push the bundle's
      const pushed = await covenantAsync(["run", "--state", s.state, s.policy], { env });
      expect(pushed).toMatchObject({ code: 0, err: "" });
      expect(pushed.out).toMatch(/^covenant run: push: sent \d+ records? in 1 push: the hub holds records up to (\d+)/m);
      const head = Number(/the hub holds records up to (\d+)/.exec(pushed.out)![1]);
      expect(hub.hosts.get(host)!.lines).toHaveLength(head);
      expect(hub.log.filter((l) => l.path === "/v1/push").at(-1)).toMatchObject({ status: 200 });
    } finally {
      await hub.close();
    }
  });

  it("holds nothing of the machine that built it: loading it reads no environment, clock, host or random source", () => {
    // the snapshot's entry built into a snapshot again, with every such source watched while its
    // modules load (Node's own reads, from node:internal, aside): what the entry does at load,
    // the snapshot keeps, and anything it read or set there would be the builder's, not the run's
    const watch = `const seen = [];
const caller = () => { const limit = Error.stackTraceLimit; Error.stackTraceLimit = 12; const stack = String(new Error().stack ?? ""); Error.stackTraceLimit = limit; return stack.split("\\n")[4]?.trim() ?? ""; };
const note = (what) => { const at = caller(); if (!/node:internal/.test(at)) seen.push(\`\${what} \${at}\`); };
const env = process.env;
process.env = new Proxy(env, { get: (t, k) => (typeof k === "string" && note("env." + k), Reflect.get(t, k)), set: (t, k, v) => (note("env." + String(k) + "="), Reflect.set(t, k, v)), has: (t, k) => (note("env has " + String(k)), Reflect.has(t, k)), deleteProperty: (t, k) => (note("env delete " + String(k)), Reflect.deleteProperty(t, k)), ownKeys: (t) => (note("env keys"), Reflect.ownKeys(t)) });
const spy = (o, name, fns) => { for (const f of fns) { const real = Object.getOwnPropertyDescriptor(o, f)?.value; if (typeof real === "function") o[f] = function (...a) { note(name + "." + f); return real.apply(this, a); }; } };
spy(Date, "Date", ["now"]);
const RealDate = Date;
globalThis.Date = new Proxy(RealDate, { construct: (t, a, n) => (a.length === 0 && note("new Date()"), Reflect.construct(t, a, n)), apply: (t, self, a) => (note("Date()"), Reflect.apply(t, self, a)) });
spy(Math, "Math", ["random"]);
spy(performance, "performance", ["now"]);
spy(process, "process", ["hrtime", "getuid", "geteuid", "getgid", "getegid", "cwd", "umask", "uptime", "memoryUsage", "cpuUsage"]);
spy(require("node:os"), "os", ["hostname", "userInfo", "homedir", "tmpdir", "cpus", "networkInterfaces", "totalmem", "freemem", "uptime", "loadavg", "release"]);
spy(require("node:crypto"), "crypto", ["randomBytes", "randomFillSync", "randomUUID", "randomInt", "getRandomValues", "generateKeyPairSync"]);
spy(require("node:fs"), "fs", ["readFileSync", "statSync", "lstatSync", "existsSync", "openSync", "readdirSync", "realpathSync", "accessSync", "readlinkSync"]);
`;
    expect(loadedWatched("run.cjs", "watched", watch)).toEqual([]);
  });

  it("holds no buffer its modules made at load, nor does check's: each would be written into the snapshot and made whole again in every run", () => {
    // a 1 MiB buffer made when probes/files.ts loaded cost every run 2 MiB of memory (its bytes in
    // the blob, read whole, and the buffer made again from them): a module makes the buffer it
    // needs when first used, where only the pages its reads touch are resident
    expect(buffersMadeAtLoad("run.cjs")).toEqual([]);
    expect(buffersMadeAtLoad("entry.cjs")).toEqual([]);
  });

  it("is used only when the node on PATH built it, and with the flags it was built with", () => {
    // a copy of the package, its store library and native helpers reached through links
    const root = mkdtempSync(join(tmpdir(), "covenant-package-"));
    for (const part of ["bin", "dist", "package.json"]) cpSync(join(process.cwd(), part), join(root, part), { recursive: true });
    for (const part of ["node_modules", "build"]) symlinkSync(join(process.cwd(), part), join(root, part));
    const s = scene("launcher");
    const run = (env: Record<string, string> = {}) => spawnSync(join(root, "bin/covenant"), ["run", "--quiet", "--state", s.state, s.policy], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "", ...env } });
    expect(run()).toMatchObject({ status: 0, stderr: "" });
    expect(run()).toMatchObject({ status: 0, stdout: "", stderr: "" });
    // a damaged snapshot fails when used: this shows run takes it...
    const blob = join(root, "dist/snapshot/run.blob");
    const saved = readFileSync(blob);
    writeFileSync(blob, "not a snapshot");
    expect(run().status).not.toBe(0);
    // ...and not with COVENANT_NO_SNAPSHOT, nor with NODE_OPTIONS set, nor from another node
    expect(run({ COVENANT_NO_SNAPSHOT: "1" })).toMatchObject({ status: 0, stderr: "" });
    expect(run({ NODE_OPTIONS: "--max-old-space-size=4096" })).toMatchObject({ status: 0, stderr: "" });
    const stamp = readFileSync(join(root, "dist/snapshot/node"), "utf8").split("\n");
    writeFileSync(join(root, "dist/snapshot/node"), `1 2 3 4\n${stamp[1]}\n`);
    expect(run()).toMatchObject({ status: 0, stderr: "" });
    // intact again: used again
    writeFileSync(join(root, "dist/snapshot/node"), stamp.join("\n"));
    writeFileSync(blob, saved);
    expect(run()).toMatchObject({ status: 0, stdout: "", stderr: "" });
    // a run to hand over, with no bundle beside the snapshot: said as an internal error (exit 3)
    rmSync(join(root, "dist/covenant.js"));
    const lost = spawnSync(join(root, "bin/covenant"), ["run", "--no-policy-cache", "--state", s.state, s.policy], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
    expect(lost.status).toBe(3);
    expect(lost.stderr).toMatch(/^covenant: internal error: .*covenant\.js/m);
  });
});

/**
 * The buffers of 4 KiB or more a snapshot's entry (dist/snapshot/`entry`) makes while its modules
 * load, with every way of making one watched (process.memoryUsage does not count buffers while a
 * snapshot is built): Buffer's makers, the typed arrays and ArrayBuffer from a size or from a list,
 * and TextEncoder. A view over a buffer made already is no new memory and is not counted.
 */
function buffersMadeAtLoad(entry: string): string[] {
  const watch = `const seen = [];
const note = (what, bytes) => { if (typeof bytes === "number" && bytes >= 4096) seen.push(what + " " + bytes); };
const sizeOf = (a, per = 1) => (typeof a === "number" ? a * per : a !== null && typeof a === "object" && !(a instanceof ArrayBuffer) && !ArrayBuffer.isView(a) && typeof a.length === "number" ? a.length * per : undefined);
for (const f of ["alloc", "allocUnsafe", "allocUnsafeSlow"]) { const real = Buffer[f]; Buffer[f] = function (size, ...rest) { note("Buffer." + f, size); return real.call(this, size, ...rest); }; }
{ const real = Buffer.from; Buffer.from = function (value, ...rest) { note("Buffer.from", typeof value === "string" ? Buffer.byteLength(value, rest[0]) : sizeOf(value)); return real.call(this, value, ...rest); }; }
for (const name of ["ArrayBuffer", "SharedArrayBuffer", "Uint8Array", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array", "Uint8ClampedArray"]) {
  const Real = globalThis[name];
  if (typeof Real === "function") globalThis[name] = new Proxy(Real, { construct: (t, a, n) => (note(name, sizeOf(a[0], Real.BYTES_PER_ELEMENT ?? 1)), Reflect.construct(t, a, n)) });
}
{ const real = TextEncoder.prototype.encode; TextEncoder.prototype.encode = function (text) { const bytes = real.call(this, text); note("TextEncoder.encode", bytes.length); return bytes; }; }
`;
  return loadedWatched(entry, `buffers-${entry}`, watch) as string[];
}

/**
 * What `watch` (code that fills a global array `seen`) saw while the entry of a snapshot
 * (dist/snapshot/`entry`) loaded, the entry built into a snapshot again as `name` in the test's
 * directory: what the entry does at load, a snapshot keeps.
 */
function loadedWatched(entry: string, name: string, watch: string): unknown[] {
  const source = readFileSync(join(process.cwd(), "dist/snapshot", entry), "utf8").replace(/^"use strict";\n/, "");
  const out = join(top, `${name}.json`);
  const script = join(top, `${name}.cjs`);
  const loaded = `globalThis.__loaded = () => require("node:fs").writeFileSync(${JSON.stringify(out)}, JSON.stringify(seen));`;
  writeFileSync(script, `"use strict";\n${watch}\n${loaded}\n${source}\n;__loaded();\n`);
  const built = spawnSync(process.execPath, ["--snapshot-blob", `${script}.blob`, "--build-snapshot", script], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
  expect(built.status, built.stderr).toBe(0);
  return JSON.parse(readFileSync(out, "utf8")) as unknown[];
}
