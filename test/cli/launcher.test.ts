// bin/covenant: `check` and `fmt` start from the startup snapshot when it was built by the node
// on PATH, and give exactly what the bundle gives; anything else starts from the bundle.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bin, covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());

const broken = 'stakeholder ops\ncontrol "C-1" {\n  title = "t"\n  owner = ops\n  file "/srv/a" { mdoe = 0640 }\n  file "/srv/b" { mode = 0999 }\n}\n';

function policyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "covenant-launcher-"));
  writeFileSync(join(dir, "broken.promise"), broken);
  writeFileSync(join(dir, "messy.promise"), 'control "M-1" {\ntitle="t"   // kept\n  file "/x" {mode=0640}\n}\n');
  return dir;
}

/** A copy of the installed package (bin and dist) whose snapshot files can be altered. */
function packageCopy(): string {
  const root = mkdtempSync(join(tmpdir(), "covenant-package-"));
  for (const part of ["bin", "dist", "package.json"]) cpSync(join(process.cwd(), part), join(root, part), { recursive: true });
  return root;
}

describe("bin/covenant", () => {
  it("gives from the snapshot exactly what the bundle gives: output, colours and exit codes", () => {
    const dir = policyDir();
    const cases: { args: string[]; env?: Record<string, string> }[] = [
      { args: ["check", "examples/sox"] },
      { args: ["check", dir] },
      { args: ["check", "--format", "json", dir] },
      { args: ["check", dir], env: { FORCE_COLOR: "1" } },
      { args: ["check", dir], env: { FORCE_COLOR: "1", NO_COLOR: "1" } },
      { args: ["check", "--strict", "examples/sox"] },
      { args: ["check", "--help"] },
      { args: ["fmt", "--check", dir] },
      { args: ["fmt", "--stdout", join(dir, "messy.promise")] },
      { args: ["check", "--no-such-option"] },
    ];
    for (const c of cases) {
      const viaSnapshot = covenant(c.args, { env: c.env });
      const viaBundle = covenant(c.args, { env: { ...c.env, COVENANT_NO_SNAPSHOT: "1" } });
      expect(viaSnapshot, c.args.join(" ")).toEqual(viaBundle);
    }
    expect(covenant(["check", dir], { env: { FORCE_COLOR: "1" } }).out).toContain("\u001b[");
    expect(covenant(["check", dir]).code).toBe(2);
  });

  it("starts check and fmt from the snapshot only when the node on PATH built it", () => {
    const root = packageCopy();
    const launcher = join(root, "bin/covenant");
    const run = (args: string[], env: Record<string, string> = {}) => spawnSync(launcher, args, { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "", ...env } });
    expect(run(["check", "examples/sox"]).status).toBe(0);
    // a damaged snapshot fails when used: this shows check takes the snapshot...
    writeFileSync(join(root, "dist/snapshot/covenant.blob"), "not a snapshot");
    expect(run(["check", "examples/sox"]).status).not.toBe(0);
    // ...also when the node on PATH is a symlink to the binary that built it (as nvm installs it)
    const shims = mkdtempSync(join(tmpdir(), "covenant-path-"));
    symlinkSync(process.execPath, join(shims, "node"));
    expect(run(["check", "examples/sox"], { PATH: `${shims}:${process.env["PATH"]}` }).status).not.toBe(0);
    // ...and not when the node cannot be identified (no `stat` on PATH): the bundle runs
    expect(run(["check", "examples/sox"], { PATH: shims }).status).toBe(0);
    // ...except when NODE_OPTIONS is set: a snapshot runs only with the options it was built with
    expect(run(["check", "examples/sox"], { NODE_OPTIONS: "--max-old-space-size=4096" }).status).toBe(0);
    // ...and other commands never do
    expect(run(["--version"]).stdout.trim()).toBe(JSON.parse(readFileSync("package.json", "utf8")).version);
    // the snapshot runs with the V8 flags it was built with, recorded beside the node's identity
    writeFileSync(join(root, "dist/snapshot/covenant.blob"), readFileSync("dist/snapshot/covenant.blob"));
    const stamp = readFileSync("dist/snapshot/node", "utf8").split("\n");
    expect(stamp[1]).toMatch(/^--/);
    // (a flag node does not know, to see them passed: a snapshot without a code cache, as these
    // are, is not refused for flags of another build)
    writeFileSync(join(root, "dist/snapshot/node"), `${stamp[0]}\n--no-such-v8-flag\n`);
    const flagged = run(["check", "examples/sox"]);
    expect([flagged.status, flagged.stderr]).toEqual([9, expect.stringContaining("bad option: --no-such-v8-flag")]);
    // a snapshot built by another node binary is passed over, and so is a record without its
    // flags, without an identity, or missing: the bundle runs
    for (const record of ["1 2 3 4\n--max-semi-space-size=2\n", `${stamp[0]}\n`, `\n${stamp[1]}\n`, undefined]) {
      if (record === undefined) rmSync(join(root, "dist/snapshot/node"));
      else writeFileSync(join(root, "dist/snapshot/node"), record);
      const r = run(["check", "examples/sox"]);
      expect(r.stdout).toContain("4 files checked: 0 errors, 1 warning"); // W301: no covenant.yaml
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    }
  });

  it("finds its package through the relative symlink a global install makes", () => {
    const prefix = mkdtempSync(join(tmpdir(), "covenant prefix "));
    const pkg = join(prefix, "lib/node_modules/covenant");
    mkdirSync(join(prefix, "bin"), { recursive: true });
    cpSync(packageCopy(), pkg, { recursive: true });
    symlinkSync("../lib/node_modules/covenant/bin/covenant", join(prefix, "bin/covenant"));
    for (const args of [["check", "examples/sox"], ["--version"]]) {
      const r = spawnSync(join(prefix, "bin/covenant"), args, { encoding: "utf8" });
      expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(0);
    }
  });

  it("ends quietly when its reader closes the pipe early", () => {
    for (const env of [{}, { COVENANT_NO_SNAPSHOT: "1" }]) {
      const r = spawnSync("sh", ["-c", `"${bin}" check --help | head -c 1 >/dev/null; exit 0`], { encoding: "utf8", env: { ...process.env, ...env } });
      expect(r.stderr).not.toMatch(/EPIPE|Error/);
    }
  });
});
