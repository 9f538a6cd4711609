import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parse, read } from "../../src/probes/file-nr.ts";

describe("file-nr probe", () => {
  it("parses the three counters and the share in use", () => {
    expect(parse("599\t0\t2466170\n")).toEqual({ allocated: 599, free: 0, max: 2466170, usedPct: (599 / 2466170) * 100 });
    expect(parse("599 0\n")).toBeUndefined();
    expect(parse("a b c")).toBeUndefined();
    expect(parse("1 0 0")).toBeUndefined(); // a zero maximum would make every share infinite
  });
  it("reads a fixture and says what is wrong with a malformed file", () => {
    expect(read({ proc: "test/fixtures/proc/debian12-vm" }).ok).toBe(true);
    expect(read({ proc: "test/fixtures/proc/awkward" })).toMatchObject({ ok: false, error: { code: "not-found" } });
  });
  it("agrees with sysctl on the live host", () => {
    const r = read({ proc: "/proc" });
    const max = Number(execFileSync("sysctl", ["-n", "fs.file-max"], { encoding: "utf8" }).trim());
    expect(r.ok && r.value.max).toBe(max);
  });
});
