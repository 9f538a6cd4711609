// `covenant integrity init` and `covenant approve`, run as users run them (the built CLI, real
// files, the real store): how many paths were recorded, an approval with its reason and who in
// the history, the deficiency it closes saying so, and an approved `baseline` copy that a later
// `repair = content` restores instead of the old content.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function scene(body: (dir: string) => string) {
  const dir = mkdtempSync(join(tmpdir(), "covenant-approve-"));
  dirs.push(dir);
  mkdirSync(join(dir, "state"), { mode: 0o700 });
  mkdirSync(join(dir, "policy"), { mode: 0o700 });
  const policy = join(dir, "policy", "p.promise");
  writeFileSync(policy, `control "SOX-7" {\n  title = "ledger"\n${body(dir)}\n}\n`, { mode: 0o600 });
  return { dir, state: join(dir, "state"), policy };
}

describe("covenant integrity init and covenant approve", () => {
  it("init says how many paths it recorded; an unapproved change is a deficiency; approve closes it, saying by whom and why", () => {
    const s = scene((d) => `  file "${d}/gl.dat" { integrity = sha256 }\n  directory "${d}/tree" { recurse = true watch = realtime }`);
    const gl = join(s.dir, "gl.dat");
    writeFileSync(gl, "balance = 100\n");
    mkdirSync(join(s.dir, "tree", "sub"), { recursive: true });
    writeFileSync(join(s.dir, "tree", "a"), "a\n");
    writeFileSync(join(s.dir, "tree", "sub", "b"), "b\n");
    const init = covenant(["integrity", "init", "--state", s.state, "--policy", s.policy, "--by", "Alice Admin"]);
    expect(init.code, init.err).toBe(0);
    expect(init.out).toMatch(/^recorded the approved state of 5 paths \(gl\.dat, the tree, its 3 entries\)|recorded the approved state of 5 paths of 2 integrity promises, by Alice Admin; history record \d+/);

    writeFileSync(gl, "balance = 1000000\n");
    writeFileSync(join(s.dir, "tree", "c"), "new\n");
    const run = covenant(["run", "--json", "--state", s.state, s.policy]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.out) as { controls: { promises: { promiser: string; outcome: string; findings?: { path: string; changes: { kind: string }[]; diff?: { kind: string; text?: string } }[] }[] }[] };
    const promises = report.controls[0]!.promises;
    const file = promises.find((p) => p.promiser.endsWith("gl.dat"))!;
    expect(file.outcome).toBe("drift");
    expect(file.findings![0]!.changes.map((c) => c.kind)).toContain("content");
    expect(file.findings![0]!.diff?.text).toContain("-balance = 100\n+balance = 1000000");
    const tree = promises.find((p) => p.promiser.endsWith("tree"))!;
    expect(tree.findings!.find((f) => f.path.endsWith("/tree/c"))!.changes.map((c) => c.kind)).toEqual(["created"]);

    expect(covenant(["approve", gl, "--state", s.state, "--policy", s.policy]).code).not.toBe(0); // no --reason
    const approve = covenant(["approve", gl, "--reason", "CHG-1234 year-end close", "--by", "Bob Controller", "--state", s.state, "--policy", s.policy]);
    expect(approve.code, approve.err).toBe(0);
    expect(approve.out).toMatch(/approved the current state of 1 path of 1 integrity promise, by Bob Controller: CHG-1234 year-end close; history record \d+/);
    expect(approve.out).toMatch(/closed d-[0-9a-z]+: approved by Bob Controller: CHG-1234 year-end close/);

    const again = JSON.parse(covenant(["run", "--json", "--state", s.state, s.policy]).out) as typeof report;
    expect(again.controls[0]!.promises.find((p) => p.promiser.endsWith("gl.dat"))!.outcome).toBe("kept");
    expect(again.controls[0]!.promises.find((p) => p.promiser.endsWith("gl.dat"))!.findings).toBeUndefined();

    const history = covenant(["history", "--state", s.state]);
    expect(history.out).toMatch(/approved 1 integrity state \(approve .*gl\.dat\) by Bob Controller as \S+ \((login uid \d+|login uid unset)\): CHG-1234 year-end close/);
    expect(history.out).toMatch(/approved 5 integrity states \(integrity init \(every integrity promise\)\) by Alice Admin/);
    const all = JSON.parse(covenant(["deficiencies", "--all", "--json", "--state", s.state]).out) as { promise: { promiser: string }; status: string; approval?: { by: string; reason: string } }[];
    const closed = all.find((d) => d.promise.promiser.endsWith("gl.dat"))!;
    expect(closed.status).toBe("resolved");
    expect(closed.approval).toMatchObject({ by: "Bob Controller", reason: "CHG-1234 year-end close" });
    expect(covenant(["verify", "--state", s.state]).code).toBe(0);
  }, 60_000);

  it("a mode change alone and a new entry in a tree with integrity are deficiencies, one difference per path; approve closes both; a touch opens none", () => {
    const s = scene((d) => `  file "${d}/gl.dat" { integrity = sha256 }\n  directory "${d}/tree" { watch = realtime integrity = sha256 }`);
    const gl = join(s.dir, "gl.dat");
    writeFileSync(gl, "balance = 100\n");
    chmodSync(gl, 0o640);
    mkdirSync(join(s.dir, "tree"));
    writeFileSync(join(s.dir, "tree", "a"), "a\n");
    expect(covenant(["integrity", "init", "--state", s.state, "--policy", s.policy]).code).toBe(0);

    chmodSync(gl, 0o666);
    writeFileSync(join(s.dir, "tree", "new"), "x\n");
    type Report = { controls: { promises: { promiser: string; outcome: string; differences: { subject?: string; attribute: string; reason: string }[] }[] }[] };
    const run = covenant(["run", "--json", "--state", s.state, s.policy]);
    expect(run.code).toBe(1);
    const promises = (JSON.parse(run.out) as Report).controls[0]!.promises;
    const file = promises.find((p) => p.promiser.endsWith("gl.dat"))!;
    expect(file.outcome).toBe("drift");
    expect(file.differences.filter((d) => d.attribute === "integrity").map((d) => d.reason)).toEqual([`${gl}: changed since approved (mode) — approve it with \`covenant approve\``]);
    const tree = promises.find((p) => p.promiser.endsWith("tree"))!;
    expect(tree.outcome).toBe("drift");
    expect(tree.differences.map((d) => d.subject)).toEqual([join(s.dir, "tree", "new")]);

    const approve = covenant(["approve", "SOX-7", "--reason", "CHG-77 permissions and a new file", "--by", "Bob", "--state", s.state, "--policy", s.policy]);
    expect(approve.code, approve.err).toBe(0);
    expect(approve.out.match(/^closed d-/gm)).toHaveLength(2);

    const future = new Date(Date.now() + 3_600_000);
    utimesSync(gl, future, future);
    const after = covenant(["run", "--json", "--state", s.state, s.policy]);
    expect(after.code, after.out).toBe(0);
    expect((JSON.parse(after.out) as Report).controls[0]!.promises.every((p) => p.outcome === "kept")).toBe(true);
  }, 60_000);

  it("approve replaces the `baseline` copy, so repair = content restores the approved content, not the old", () => {
    const s = scene((d) => `  file "${d}/app.conf" { integrity = sha256 baseline = "${d}/approved/app.conf" repair = content }`);
    mkdirSync(join(s.dir, "approved"), { mode: 0o700 });
    const conf = join(s.dir, "app.conf");
    writeFileSync(join(s.dir, "approved", "app.conf"), "version = 1\n", { mode: 0o600 });
    writeFileSync(conf, "version = 1\n");
    expect(covenant(["run", "--state", s.state, s.policy]).code).toBe(0);
    writeFileSync(conf, "version = 2\n");
    const approve = covenant(["approve", "SOX-7", "--reason", "CHG-9 upgrade", "--state", s.state, "--policy", s.policy]);
    expect(approve.code, approve.err).toBe(0);
    expect(approve.out).toContain(`approved copy replaced: ${join(s.dir, "approved", "app.conf")}`);
    expect(readFileSync(join(s.dir, "approved", "app.conf"), "utf8")).toBe("version = 2\n");
    // tampered with later: repair restores the approved (new) content
    writeFileSync(conf, "version = evil\n");
    chmodSync(conf, 0o644);
    const run = covenant(["run", "--state", s.state, s.policy]);
    expect(run.code, run.out).toBe(0);
    expect(readFileSync(conf, "utf8")).toBe("version = 2\n");
  }, 60_000);

  it("a target that is neither a control nor a path under an integrity promise is exit 2, saying so", () => {
    const s = scene((d) => `  file "${d}/x" { integrity = sha256 }`);
    writeFileSync(join(s.dir, "x"), "x\n");
    const r = covenant(["approve", "NOPE", "--reason", "r", "--state", s.state, "--policy", s.policy]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/`NOPE` is neither a control with an integrity promise in the policy nor an absolute path/);
    const p = covenant(["approve", "/etc/passwd", "--reason", "r", "--state", s.state, "--policy", s.policy]);
    expect(p.code).toBe(2);
    expect(p.err).toMatch(/no integrity promise of the policy covers \/etc\/passwd/);
  });
});
