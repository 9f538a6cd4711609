// The policy cache as `run` and `watch` use it: the built CLI, real files, a real state
// directory. Each case says, through `run --json`'s `run.policyCache`, whether the policy came
// from the cache or was checked in full, and why.
import { spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { bin, ensureBuilt } from "../helpers/cli.ts";
import { startWatcher } from "../helpers/watcher.ts";

beforeAll(() => ensureBuilt());
const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
const children: ChildProcess[] = [];
afterEach(() => children.splice(0).forEach((c) => c.kill("SIGKILL")));

/** A policy directory (one file importing another from lib/, a link to libs/a) over a ledger file, and a state directory. */
function scene() {
  const dir = mkdtempSync(join(tmpdir(), "covenant-pcache-"));
  made.push(dir);
  const ledger = join(dir, "gl.dat");
  writeFileSync(ledger, "entry\n", { mode: 0o640 });
  mkdirSync(join(dir, "policy"));
  mkdirSync(join(dir, "libs", "a"), { recursive: true });
  mkdirSync(join(dir, "libs", "b"), { recursive: true });
  const common = 'stakeholder compliance { description = "Compliance" }\n';
  writeFileSync(join(dir, "libs", "a", "common.promise"), common);
  writeFileSync(join(dir, "libs", "b", "common.promise"), common);
  symlinkSync("../libs/a", join(dir, "policy", "lib"));
  writeFileSync(join(dir, "policy", "ledger.promise"), `import "lib/common.promise"\ncontrol "GL-01" {\n  title = "ledger"\n  owner = compliance\n  file "${ledger}" { mode = 0640 }\n}\n`);
  return { dir, policy: join(dir, "policy"), libs: join(dir, "libs"), state: join(dir, "state"), cache: join(dir, "state", "policy.cache") };
}

function run(s: { policy: string; state: string; libs: string }, extra: string[] = []) {
  const r = spawnSync(bin, ["run", "--state", s.state, "--json", "--include", s.libs, ...extra, s.policy], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`run exited ${r.status}: ${r.stderr}`);
  const report = JSON.parse(r.stdout) as { run: { policyCache: { state: string; why?: string } }; controls: { id: string; verdict: string; promises: { outcome: string }[] }[] };
  return { cache: report.run.policyCache, controls: report.controls.map((c) => ({ id: c.id, verdict: c.verdict, outcomes: c.promises.map((p) => p.outcome) })), stderr: r.stderr };
}

describe("covenant run and the policy cache", () => {
  it("checks in full once, then runs from the cache with the same results; --no-policy-cache checks in full", () => {
    const s = scene();
    const first = run(s);
    expect(first.cache).toEqual({ state: "checked", why: "none yet" });
    const st = statSync(s.cache);
    expect([st.mode & 0o777, st.uid]).toEqual([0o600, process.getuid!()]);
    const second = run(s);
    expect(second.cache).toEqual({ state: "hit" });
    expect(second.controls).toEqual(first.controls);
    expect(run(s, ["--no-policy-cache"]).cache).toEqual({ state: "off" });
  });

  it("a changed import, a new file, a removed file and an import that now leads elsewhere each check in full, then the cache serves again", () => {
    const s = scene();
    run(s);
    writeFileSync(join(s.libs, "a", "common.promise"), 'stakeholder compliance { description = "Compliance team" }\n');
    expect(run(s).cache).toEqual({ state: "checked", why: "the policy's files changed" });
    expect(run(s).cache).toEqual({ state: "hit" });
    writeFileSync(join(s.policy, "extra.promise"), 'control "GL-02" {\n  title = "more"\n  owner = compliance\n  file "/etc/hostname" { exists = true }\n}\n');
    const more = run(s);
    expect(more.cache).toEqual({ state: "checked", why: "the policy's files changed" });
    expect(more.controls.map((c) => c.id).sort()).toEqual(["GL-01", "GL-02"]);
    expect(run(s).cache).toEqual({ state: "hit" });
    rmSync(join(s.policy, "extra.promise"));
    expect(run(s).cache).toEqual({ state: "checked", why: "the policy's files changed" });
    run(s);
    // the same text, shown at the same path, read from another real file: a link that changed
    writeFileSync(join(s.libs, "b", "common.promise"), readFileSync(join(s.libs, "a", "common.promise")));
    rmSync(join(s.policy, "lib"));
    symlinkSync("../libs/b", join(s.policy, "lib"));
    expect(run(s).cache).toEqual({ state: "checked", why: "the policy's files changed" });
    expect(run(s).cache).toEqual({ state: "hit" });
  });

  it("a damaged, truncated or foreign cache, or another version's, is passed over and written again", () => {
    const s = scene();
    run(s);
    const good = readFileSync(s.cache);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 10]! ^= 0xff;
    writeFileSync(s.cache, flipped);
    expect(run(s).cache).toEqual({ state: "checked", why: "damaged (its content does not match its digest)" });
    expect(run(s).cache).toEqual({ state: "hit" });
    writeFileSync(s.cache, good.subarray(0, good.length - 100));
    expect(run(s).cache).toEqual({ state: "checked", why: "damaged (its content does not match its digest)" });
    writeFileSync(s.cache, "SQLite format 3\0 not a cache at all");
    expect(run(s).cache).toEqual({ state: "checked", why: "not a policy cache" });
    const text = good.toString("latin1").replace(/"build":"[0-9a-f]+"/, '"build":"0123456789abcdef0123456789abcdef"');
    writeFileSync(s.cache, Buffer.from(text, "latin1"));
    expect(run(s).cache).toEqual({ state: "checked", why: "written by another version of Covenant or node" });
    expect(run(s).cache).toEqual({ state: "hit" });
  });

  it("a cache that is a link is not followed: refused, replaced by a file, its target untouched", () => {
    const s = scene();
    run(s);
    const target = join(s.dir, "elsewhere");
    writeFileSync(target, readFileSync(s.cache));
    const before = readFileSync(target);
    rmSync(s.cache);
    symlinkSync(target, s.cache);
    const r = run(s);
    expect(r.cache.state).toBe("checked");
    expect(r.cache.why).toMatch(/cannot be read: .*ELOOP|symbolic link|not a regular file/);
    expect(lstatSync(s.cache).isFile()).toBe(true);
    expect(readFileSync(target)).toEqual(before);
    expect(run(s).cache).toEqual({ state: "hit" });
  });

  it.runIf(process.getuid?.() === 0)("as root, a cache another user owns, or others can write, is refused and written again as root's", () => {
    const s = scene();
    run(s);
    chownSync(s.cache, 65534, 65534);
    const r = run(s);
    expect(r.cache).toEqual({ state: "checked", why: expect.stringMatching(/refused: it is owned by uid 65534, not root/) });
    expect(statSync(s.cache).uid).toBe(0);
    expect(run(s).cache).toEqual({ state: "hit" });
    spawnSync("chmod", ["0666", s.cache]);
    expect(run(s).cache).toEqual({ state: "checked", why: expect.stringMatching(/writable by others/) });
  });
});

describe("covenant watch and the policy cache", () => {
  it("starts from the cache a run wrote, and a reload of unchanged files uses it too", async () => {
    const s = scene();
    run(s);
    const w = startWatcher(["--state", s.state, "--include", s.libs, s.policy], children);
    await w.waitFor(/covenant watch: 1 promise.*; policy from its cache \(unchanged files\)/, 20_000);
    w.child.kill("SIGHUP");
    await w.waitFor(/policy reloaded: 1 promise.*; policy from its cache/, 20_000);
    // a change is checked in full: the reload line says nothing of the cache
    const file = join(s.policy, "ledger.promise");
    writeFileSync(file, readFileSync(file, "utf8").replace('title = "ledger"', 'title = "general ledger"'));
    await w.waitFor(/policy reloaded: 1 promise[^\n]*state in [^\n;]*\n/, 20_000);
  });
});
