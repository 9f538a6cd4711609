// Attacks on `covenant run` from its own start-up snapshot (src/cli/run-snapshot.ts): what the
// snapshot reaches at run time (native helpers, the store's library, the channel libraries, the
// bundle it hands over to) must be what the bundle reaches, from the package's own files, and a
// run from it must behave as the same run from the bundle (COVENANT_NO_SNAPSHOT).
import { spawnSync } from "node:child_process";
import { chownSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());
const top = mkdtempSync(join(tmpdir(), "covenant-attack-run-snapshot-"));
afterAll(() => rmSync(top, { recursive: true, force: true }));

/** A policy over one file that keeps it, and a state directory for it. */
function scene(name: string): { policy: string; state: string } {
  const dir = join(top, name);
  mkdirSync(join(dir, "srv"), { recursive: true });
  writeFileSync(join(dir, "srv", "gl.dat"), "ledger\n", { mode: 0o640 });
  const policy = join(dir, "gl.promise");
  writeFileSync(policy, `control "GL-01" {\n  title = "Ledger file"\n  file "${dir}/srv/gl.dat" { mode = 0640 }\n}\n`);
  return { policy, state: join(dir, "state") };
}

/** A copy of the package at `root`: bin and dist copied, node_modules linked, only the native helpers named. */
function packageAt(root: string, helpers: string[]): void {
  mkdirSync(join(root, "build", "Release"), { recursive: true });
  for (const part of ["bin", "dist", "package.json"]) cpSync(join(process.cwd(), part), join(root, part), { recursive: true });
  symlinkSync(join(process.cwd(), "node_modules"), join(root, "node_modules"));
  for (const h of helpers) copyFileSync(join(process.cwd(), "build", "Release", `${h}.node`), join(root, "build", "Release", `${h}.node`));
}

describe("a run from the snapshot reaches only the package's own files", () => {
  it("never loads a native helper from beside the package (a directory another user may own)", () => {
    // the package in a directory another user owns, built without the optional safe_fs and seal helpers;
    // that user puts a build/Release/safe_fs.node of their own beside the package (here another
    // helper, fd_scan, under that name: loading it shows in the run's outcome)
    const parent = join(top, "parent");
    const root = join(parent, "covenant");
    packageAt(root, ["fd_scan", "inotify", "sock_diag"]);
    mkdirSync(join(parent, "build", "Release"), { recursive: true });
    // and a seal.node: every run loads the seal helper (the store's row seals), when the package has it
    for (const planted of ["safe_fs.node", "seal.node"]) copyFileSync(join(process.cwd(), "build", "Release", "fd_scan.node"), join(parent, "build", "Release", planted));
    if (process.getuid?.() === 0) for (const p of [parent, join(parent, "build"), join(parent, "build", "Release"), join(parent, "build", "Release", "safe_fs.node"), join(parent, "build", "Release", "seal.node")]) chownSync(p, 65534, 65534);
    const s = scene("beside");
    const run = (env: Record<string, string> = {}) => spawnSync(join(root, "bin/covenant"), ["run", "--quiet", "--state", s.state, s.policy], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "", COVENANT_DEBUG: "1", ...env } });
    // the bundle looks for its helpers in the package only: without safe_fs it runs (no hard stop alarm)
    expect(run({ COVENANT_NO_SNAPSHOT: "1" })).toMatchObject({ status: 0, stderr: "" });
    // the snapshot (a policy from the cache now) must do the same, not load the planted file
    const fromSnapshot = run();
    expect(fromSnapshot.stderr).toBe("");
    expect(fromSnapshot.status).toBe(0);
  });

  it("finds re2js, the store's library and the helpers as the bundle does (a pattern evaluated from the cache)", () => {
    const s = scene("pattern");
    const conf = join(top, "pattern", "sudoers");
    writeFileSync(conf, "ok line\nbad NOPASSWD here\n");
    writeFileSync(s.policy, `control "RE-01" {\n  title = "no nopasswd"\n  lines "${conf}" {\n    absent = ["[^#]*NOPASSWD.*"]\n  }\n}\n`);
    const run = (env: Record<string, string> = {}) => spawnSync(join(process.cwd(), "bin/covenant"), ["run", "--json", "--state", s.state, s.policy], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "", COVENANT_DEBUG: "1", ...env } });
    const outcome = (r: ReturnType<typeof run>) => ({ ...(JSON.parse(r.stdout) as { controls: { promises: { outcome: string; reason: string }[] }[] }).controls[0]!.promises[0]!, durationMs: 0 });
    const bundle = run({ COVENANT_NO_SNAPSHOT: "1" });
    const snapshot = run();
    expect(snapshot.stderr).toBe(""); // from the cache: nothing handed over
    expect(snapshot.status).toBe(bundle.status);
    expect(outcome(snapshot)).toEqual(outcome(bundle));
    expect(outcome(snapshot).reason).toMatch(/forbidden pattern/);
  });
});
