// Attacks on the store's sealed rows from the command line: a row edited in state.db (as one
// with write access to the file would) must be found by `covenant verify` and said by the run
// that passes it over, whichever makes the seals (the seal addon, native/seal.c, or node:crypto
// when the addon is missing: a store written by one is read by the other).
import { spawnSync } from "node:child_process";
import Database from "better-sqlite3";
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());
const top = mkdtempSync(join(tmpdir(), "covenant-attack-forged-rows-"));
afterAll(() => rmSync(top, { recursive: true, force: true }));

/** A drifting file owned by a stakeholder told by a report channel: a run opens a deficiency. */
function scene(name: string): { policy: string; config: string; state: string } {
  const dir = join(top, name);
  mkdirSync(join(dir, "srv"), { recursive: true });
  mkdirSync(join(dir, "reports"));
  writeFileSync(join(dir, "srv", "gl.dat"), "ledger\n");
  chmodSync(join(dir, "srv", "gl.dat"), 0o644);
  const config = join(dir, "covenant.yaml");
  writeFileSync(config, `version: 1\nstakeholders:\n  ops: { channels: [digest], people: [{ name: Ops, email: ops@example.com }] }\nchannels:\n  digest: { type: report, directory: ${dir}/reports }\nroute: { receivers: [ops] }\n`);
  const policy = join(dir, "gl.promise");
  writeFileSync(policy, `stakeholder ops {}\ncontrol "GL-01" {\n  title = "Ledger file"\n  owner = ops\n  file "${dir}/srv/gl.dat" { mode = 0640 }\n}\n`);
  return { policy, config, state: join(dir, "state") };
}

function run(bin: string, args: string[], env: Record<string, string> = {}) {
  const { NO_COLOR: _n, FORCE_COLOR: _f, ...base } = process.env;
  return spawnSync(bin, args, { encoding: "utf8", env: { ...base, NODE_OPTIONS: "", ...env } });
}

const bin = join(process.cwd(), "bin/covenant");

describe("a deficiency edited in state.db", () => {
  it.each([["from the snapshot", {}], ["from the bundle", { COVENANT_NO_SNAPSHOT: "1" }]] as const)("is said by the run that passes it over (%s), with its id escaped, not only by verify", (_how, env) => {
    const s = scene(`deficiency-${Object.keys(env).length}`);
    const args = ["run", "--config", s.config, "--state", s.state, s.policy];
    expect(run(bin, args, env).status).toBe(1);
    const db = new Database(join(s.state, "state.db"));
    // the body changed, and the id made to carry a terminal escape: both break the seal
    const changed = db.prepare("UPDATE deficiencies SET body = replace(body, 'mode is', 'mode was'), id = id || char(27) || '[31mX'").run().changes;
    db.close();
    expect(changed).toBe(1);
    const text = run(bin, args, env);
    expect(text.stdout).toMatch(/note: the deficiency d-\S+\\x1b\[31mX was changed outside Covenant \(its seal does not match\): it is not used; `covenant verify` reports it/);
    expect(text.stdout).not.toContain("\x1b");
    const json = run(bin, [...args.slice(0, 1), "--json", ...args.slice(1)], env);
    const notes = (JSON.parse(json.stdout) as { run: { notes: string[] } }).run.notes;
    expect(notes.filter((n) => /the deficiency d-.* was changed outside Covenant \(its seal does not match\)/.test(n))).toHaveLength(1);
    const verify = run(bin, ["verify", "--state", s.state], env);
    expect(verify.status).toBe(1);
    expect(verify.stdout).toMatch(/TAMPERED: the deficiency d-.* was changed outside Covenant: its seal does not match/);
  });
});

describe("seals made with the addon and without it", () => {
  /** The package copied to `root` without the seal addon (node:crypto makes the seals there). */
  function packageWithoutSeal(root: string): string {
    mkdirSync(join(root, "build", "Release"), { recursive: true });
    for (const part of ["bin", "dist", "package.json"]) cpSync(join(process.cwd(), part), join(root, part), { recursive: true });
    symlinkSync(join(process.cwd(), "node_modules"), join(root, "node_modules"));
    for (const h of ["safe_fs", "fd_scan", "inotify", "sock_diag"]) copyFileSync(join(process.cwd(), "build", "Release", `${h}.node`), join(root, "build", "Release", `${h}.node`));
    return join(root, "bin/covenant");
  }

  it("are the same: a store written by either verifies and runs with the other, and an edited row is found by both", () => {
    const without = packageWithoutSeal(join(top, "no-seal"));
    const s = scene("mixed");
    const args = ["run", "--config", s.config, "--state", s.state, s.policy];
    for (const b of [bin, without, bin, without]) {
      const r = run(b, args);
      expect([r.status, r.stderr]).toEqual([1, ""]);
      expect(r.stdout).not.toMatch(/seal does not match/);
      for (const v of [bin, without]) expect(run(v, ["verify", "--state", s.state]).stdout).toMatch(/^intact: /);
    }
    const db = new Database(join(s.state, "state.db"));
    db.prepare("UPDATE current SET reason = reason || '!'").run();
    db.close();
    for (const v of [bin, without]) expect(run(v, ["verify", "--state", s.state]).stdout).toMatch(/TAMPERED: the current state of GL-01\/file:.* was changed outside Covenant: its seal does not match/);
  });
});
