// The configuration cache as `run` and `watch` use it (resolveNotifyConfig with a state
// directory): real files, a real state directory, the loader itself. Each case says whether the
// configuration came from the cache or was loaded, and why; a configuration from the cache must
// be exactly the one a load gives.
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheTooLarge, readCacheFile, writeCacheFile } from "../../src/cli/cache-file.ts";
import { CONFIG_CACHE_FILE, secretFilesOf } from "../../src/cli/config-cache.ts";
import type { Io } from "../../src/cli/io.ts";
import { resolveNotifyConfig, saveConfigCache, type ConfigOutcome } from "../../src/cli/notify-config.ts";
import { loadConfig } from "../../src/config/load.ts";
import { makeStyle } from "../../src/text/style.ts";
import { bin, ensureBuilt } from "../helpers/cli.ts";

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
const identity = { version: "0.0.0-test", build: "config-cache-test" };

function scene(text: string) {
  const dir = mkdtempSync(join(tmpdir(), "covenant-ccache-"));
  made.push(dir);
  const state = join(dir, "state");
  mkdirSync(state, { mode: 0o700 });
  const config = join(dir, "covenant.yaml");
  writeFileSync(config, text, { mode: 0o600 });
  return { dir, state, config, cache: join(state, CONFIG_CACHE_FILE) };
}

function captureIo(): Io & { errors: string[] } {
  const errors: string[] = [];
  return { errors, out: () => {}, err: (t) => errors.push(t), style: makeStyle(false), errStyle: makeStyle(false) };
}

/** The configuration as a run resolves it: from the cache or loaded, and the cache written after, as run does once its state directory is made sure of. */
async function resolveAndSave(s: { state: string; config: string }, id = identity): Promise<ConfigOutcome & { errors: string[] }> {
  const io = captureIo();
  const outcome = await resolveNotifyConfig(s.config, io, "run", { stateDir: s.state, identity: id });
  expect(saveConfigCache(outcome, s.state)).toBeUndefined();
  return { ...outcome, errors: io.errors };
}

const cacheState = (o: ConfigOutcome) => (o.status === "ok" ? o.cache : o.status);

const minimal = `version: 1
stakeholders:
  security:
    timezone: America/New_York
    quiet_hours: { from: "22:00", to: "07:00" }
    channels: [mail]
    people: [{ name: Alice Admin, email: alice@example.com }]
channels:
  mail: { type: email, host: 127.0.0.1, tls: none, from: covenant@localhost }
`;

describe("the configuration cache", () => {
  it("loads once, then gives from its cache exactly the configuration a load gives, for every configuration the examples and fixtures hold", async () => {
    const configs = [join("examples", "sox", "covenant.yaml"), ...readdirSync(join("test", "fixtures", "config")).map((f) => join("test", "fixtures", "config", f))];
    let compared = 0;
    for (const path of configs) {
      const loaded = loadConfig(path, { root: false });
      if (!loaded.config || loaded.diagnostics.some((d) => d.severity === "error")) continue;
      const s = scene(readFileSync(path, "utf8"));
      const first = await resolveAndSave(s);
      const second = await resolveAndSave(s);
      expect([cacheState(first), cacheState(second)], path).toEqual([{ state: "loaded", why: "none yet" }, { state: "hit" }]);
      if (first.status !== "ok" || second.status !== "ok") throw new Error(path);
      expect(second.config, path).toEqual(first.config);
      expect(second.warnings, path).toEqual(first.warnings);
      compared++;
    }
    // the example and the fixtures that load without errors (good-full, minimal, twilio-sender, ...)
    expect(compared).toBeGreaterThanOrEqual(4);
  });

  it("is written 0600, its reader's own, and holds no secret: only the names of variables and files they come from", async () => {
    const s = scene(`${minimal}  hook: { type: webhook, url: "https://127.0.0.1:9/x", secret_env: HOOK_KEY_FOR_TEST }\n`);
    process.env["HOOK_KEY_FOR_TEST"] = "s3cr3t-value-never-cached";
    try {
      await resolveAndSave(s);
      const st = statSync(s.cache);
      expect([st.mode & 0o777, st.uid]).toEqual([0o600, process.getuid!()]);
      const bytes = readFileSync(s.cache);
      expect(bytes.includes("s3cr3t-value-never-cached")).toBe(false);
      expect(bytes.includes("HOOK_KEY_FOR_TEST")).toBe(true);
    } finally {
      delete process.env["HOOK_KEY_FOR_TEST"];
    }
  });

  it("a changed file is loaded again and cached again; a file changed to have errors is reported in full, though a cache exists, and never cached", async () => {
    const s = scene(minimal);
    await resolveAndSave(s);
    writeFileSync(s.config, minimal.replace("America/New_York", "Europe/London"));
    const changed = await resolveAndSave(s);
    expect(cacheState(changed)).toEqual({ state: "loaded", why: "the configuration changed" });
    expect(changed.status === "ok" && changed.config.stakeholders.get("security")?.timezone).toBe("Europe/London");
    expect(cacheState(await resolveAndSave(s))).toEqual({ state: "hit" });
    const cached = readFileSync(s.cache);
    writeFileSync(s.config, minimal.replace("America/New_York", "Mars/Olympus_Mons"));
    const bad = await resolveAndSave(s);
    expect(bad.status).toBe("bad");
    expect(bad.errors.join("")).toContain("Mars/Olympus_Mons");
    expect(readFileSync(s.cache)).toEqual(cached);
  });

  it("a damaged, truncated, foreign or other build's cache is passed over, and written again", async () => {
    const s = scene(minimal);
    await resolveAndSave(s);
    const good = readFileSync(s.cache);
    const cases: [Buffer | string, string][] = [
      [Buffer.concat([good.subarray(0, -3), Buffer.from("xyz")]), "damaged (its content does not match its digest)"],
      [good.subarray(0, good.length - 40), "damaged (its content does not match its digest)"],
      ["covenant policy cache\n{}\n", "not a configuration cache"],
      [good.subarray(0, 30), "damaged (no header)"],
      [Buffer.from(good.toString("latin1").replace('"build":"config-cache-test"', '"build":"config-cache-tesu"'), "latin1"), "written by another version of Covenant or node"],
    ];
    for (const [bytes, why] of cases) {
      writeFileSync(s.cache, bytes, { mode: 0o600 });
      expect(cacheState(await resolveAndSave(s)), why).toEqual({ state: "loaded", why });
      expect(cacheState(await resolveAndSave(s)), why).toEqual({ state: "hit" });
    }
    expect(cacheState(await resolveAndSave(s, { ...identity, build: "another" }))).toEqual({ state: "loaded", why: "written by another version of Covenant or node" });
  });

  it("a cache writable by others or owned by another user, or a link in its place, is never read", async () => {
    const s = scene(minimal);
    await resolveAndSave(s);
    chmodSync(s.cache, 0o620);
    expect(cacheState(await resolveAndSave(s))).toEqual({ state: "loaded", why: "refused: it is writable by its group (mode 0620)" });
    if (process.getuid!() === 0) {
      chownSync(s.cache, 65534, 65534);
      expect(cacheState(await resolveAndSave(s))).toEqual({ state: "loaded", why: "refused: it is owned by uid 65534, not root" });
    }
    const elsewhere = join(s.dir, "elsewhere.cache");
    cpSync(s.cache, elsewhere);
    rmSync(s.cache);
    symlinkSync(elsewhere, s.cache);
    const viaLink = await resolveAndSave(s);
    expect(viaLink.status === "ok" && viaLink.cache.state).toBe("loaded");
    // written again by rename over the link: the file it pointed to is left as it was
    expect(lstatSync(s.cache).isFile()).toBe(true);
  });

  it("another file with the same text, and a secret file no longer as root may use it, are loaded in full (the load says where)", async () => {
    const s = scene(minimal);
    const secret = join(s.dir, "smtp.pass");
    writeFileSync(secret, "hunter2\n", { mode: 0o600 });
    const withSecret = minimal.replace("from: covenant@localhost }", `from: covenant@localhost, auth: { user: covenant, password_file: ${secret} } }`);
    writeFileSync(s.config, withSecret);
    const first = await resolveAndSave(s);
    expect(first.status === "ok" && secretFilesOf(first.config)).toEqual([{ channel: "mail", path: secret }]);
    expect(cacheState(await resolveAndSave(s))).toEqual({ state: "hit" });
    chmodSync(secret, 0o644);
    const refused = await resolveAndSave(s);
    expect(refused.status).toBe("bad");
    expect(refused.errors.join("")).toContain("E324");
    chmodSync(secret, 0o600);
    expect(cacheState(await resolveAndSave(s))).toEqual({ state: "hit" });
    const other = join(s.dir, "other.yaml");
    writeFileSync(other, withSecret, { mode: 0o600 });
    expect(cacheState(await resolveAndSave({ state: s.state, config: other }))).toEqual({ state: "loaded", why: "written for another file" });
  });

  it("without a cache asked for (--no-policy-cache, or from the sources), nothing is read or written", async () => {
    const s = scene(minimal);
    const outcome = await resolveNotifyConfig(s.config, captureIo(), "run");
    expect(cacheState(outcome)).toEqual({ state: "off" });
    expect(saveConfigCache(outcome, s.state)).toBeUndefined();
    expect(readdirSync(s.state)).toEqual([]);
  });
});

describe("covenant run and the configuration cache", () => {
  beforeAll(() => ensureBuilt());

  function runJson(s: { dir: string; state: string; config: string }, extra: string[] = []) {
    const r = spawnSync(bin, ["run", "--state", s.state, "--json", "--config", s.config, ...extra, join(s.dir, "ledger.promise")], { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) return { status: r.status, stderr: r.stderr };
    const report = JSON.parse(r.stdout) as { run: { configCache?: unknown } };
    return { status: r.status, configCache: report.run.configCache };
  }

  it("says in run.configCache whether the configuration came from its cache; --no-policy-cache neither reads nor writes it; errors stop the run though a cache exists", () => {
    const s = scene(minimal);
    const ledger = join(s.dir, "gl.dat");
    writeFileSync(ledger, "entry\n", { mode: 0o640 });
    writeFileSync(join(s.dir, "ledger.promise"), `stakeholder security { description = "Security" }\ncontrol "GL-01" {\n  title = "ledger"\n  owner = security\n  file "${ledger}" { mode = 0640 }\n}\n`);
    expect(runJson(s)).toEqual({ status: 0, configCache: { state: "loaded", why: "none yet" } });
    expect(runJson(s)).toEqual({ status: 0, configCache: { state: "hit" } });
    rmSync(s.cache);
    expect(runJson(s, ["--no-policy-cache"])).toEqual({ status: 0, configCache: { state: "off" } });
    expect(existsSync(s.cache)).toBe(false);
    expect(runJson(s).configCache).toEqual({ state: "loaded", why: "none yet" });
    writeFileSync(s.config, minimal.replace("tls: none", "tls: sometimes"));
    const bad = runJson(s);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("sometimes");
  });
});

describe("what the configuration names besides itself, and the cache file's limit", () => {
  it("as root, a CA file another user can change, or a FIFO in its place, is refused at load (E323, E325) and a cached configuration naming it is loaded again", async () => {
    if (process.getuid!() !== 0) return;
    const s = scene(minimal);
    const theirs = join(s.dir, "theirs");
    mkdirSync(theirs, { mode: 0o755 });
    const ca = join(theirs, "ca.pem");
    writeFileSync(ca, "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", { mode: 0o644 });
    writeFileSync(s.config, minimal.replace("from: covenant@localhost }", `from: covenant@localhost, ca_file: ${ca} }`));
    expect(cacheState(await resolveAndSave(s))).toEqual({ state: "loaded", why: "none yet" });
    expect(cacheState(await resolveAndSave(s))).toEqual({ state: "hit" });
    // another user's directory now: whoever owns it can put their own CA in the file's place
    chownSync(theirs, 65534, 65534);
    const refused = await resolveAndSave(s);
    expect(refused.status).toBe("bad");
    expect(refused.errors.join("")).toContain("E323");
    chownSync(theirs, 0, 0);
    expect(cacheState(await resolveAndSave(s))).toEqual({ state: "hit" });
    rmSync(ca);
    spawnSync("mkfifo", [ca]);
    const started = Date.now();
    const fifo = await resolveAndSave(s);
    expect([fifo.status, Date.now() - started < 10_000]).toEqual(["bad", true]);
    expect(fifo.errors.join("")).toMatch(/E325[\s\S]*not a regular file/);
  });

  it("a CA file the channel could not read (not UTF-8, larger than 1 MiB) is refused when the configuration is loaded, not first when a message is due", async () => {
    const s = scene(minimal);
    const ca = join(s.dir, "ca.pem");
    writeFileSync(s.config, minimal.replace("from: covenant@localhost }", `from: covenant@localhost, ca_file: ${ca} }`));
    writeFileSync(ca, Buffer.from("# Issuer: Soci\xe9t\xe9\n-----BEGIN CERTIFICATE-----\n", "latin1"), { mode: 0o644 });
    const latin = await resolveAndSave(s);
    expect([latin.status, latin.errors.join("")]).toEqual(["bad", expect.stringMatching(/E325[\s\S]*not UTF-8 text \(PEM is ASCII\)/)]);
    writeFileSync(ca, "#".repeat(1024 * 1024 + 1), { mode: 0o644 });
    const large = await resolveAndSave(s);
    expect([large.status, large.errors.join("")]).toEqual(["bad", expect.stringMatching(/E325[\s\S]*larger than the 1 MiB/)]);
    writeFileSync(ca, "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", { mode: 0o644 });
    expect(cacheState(await resolveAndSave(s))).toEqual({ state: "loaded", why: "none yet" });
  });

  it("a cache larger than its kind's limit is not written (it could not be read back): the command goes on without it, saying so", async () => {
    const s = scene(minimal);
    const outcome = await resolveNotifyConfig(s.config, captureIo(), "run", { stateDir: s.state, identity });
    const small = { file: "tiny.cache", magic: "covenant tiny cache\n", schema: 1, what: "the tiny cache", maxBytes: 400 };
    expect(() => writeCacheFile(s.state, small, identity, {}, Buffer.alloc(600))).toThrow(CacheTooLarge);
    expect(existsSync(join(s.state, "tiny.cache"))).toBe(false);
    writeCacheFile(s.state, small, identity, {}, Buffer.alloc(10));
    expect(readCacheFile(s.state, small, identity, () => undefined)).toMatchObject({ payload: Buffer.alloc(10) });
    expect(outcome.status === "ok" && outcome.cache).toEqual({ state: "loaded", why: "none yet" });
  });
});
