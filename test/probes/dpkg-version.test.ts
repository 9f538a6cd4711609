// Debian version ordering: known cases from Debian policy and dpkg's own tests, the laws of an
// order as properties, and a differential test against `dpkg --compare-versions` itself.
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareDebianVersions, parseDebianVersion, type DebianVersion } from "../../src/probes/dpkg-version.ts";

function v(text: string): DebianVersion {
  const r = parseDebianVersion(text);
  if (!r.ok) throw new Error(r.error);
  return r.version;
}
const cmp = (a: string, b: string) => compareDebianVersions(v(a), v(b));

describe("Debian version ordering", () => {
  it("orders as Debian policy says: ~ before everything, even the end; letters before other characters", () => {
    const ascending = ["1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a", "1.0+b1", "1.0.1", "1.0.1-1", "1.0.1-1+deb12u1", "1.0.1-2", "1.0.10", "1:0.1"];
    for (let i = 0; i + 1 < ascending.length; i++) expect(cmp(ascending[i]!, ascending[i + 1]!), `${ascending[i]} < ${ascending[i + 1]}`).toBe(-1);
  });

  it("compares digits as numbers and the epoch first", () => {
    expect(cmp("2.30-1", "2.4-1")).toBe(1);
    expect(cmp("1.01", "1.1")).toBe(0);
    expect(cmp("0:1.0", "1.0")).toBe(0);
    expect(cmp("1.0", "1.0-0")).toBe(0);
    expect(cmp("1:0.9", "2.0")).toBe(1);
    expect(cmp("1:9.2p1-2+deb12u2", "1:9.2p1-2+deb12u10")).toBe(-1);
    // the revision is after the last hyphen, the epoch before the first colon
    expect(v("1:2.3-4-5")).toEqual({ epoch: 1, upstream: "2.3-4", revision: "5" });
    expect(v("2:1:2-3")).toEqual({ epoch: 2, upstream: "1:2", revision: "3" });
  });

  it("refuses what dpkg refuses, saying why", () => {
    expect(parseDebianVersion("")).toEqual({ ok: false, error: "the version is empty" });
    expect(parseDebianVersion("a:1.0")).toMatchObject({ ok: false, error: "the epoch of `a:1.0` is not a number" });
    expect(parseDebianVersion("abc")).toMatchObject({ ok: false, error: "the upstream version of `abc` does not start with a digit" });
    expect(parseDebianVersion("1.0-")).toMatchObject({ ok: false, error: "`1.0-` has an empty revision" });
    expect(parseDebianVersion("1.0-a_b")).toMatchObject({ ok: false });
    expect(parseDebianVersion("1 0")).toMatchObject({ ok: false });
  });

  // a small alphabet, so that generated versions share prefixes and compare closely
  const version = fc
    .tuple(
      fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
      fc.stringMatching(/^[0-9][019aAz.+~]{0,6}$/),
      fc.option(fc.stringMatching(/^[019aAz.+~]{1,4}$/), { nil: undefined }),
    )
    .map(([e, u, r]) => `${e !== undefined ? `${e}:` : ""}${u}${r !== undefined ? `-${r}` : ""}`);

  it("is an order: reflexive, antisymmetric, transitive (property)", () => {
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        expect(cmp(a, a)).toBe(0);
        expect(cmp(a, b)).toBe(-cmp(b, a) || 0);
        if (cmp(a, b) <= 0 && cmp(b, c) <= 0) expect(cmp(a, c)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees with `dpkg --compare-versions` on generated versions (differential)", () => {
    const dpkg = (a: string, op: string, b: string) => {
      try {
        execFileSync("dpkg", ["--compare-versions", a, op, b], { stdio: "ignore" });
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new Error("dpkg is not installed");
        return false;
      }
    };
    fc.assert(
      fc.property(version, version, (a, b) => {
        const theirs = dpkg(a, "lt", b) ? -1 : dpkg(a, "gt", b) ? 1 : 0;
        expect(cmp(a, b), `${a} vs ${b}`).toBe(theirs);
      }),
      { numRuns: 250 },
    );
  }, 60_000);
});
