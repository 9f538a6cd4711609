import { loadavg as osLoadavg } from "node:os";
import { describe, expect, it } from "vitest";
import { parse, read } from "../../src/probes/loadavg.ts";

describe("loadavg probe", () => {
  it("parses the kernel's line and rejects anything else", () => {
    expect(parse("0.66 0.41 0.22 1/234 5678\n")).toEqual({ load1: 0.66, load5: 0.41, load15: 0.22, running: 1, total: 234, lastPid: 5678 });
    expect(parse("0.66 0.41\n")).toBeUndefined();
    expect(parse("")).toBeUndefined();
  });
  it("reads the fixture and the live host, agreeing with os.loadavg()", () => {
    expect(read({ proc: "test/fixtures/proc/debian12-vm" }).ok).toBe(true);
    const r = read({ proc: "/proc" });
    if (!r.ok) throw new Error(r.error.message);
    expect(Math.abs(r.value.load15 - osLoadavg()[2]!)).toBeLessThan(0.05);
  });
});
