// RPM version ordering: the cases of rpm's own test suite (tests/rpmvercmp.at) and the laws of an order.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareRpmVersions, parseRpmVersion, rpmvercmp } from "../../src/probes/rpm-version.ts";

const cases: [string, string, number][] = [
  ["1.0", "1.0", 0], ["1.0", "2.0", -1], ["2.0", "1.0", 1], ["2.0.1", "2.0.1", 0], ["2.0", "2.0.1", -1], ["2.0.1", "2.0", 1],
  ["2.0.1a", "2.0.1a", 0], ["2.0.1a", "2.0.1", 1], ["2.0.1", "2.0.1a", -1], ["5.5p1", "5.5p1", 0], ["5.5p1", "5.5p2", -1], ["5.5p2", "5.5p1", 1],
  ["5.5p10", "5.5p10", 0], ["5.5p1", "5.5p10", -1], ["5.5p10", "5.5p1", 1], ["10xyz", "10.1xyz", -1], ["10.1xyz", "10xyz", 1],
  ["xyz10", "xyz10", 0], ["xyz10", "xyz10.1", -1], ["xyz10.1", "xyz10", 1], ["xyz.4", "xyz.4", 0], ["xyz.4", "8", -1], ["8", "xyz.4", 1],
  ["xyz.4", "2", -1], ["2", "xyz.4", 1], ["5.5p2", "5.6p1", -1], ["5.6p1", "5.5p2", 1], ["5.6p1", "6.5p1", -1], ["6.5p1", "5.6p1", 1],
  ["6.0.rc1", "6.0", 1], ["6.0", "6.0.rc1", -1], ["10b2", "10a1", 1], ["10a2", "10b2", -1], ["1.0aa", "1.0aa", 0], ["1.0a", "1.0aa", -1],
  ["1.0aa", "1.0a", 1], ["10.0001", "10.0001", 0], ["10.0001", "10.1", 0], ["10.1", "10.0001", 0], ["10.0001", "10.0039", -1],
  ["4.999.9", "5.0", -1], ["5.0", "4.999.9", 1], ["20101121", "20101121", 0], ["20101121", "20101122", -1], ["2_0", "2_0", 0],
  ["2.0", "2_0", 0], ["2_0", "2.0", 0], ["a", "a", 0], ["a+", "a+", 0], ["a+", "a_", 0], ["a_", "a+", 0], ["+a", "+a", 0], ["+a", "_a", 0],
  ["_a", "+a", 0], ["+_", "+_", 0], ["_+", "+_", 0], ["_+", "_", 0], ["+", "_", 0], ["_", "+", 0],
  ["1.0~rc1", "1.0~rc1", 0], ["1.0~rc1", "1.0", -1], ["1.0", "1.0~rc1", 1], ["1.0~rc1", "1.0~rc2", -1], ["1.0~rc2", "1.0~rc1", 1],
  ["1.0~rc1~git123", "1.0~rc1~git123", 0], ["1.0~rc1~git123", "1.0~rc1", -1], ["1.0~rc1", "1.0~rc1~git123", 1],
  ["1.0^", "1.0^", 0], ["1.0^", "1.0", 1], ["1.0", "1.0^", -1], ["1.0^git1", "1.0^git1", 0], ["1.0^git1", "1.0", 1], ["1.0", "1.0^git1", -1],
  ["1.0^git1", "1.0^git2", -1], ["1.0^git2", "1.0^git1", 1], ["1.0^git1", "1.01", -1], ["1.01", "1.0^git1", 1], ["1.0^20160101", "1.0^20160101", 0],
  ["1.0^20160101", "1.0.1", -1], ["1.0.1", "1.0^20160101", 1], ["1.0^20160101^git1", "1.0^20160101^git1", 0], ["1.0^20160102", "1.0^20160101^git1", 1],
  ["1.0^20160101^git1", "1.0^20160102", -1], ["1.0~rc1^git1", "1.0~rc1^git1", 0], ["1.0~rc1^git1", "1.0~rc1", 1], ["1.0~rc1", "1.0~rc1^git1", -1],
  ["1.0^git1~pre", "1.0^git1~pre", 0], ["1.0^git1", "1.0^git1~pre", 1], ["1.0^git1~pre", "1.0^git1", -1],
];

describe("RPM version ordering", () => {
  it("agrees with every case of rpm's own tests", () => {
    for (const [a, b, want] of cases) expect(rpmvercmp(a, b), `${a} vs ${b}`).toBe(want);
  });

  it("compares the epoch first, and the release only when both sides have one", () => {
    const c = (a: string, b: string) => {
      const x = parseRpmVersion(a);
      const y = parseRpmVersion(b);
      if (!x.ok || !y.ok) throw new Error("not a version");
      return compareRpmVersions(x.version, y.version);
    };
    expect(c("1:1.0-1", "2.0-1")).toBe(1);
    expect(c("0:1.0-1", "1.0-1")).toBe(0);
    expect(c("3.0.7-104.el9", "3.0.7")).toBe(0);
    expect(c("3.0.7-104.el9", "3.0.7-99.el9")).toBe(1);
    expect(parseRpmVersion("x:1")).toMatchObject({ ok: false });
    expect(parseRpmVersion("1.0-")).toMatchObject({ ok: false });
  });

  it("is an order: reflexive, antisymmetric, transitive (property)", () => {
    const version = fc.stringMatching(/^[019az.~^_]{1,8}$/);
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        expect(rpmvercmp(a, a)).toBe(0);
        expect(rpmvercmp(a, b)).toBe(-rpmvercmp(b, a) || 0);
        if (rpmvercmp(a, b) <= 0 && rpmvercmp(b, c) <= 0) expect(rpmvercmp(a, c)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });
});
