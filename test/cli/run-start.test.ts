// What `covenant run` loads when it starts: the built CLI as cron runs it (output to pipes),
// from the policy cache, with nothing to say. Each module named here cost the run's start time
// (bench/run) and is loaded only when used: node:child_process (with node:net and node:dgram)
// when a program is started, node:net when an address is read or a stream made on a pipe,
// perf_hooks, webcrypto and node:fs's streams never, re2js when a pattern is compiled (its own
// file, dist/chunks/re2js.cjs), and better-sqlite3 through require, not Node's CommonJS-to-ES
// translator (its export lexer).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());
const dir = mkdtempSync(join(tmpdir(), "covenant-run-start-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// at exit: the builtins Node loaded and the CommonJS files required, one a line
const preload = join(dir, "loaded.cjs");
writeFileSync(
  preload,
  `process.on("exit", () => require("node:fs").writeFileSync(process.env.LOADED_OUT, [...process.moduleLoadList, ...Object.keys(require.cache)].join("\\n")));\n`,
);

function scene(name: string, attributes: string) {
  const ledger = join(dir, `${name}.dat`);
  writeFileSync(ledger, "ledger_key_v2 s3cr3t\nentry LGR-0000ABCD\n", { mode: 0o640 });
  const policy = join(dir, `${name}.promise`);
  writeFileSync(policy, `stakeholder compliance { description = "Compliance" }\ncontrol "GL-01" {\n  title = "ledger"\n  owner = compliance\n  file "${ledger}" {\n${attributes}\n  }\n}\n`);
  return { policy, state: join(dir, `${name}-state`) };
}

/** `run --quiet` twice (the first writes the policy cache); what the second loaded. */
function quietRunFromCache(s: { policy: string; state: string }) {
  const args = ["run", "--quiet", "--state", s.state, s.policy];
  const first = spawnSync(bin, args, { encoding: "utf8" });
  expect([first.status, first.stderr]).toEqual([0, ""]);
  const out = join(dir, "loaded.txt");
  const r = spawnSync(bin, args, { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: `--require ${preload}`, LOADED_OUT: out } });
  expect([r.status, r.stdout, r.stderr]).toEqual([0, "", ""]);
  return readFileSync(out, "utf8").split("\n");
}

describe("a quiet run from the policy cache", () => {
  it("loads no module it does not use", () => {
    const loaded = quietRunFromCache(scene("plain", "    mode = 0640\n    integrity = sha256"));
    for (const m of ["child_process", "net", "dgram", "perf_hooks", "internal/crypto/webcrypto", "internal/fs/streams", "internal/deps/cjs-module-lexer/lexer"]) {
      expect(loaded, m).not.toContain(`NativeModule ${m}`);
    }
    expect(loaded.filter((f) => f.endsWith("re2js.cjs"))).toEqual([]);
    expect(loaded.some((f) => /node_modules\/better-sqlite3\/lib\/index\.js$/.test(f))).toBe(true);
  });

  it("loads no node:net for a condition `in` a list of names (only an address is looked up by it)", () => {
    const loaded = quietRunFromCache(scene("names", '    when = os in ["linux", "freebsd"]\n    mode = 0640'));
    for (const m of ["child_process", "net"]) expect(loaded, m).not.toContain(`NativeModule ${m}`);
  });

  it("loads re2js from its own file when the policy has a pattern, and masks with it", () => {
    const s = scene("masked", '    integrity = sha256\n    mask = ["LGR-[0-9A-F]{8}"]');
    const loaded = quietRunFromCache(s);
    expect(loaded.filter((f) => f.endsWith("/dist/chunks/re2js.cjs"))).toHaveLength(1);
    // the line with the pattern changes: the diff shows it masked
    writeFileSync(join(dir, "masked.dat"), "ledger_key_v2 s3cr3t\nentry LGR-0000FFFF\n");
    const r = spawnSync(bin, ["run", "--state", s.state, s.policy], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^\s+-entry \*\*\*\*$/m);
    expect(r.stdout).toMatch(/^\s+\+entry \*\*\*\*$/m);
    expect(r.stdout).not.toMatch(/LGR-/);
  });
});
