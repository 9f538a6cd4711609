// `covenant run` keeps each policy version it runs, once: the built CLI, a real policy directory
// (a policy file and a library it includes), a real store. Two runs of the same policy write one
// policy record; an edited policy a second; going back to the first writes none. Dry runs and
// sandbox runs store their policy too, and their summaries say what they were.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { hashPolicy, StateStore, type PolicyBody, type RunBody } from "../../src/store/store.ts";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());

/** A policy over one ledger file, in its own directory, and a state directory beside it. */
function scene(): { dir: string; policyDir: string; policy: string; state: string } {
  const dir = mkdtempSync(join(tmpdir(), "covenant-policy-versions-"));
  mkdirSync(join(dir, "ledger"));
  writeFileSync(join(dir, "ledger", "gl.dat"), "entry\n", { mode: 0o640 });
  const policyDir = join(dir, "policy");
  mkdirSync(policyDir);
  const policy = join(policyDir, "ledger.promise");
  writeFileSync(policy, `control "ITGC-CM-02" {\n  title = "Ledger files"\n  file "${dir}/ledger/gl.dat" { mode = 0640 }\n}\n`);
  return { dir, policyDir, policy, state: join(dir, "state") };
}

function stored(state: string): { policies: { seq: number; run: number; body: PolicyBody }[]; summaries: { seq: number; body: RunBody }[]; intact: boolean } {
  const store = StateStore.openReadOnly(state);
  try {
    const history = store.history();
    return {
      policies: history.filter((e) => e.kind === "policy").map((e) => ({ seq: e.seq, run: e.run, body: e.body as PolicyBody })),
      summaries: history.filter((e) => e.kind === "run").map((e) => ({ seq: e.seq, body: e.body as RunBody })),
      intact: store.verify().tampering === undefined,
    };
  } finally {
    store.close();
  }
}

describe("covenant run keeps each policy version once", () => {
  it("two runs of the same policy write one policy record, an edited policy a second, and going back none", () => {
    const s = scene();
    const first = readFileSync(s.policy, "utf8");
    for (let i = 0; i < 2; i++) expect(covenant(["run", "--state", s.state, s.policyDir]).code).toBe(0);
    let now = stored(s.state);
    expect(now.policies).toHaveLength(1);
    expect(now.policies[0]!.run).toBe(1);
    expect(now.policies[0]!.body.files.map((f) => [f.path, f.text])).toEqual([[s.policy, first]]);
    expect(now.policies[0]!.body.hash).toBe(hashPolicy([{ path: s.policy, text: first }]));
    expect(now.summaries.map((x) => [x.body.policy, x.body.policyRecord])).toEqual([
      [now.policies[0]!.body.hash, now.policies[0]!.seq],
      [now.policies[0]!.body.hash, now.policies[0]!.seq],
    ]);

    const edited = first.replace('title = "Ledger files"', 'title = "Ledger files, reviewed"');
    writeFileSync(s.policy, edited);
    expect(covenant(["run", "--state", s.state, s.policyDir]).code).toBe(0);
    now = stored(s.state);
    expect(now.policies.map((p) => [p.run, p.body.files[0]!.text])).toEqual([
      [1, first],
      [3, edited],
    ]);
    expect(now.summaries.at(-1)!.body.policyRecord).toBe(now.policies[1]!.seq);

    writeFileSync(s.policy, first);
    expect(covenant(["run", "--state", s.state, s.policyDir]).code).toBe(0);
    now = stored(s.state);
    expect(now.policies).toHaveLength(2);
    expect(now.summaries.at(-1)!.body.policyRecord).toBe(now.policies[0]!.seq);
    expect(now.intact).toBe(true);
    const history = covenant(["history", "--state", s.state]);
    expect(history.out.split("\n").filter((l) => / policy [0-9a-f]{12} in force from run \d+: 1 file, \d+ bytes$/.test(l))).toHaveLength(2);
  });

  it("a dry run and a sandbox run store their policy too, and their summaries say so", () => {
    const s = scene();
    // the sandbox's own copy of the ledger file (sandbox.json is the sandbox's, not the policy's: it is not stored)
    writeFileSync(join(s.policyDir, "sandbox.json"), JSON.stringify({ users: ["root"], groups: { root: [] }, directories: [], files: [{ path: join(s.dir, "ledger", "gl.dat"), mode: "0640", content: "entry\n" }] }));
    expect(covenant(["run", "--dry-run", "--state", s.state, s.policyDir]).code).toBe(0);
    expect(covenant(["run", "--sandbox-dir", join(s.dir, "sandbox"), "--state", s.state, s.policyDir]).code).toBe(0);
    expect(covenant(["run", "--state", s.state, s.policyDir]).code).toBe(0);
    const now = stored(s.state);
    expect(now.policies).toHaveLength(1);
    expect(now.policies[0]!.run).toBe(1);
    expect(now.policies[0]!.body.files.map((f) => f.path)).toEqual([s.policy]);
    expect(now.summaries.map((x) => [x.body.dryRun, x.body.sandbox ?? false, x.body.policyRecord])).toEqual([
      [true, false, now.policies[0]!.seq],
      [false, true, now.policies[0]!.seq],
      [false, false, now.policies[0]!.seq],
    ]);
    expect(now.intact).toBe(true);
    const lines = covenant(["history", "--state", s.state]).out.split("\n");
    expect(lines.filter((l) => l.includes("run 1 (dry run):"))).toHaveLength(1);
    expect(lines.filter((l) => l.includes("run 2 (sandbox):"))).toHaveLength(1);
  });

  it("a library imported with --include is stored with the policy, and editing it alone is a new version", () => {
    const s = scene();
    const library = join(s.dir, "library");
    mkdirSync(library);
    const common = join(library, "common.promise");
    writeFileSync(common, "stakeholder ops\n");
    writeFileSync(s.policy, `import "${common}"\n` + readFileSync(s.policy, "utf8").replace('title = "Ledger files"', 'title = "Ledger files"\n  owner = ops'));
    const run = () => covenant(["run", "--include", library, "--state", s.state, s.policyDir]);
    expect(run().code).toBe(0);
    writeFileSync(common, "stakeholder ops\nstakeholder audit\n");
    expect(run().code).toBe(0);
    const now = stored(s.state);
    expect(now.policies.map((p) => p.body.files.map((f) => [f.path, f.text]))).toEqual([
      [[s.policy, readFileSync(s.policy, "utf8")], [common, "stakeholder ops\n"]],
      [[s.policy, readFileSync(s.policy, "utf8")], [common, "stakeholder ops\nstakeholder audit\n"]],
    ]);
    expect(now.intact).toBe(true);
  });

  it("one policy is one version whatever directory it is run from (paths are kept absolute)", () => {
    const s = scene();
    // the checker shows a path relative to the working directory where that is shorter: the version must not depend on it
    expect(covenant(["run", "--state", s.state, "."], { cwd: s.policyDir }).code).toBe(0);
    expect(covenant(["run", "--state", s.state, "policy"], { cwd: s.dir }).code).toBe(0);
    expect(covenant(["run", "--state", s.state, s.policyDir], { cwd: "/" }).code).toBe(0);
    const now = stored(s.state);
    expect(now.policies).toHaveLength(1);
    expect(now.policies[0]!.body.files.map((f) => f.path)).toEqual([s.policy]);
    expect(new Set(now.summaries.map((x) => x.body.policy))).toEqual(new Set([now.policies[0]!.body.hash]));
    expect(now.intact).toBe(true);
  });
});

