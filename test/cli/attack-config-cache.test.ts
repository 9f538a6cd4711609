// The configuration cache as a local user would attack it: something other than a file where the
// cache is (a FIFO that would hang a reader, a huge file that would fill memory), and a
// configuration whose path holds a newline and a terminal escape. Each is passed over or said
// safely; none hangs, and nothing raw reaches the terminal.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, closeSync, ftruncateSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONFIG_CACHE_FILE } from "../../src/cli/config-cache.ts";
import { resolveNotifyConfig, saveConfigCache } from "../../src/cli/notify-config.ts";
import { makeStyle } from "../../src/text/style.ts";
import { bin, ensureBuilt } from "../helpers/cli.ts";

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
const identity = { version: "0.0.0-test", build: "attack-config-cache" };
const io = { out: () => {}, err: () => {}, style: makeStyle(false), errStyle: makeStyle(false) };
const config = "version: 1\nstakeholders:\n  ops:\n    timezone: Europe/London\n    channels: [mail]\n    people: [{ name: Ops, email: ops@example.com }]\nchannels:\n  mail: { type: email, host: 127.0.0.1, tls: none, from: covenant@localhost }\n";

function scene(name = "covenant.yaml") {
  const dir = mkdtempSync(join(tmpdir(), "covenant-ccattack-"));
  made.push(dir);
  const state = join(dir, "state");
  mkdirSync(state, { mode: 0o700 });
  const file = join(dir, name);
  writeFileSync(file, config, { mode: 0o600 });
  return { dir, state, file, cache: join(state, CONFIG_CACHE_FILE) };
}

async function resolved(s: { state: string; file: string }) {
  const outcome = await resolveNotifyConfig(s.file, io, "run", { stateDir: s.state, identity });
  expect(saveConfigCache(outcome, s.state)).toBeUndefined();
  return outcome.status === "ok" ? outcome.cache : outcome.status;
}

describe("attacks on the configuration cache", () => {
  beforeAll(() => ensureBuilt());

  it("a FIFO where the cache is is never opened for reading (it would wait for a writer): passed over, then replaced by a file", async () => {
    const s = scene();
    expect(spawnSync("mkfifo", [s.cache]).status).toBe(0);
    const started = Date.now();
    expect(await resolved(s)).toEqual({ state: "loaded", why: expect.stringMatching(/not a regular file|FIFO/) });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(statSync(s.cache).isFile()).toBe(true);
    expect(await resolved(s)).toEqual({ state: "hit" });
  });

  it("a huge file where the cache is is refused by its size, unread", async () => {
    const s = scene();
    const fd = openSync(s.cache, "w", 0o600);
    ftruncateSync(fd, 8 * 1024 * 1024 * 1024); // sparse: 8 GiB that would be read into memory
    closeSync(fd);
    const started = Date.now();
    expect(await resolved(s)).toEqual({ state: "loaded", why: expect.stringContaining("8589934592 bytes") });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await resolved(s)).toEqual({ state: "hit" });
  });

  it("a configuration whose name holds a newline and a terminal escape is cached by its path, and said escaped when it has errors", () => {
    const s = scene("cov\nenant\u001b[31m.yaml");
    const ledger = join(s.dir, "gl.dat");
    writeFileSync(ledger, "entry\n", { mode: 0o640 });
    const policy = join(s.dir, "ledger.promise");
    writeFileSync(policy, `control "GL-01" {\n  title = "ledger"\n  file "${ledger}" { mode = 0640 }\n}\n`);
    const run = () => spawnSync(bin, ["run", "--state", s.state, "--json", "--config", s.file, policy], { encoding: "utf8", timeout: 60_000 });
    const cacheOf = (r: ReturnType<typeof run>) => (JSON.parse(r.stdout) as { run: { configCache: unknown } }).run.configCache;
    expect(cacheOf(run())).toEqual({ state: "loaded", why: "none yet" });
    expect(cacheOf(run())).toEqual({ state: "hit" });
    writeFileSync(s.file, config.replace("tls: none", "tls: sometimes"));
    const bad = run();
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("sometimes");
    expect(bad.stderr).not.toContain("\u001b");
    expect(bad.stderr).toContain("cov\\nenant\\x1b[31m.yaml");
  });
});
