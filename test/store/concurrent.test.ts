// `verify` and `history` beside running runs, as an operator or a monitoring job calls them while
// cron runs Covenant: real processes on one store, many times. Before they opened the store
// read-only, 2 of 21 verifies and 2 of 12 history calls exited 3 with "database is locked".
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin, covenant, ensureBuilt } from "../helpers/cli.ts";
import { removeTempDirs, tempDir } from "./helpers.ts";

afterAll(() => removeTempDirs());

beforeAll(() => ensureBuilt());

function exec(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("close", (code) => done({ code, out, err }));
  });
}

describe("reading beside a running run", () => {
  it("verify and history never fail while runs write to the same store", async () => {
    const dir = tempDir("concurrent");
    mkdirSync(join(dir, "ledger"));
    const files = Array.from({ length: 300 }, (_, i) => join(dir, "ledger", `gl-${i}.dat`));
    for (const f of files) writeFileSync(f, `entry ${f}\n`);
    const policy = join(dir, "ledger.promise");
    writeFileSync(policy, `control "ITGC-CM-02" {\n  title = "Ledger files"\n${files.map((f) => `  file "${f}" { mode = 0640 integrity = sha256 repair = perms }`).join("\n")}\n}\n`);
    const state = join(dir, "state");
    expect(covenant(["run", "--quiet", "--state", state, policy]).code).toBe(0);

    let running = true;
    const runs = (async () => {
      // every run repairs all 300 files: 300 records written, one transaction each
      for (let i = 0; i < 8; i++) {
        for (const f of files) chmodSync(f, 0o666);
        const r = await exec(["run", "--quiet", "--state", state, policy]);
        expect(r.code, r.err).toBe(0);
      }
      running = false;
    })();
    const failures: string[] = [];
    let verifies = 0;
    let histories = 0;
    const reader = async (args: string[], count: () => void) => {
      while (running) {
        const r = await exec([...args, "--state", state]);
        count();
        if (r.code !== 0 || r.err !== "") failures.push(`${args[0]} exited ${r.code}: ${r.err.trim()}`);
        else if (args[0] === "verify" && !r.out.startsWith("intact: ")) failures.push(`verify: ${r.out.split("\n")[0]}`);
      }
    };
    await Promise.all([runs, reader(["verify"], () => verifies++), reader(["history", "--changes"], () => histories++)]);
    expect(failures).toEqual([]);
    expect(verifies).toBeGreaterThanOrEqual(10);
    expect(histories).toBeGreaterThanOrEqual(10);
    const v = covenant(["verify", "--state", state]);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^intact: \d+ records, 9 runs/);
  }, 180_000);
});
