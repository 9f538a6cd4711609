// bin/covenant in a package that carries its own Node runtime (node/bin/node beside bin/, as the
// Debian package installs it): every command runs on that node, never on the node on PATH, and
// check and fmt start from the snapshot when that node built it.
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A PATH whose first `node` is not one Covenant may run: it says so and exits 99. */
function pathWithWrongNode(): string {
  const dir = tempDir("covenant-wrong-node-");
  writeFileSync(join(dir, "node"), "#!/bin/sh\necho \"wrong node: $*\" >&2\nexit 99\n");
  chmodSync(join(dir, "node"), 0o755);
  return `${dir}:${process.env["PATH"]}`;
}

/** A copy of the built package with a carried runtime: a script that logs its arguments and runs this node. */
function packageWithCarriedNode(): { root: string; log: string } {
  const root = tempDir("covenant-carried-");
  for (const part of ["bin", "dist", "package.json"]) cpSync(join(process.cwd(), part), join(root, part), { recursive: true });
  const log = join(root, "node.log");
  mkdirSync(join(root, "node/bin"), { recursive: true });
  writeFileSync(join(root, "node/bin/node"), `#!/bin/sh\necho "$*" >>'${log}'\nexec '${process.execPath}' "$@"\n`);
  chmodSync(join(root, "node/bin/node"), 0o755);
  return { root, log };
}

/** dist/snapshot/node naming `node` as the binary that built the snapshot (what `stat -L -c '%d %i %s %Y'` prints). */
function stampFor(root: string, node: string): void {
  const st = statSync(node, { bigint: true });
  const flags = readFileSync(join(root, "dist/snapshot/node"), "utf8").split("\n")[1];
  writeFileSync(join(root, "dist/snapshot/node"), `${st.dev} ${st.ino} ${st.size} ${st.mtimeNs / 1_000_000_000n}\n${flags}\n`);
}

describe("bin/covenant with a carried Node runtime", () => {
  it("runs every command on node/bin/node beside it, not on the node on PATH", () => {
    const { root, log } = packageWithCarriedNode();
    const env = { ...process.env, PATH: pathWithWrongNode(), NODE_OPTIONS: "" };
    const launcher = join(root, "bin/covenant");
    const version = spawnSync(launcher, ["--version"], { encoding: "utf8", env });
    expect(version.stderr).toBe("");
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync("package.json", "utf8")).version);
    expect(readFileSync(log, "utf8")).toBe(`${root}/bin/../bin/covenant.js --version\n`);

    // check and fmt: from the bundle while the snapshot was built by another node...
    const fromBundle = spawnSync(launcher, ["check", "examples/sox"], { encoding: "utf8", env });
    expect(fromBundle.status, fromBundle.stderr).toBe(0);
    expect(readFileSync(log, "utf8").split("\n")[1]).toMatch(/bin\/covenant\.js check examples\/sox$/);
    // ...and from the snapshot, through the carried node, once it built it
    stampFor(root, join(root, "node/bin/node"));
    const fromSnapshot = spawnSync(launcher, ["check", "examples/sox"], { encoding: "utf8", env });
    expect(fromSnapshot.status, fromSnapshot.stderr).toBe(0);
    expect(fromSnapshot.stdout).toBe(fromBundle.stdout);
    expect(readFileSync(log, "utf8").split("\n")[2]).toMatch(/^--max-semi-space-size=2 --snapshot-blob \S+\/dist\/snapshot\/covenant\.blob -- check examples\/sox$/);
  });

  it("still finds node on PATH when no runtime is carried", () => {
    const { root } = packageWithCarriedNode();
    rmSync(join(root, "node"), { recursive: true });
    const r = spawnSync(join(root, "bin/covenant"), ["--version"], { encoding: "utf8", env: { ...process.env, PATH: pathWithWrongNode() } });
    expect(r.status).toBe(99);
    expect(r.stderr).toContain("wrong node");
  });

  it("never falls back to the node on PATH when the carried one cannot be run", () => {
    const { root } = packageWithCarriedNode();
    chmodSync(join(root, "node/bin/node"), 0o644);
    const r = spawnSync(join(root, "bin/covenant"), ["--version"], { encoding: "utf8", env: { ...process.env, PATH: pathWithWrongNode() } });
    expect(r.status).toBe(126);
    expect(r.stderr).toMatch(/node\/bin\/node: Permission denied/);
    expect(r.stderr).not.toContain("wrong node");
  });
});
