import { totalmem } from "node:os";
import { describe, expect, it } from "vitest";
import { parse, read } from "../../src/probes/meminfo.ts";

describe("meminfo probe", () => {
  it("reads kB values as bytes and counts malformed lines", () => {
    const r = parse("MemTotal:       24684032 kB\nHugePages_Total:       0\nnonsense\nMemAvailable: 1 kB\n");
    expect(r.values.get("MemTotal")).toBe(24684032 * 1024);
    expect(r.values.get("HugePages_Total")).toBe(0);
    expect(r.skipped.map((s) => [s.line, s.reason])).toEqual([[3, "expected `Key: value [kB]`"]]);
  });
  it("is an error without MemTotal or MemAvailable, never a zero", () => {
    expect(read({ proc: "test/fixtures/proc/awkward" })).toMatchObject({ ok: false, error: { code: "not-found" } });
  });
  it("agrees with os.totalmem() on the live host", () => {
    const r = read({ proc: "/proc" });
    expect(r.ok && r.value.totalBytes).toBe(totalmem());
  });
});
