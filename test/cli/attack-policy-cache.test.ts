// The policy cache attacked (the built CLI, real files, a real state directory): what a cache
// hit must still do every time (judge the policy files' owners as root, judge a waiver's dates
// at the run's instant), and what it must never take (a cache from another --include, a cache in
// a state directory others can write, a cache whose digest holds but whose payload is not a
// policy). Each case reads `run --json`'s `run.policyCache` or the exit status.
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serialize } from "node:v8";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());
const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
const asRoot = process.getuid?.() === 0;

/** A ledger file left group-writable (drift), a control on it, a waiver of it through June 2099 (--now in the future: a run's deadline is counted from it), and a library imported through --include. */
function scene() {
  const dir = mkdtempSync(join(tmpdir(), "covenant-pcache-attack-"));
  made.push(dir);
  const ledger = join(dir, "gl.dat");
  writeFileSync(ledger, "entry\n");
  chmodSync(ledger, 0o664);
  mkdirSync(join(dir, "policy"));
  mkdirSync(join(dir, "libs"));
  writeFileSync(join(dir, "libs", "common.promise"), 'stakeholder compliance { description = "Compliance" }\n');
  writeFileSync(
    join(dir, "policy", "ledger.promise"),
    `import "../libs/common.promise"\ncontrol "GL-01" {\n  title = "ledger"\n  owner = compliance\n  file "${ledger}" { mode = 0640 }\n}\n` +
      `waiver "GL-01" {\n  reason = "ledger migration, CHG-7"\n  approved_by = "cfo"\n  until = 2099-06-30\n}\n`,
  );
  return { dir, policy: join(dir, "policy"), libs: join(dir, "libs"), state: join(dir, "state"), cache: join(dir, "state", "policy.cache") };
}

type Scene = ReturnType<typeof scene>;

function run(s: Scene, extra: string[] = [], include = true) {
  const r = spawnSync(bin, ["run", "--dry-run", "--state", s.state, "--json", ...(include ? ["--include", s.libs] : []), ...extra, s.policy], { encoding: "utf8", timeout: 60_000 });
  const report = r.stdout.startsWith("{") ? (JSON.parse(r.stdout) as { run: { policyCache: { state: string; why?: string } }; controls: { id: string; verdict: string }[] }) : undefined;
  return { code: r.status, stderr: r.stderr, cache: report?.run.policyCache, verdict: report?.controls.find((c) => c.id === "GL-01")?.verdict };
}

describe("the policy cache, attacked", () => {
  it("judges a waiver's dates at each run: a hit after the waiver ended reports the drift", () => {
    const s = scene();
    const during = run(s, ["--now", "2099-06-01T12:00:00Z"]);
    expect([during.cache?.state, during.verdict]).toEqual(["checked", "waived"]);
    const after = run(s, ["--now", "2099-07-02T12:00:00Z"]);
    expect(after.cache).toEqual({ state: "hit" });
    expect(after.verdict).toBe("drift");
    expect(after.code).toBe(1);
  });

  it("never serves a cache made with another --include", () => {
    const s = scene();
    run(s);
    expect(run(s).cache).toEqual({ state: "hit" });
    const other = join(s.dir, "other-libs");
    mkdirSync(other);
    writeFileSync(join(other, "common.promise"), 'stakeholder compliance { description = "Compliance" }\n');
    // one more directory the policy may import from: what the same text resolves to may differ
    expect(run(s, ["--include", other]).cache).toEqual({ state: "checked", why: "written for other paths or options" });
    expect(run(s).cache).toEqual({ state: "checked", why: "written for other paths or options" });
    // without the --include the import is refused, whatever the cache holds
    const none = run(s, [], false);
    expect(none.code).toBe(2);
    expect(none.cache).toBeUndefined();
    expect(none.stderr).toMatch(/error E120: cannot import `\.\.\/libs\/common\.promise`: it is outside the policy's directories/);
  });

  it("passes over a cache whose digest holds but whose payload is not a policy, and writes it again", () => {
    const s = scene();
    run(s);
    const good = readFileSync(s.cache);
    const nl = good.indexOf(10, good.indexOf(10) + 1);
    const header = JSON.parse(good.subarray(good.indexOf(10) + 1, nl).toString("utf8")) as { bytes: number; sha256: string };
    const payload = serialize({ controls: "not a list", contexts: {} });
    header.bytes = payload.length;
    header.sha256 = createHash("sha256").update(payload).digest("hex");
    writeFileSync(s.cache, Buffer.concat([good.subarray(0, good.indexOf(10) + 1), Buffer.from(`${JSON.stringify(header)}\n`), payload]), { mode: 0o600 });
    expect(run(s).cache).toEqual({ state: "checked", why: "damaged (its policy cannot be decoded)" });
    expect(run(s).cache).toEqual({ state: "hit" });
  });

  it.runIf(asRoot)("as root, a hit still refuses a policy file handed to another user, though its text is unchanged", () => {
    const s = scene();
    run(s);
    expect(run(s).cache).toEqual({ state: "hit" });
    chownSync(join(s.policy, "ledger.promise"), 65534, 65534);
    const r = run(s);
    expect(r.code).toBe(2);
    expect(r.cache).toBeUndefined();
    expect(r.stderr).toMatch(/error E122: the policy file \S+ledger\.promise is owned by uid 65534, not root/);
    chownSync(join(s.policy, "ledger.promise"), 0, 0);
    // an imported file made writable by others is refused as well, cache or not
    chmodSync(join(s.libs, "common.promise"), 0o666);
    const lib = run(s);
    expect(lib.code).toBe(2);
    expect(lib.stderr).toMatch(/error E122: the policy file \S+common\.promise is writable by group and others/);
  });

  it.runIf(asRoot)("as root, a state directory others can write is not read for a cache: the run refuses it", () => {
    const s = scene();
    run(s);
    chmodSync(s.state, 0o777);
    const r = run(s);
    expect(r.code).toBe(2);
    expect(r.cache).toBeUndefined();
    expect(r.stderr).toMatch(/the state directory \S+ is writable by group and others \(mode 0777\)/);
  });
});
