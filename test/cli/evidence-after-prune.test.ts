// Attack probe: after a legitimate prune, an evidence pack of a period that reaches into the pruned
// part (records kept at or below the checkpoint's cut, then the rest) must still verify.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { raw, removeTempDirs, tempDir } from "../store/helpers.ts";
import { dailyStore } from "./prune-store.ts";

beforeAll(() => ensureBuilt());
afterAll(() => removeTempDirs());

const store = (): string => dailyStore("prune-ev").dir;

describe("an evidence pack after a prune", () => {
  it("of a period reaching into the pruned part verifies", () => {
    const dir = store();
    const out = tempDir("pack");
    const pub = join(out, "host.pub");
    expect(covenant(["key", "export", "--state", dir, "--out", pub]).code).toBe(0);
    const e = covenant(["evidence", "--from", "2026-11-01", "--to", "2026-11-30", "--tz", "UTC", "--out", join(out, "pack"), "--state", dir]);
    expect(e.code, e.err).toBe(0);
    const p = covenant(["prune", "--state", dir, "--before", "2026-11-23", "--tz", "UTC", "--pack", join(out, "pack.tar.gz")]);
    expect(p.code, p.err).toBe(0);
    const kept = raw(dir).prepare("SELECT count(*) FROM ledger").pluck().get() as number;
    expect(kept).toBeGreaterThan(0);
    const e2 = covenant(["evidence", "--from", "2026-11-01", "--to", "2026-11-30", "--tz", "UTC", "--out", join(out, "after"), "--state", dir]);
    expect(e2.code, e2.out + e2.err).toBe(0);
    const v = covenant(["evidence", "verify", join(out, "after.tar.gz"), "--public-key", pub]);
    expect(v.code, v.out + v.err).toBe(0);
    const m = JSON.parse(readFileSync(join(out, "after", "manifest.json"), "utf8")) as { extract: { pruned?: { cut: number } } };
    expect(m.extract.pruned?.cut).toBeGreaterThan(0);
    // and a second prune takes it as the pack that holds what it removes
    const p2 = covenant(["prune", "--state", dir, "--before", "2026-11-25", "--tz", "UTC", "--pack", join(out, "after.tar.gz")]);
    expect(p2.code, p2.err).toBe(0);
    expect(covenant(["verify", "--state", dir]).code).toBe(0);
    const r = covenant(["report", "--from", "2026-11-01", "--to", "2026-11-30", "--tz", "UTC", "--state", dir, "--format", "json"]);
    expect(r.out + r.err).not.toMatch(/"verdict": "tampered"/);
  });
});
