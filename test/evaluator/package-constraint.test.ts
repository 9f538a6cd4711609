// Version constraints of `package` promises: parsed as the schema accepts them, and judged
// consistently with the ordering of the database (properties over generated versions).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseConstraint, satisfies } from "../../src/evaluator/package-constraint.ts";
import { compareVersions } from "../../src/probes/packages.ts";
import { VERSION_CONSTRAINT } from "../../src/promise-types/package.ts";

const debian = fc
  .tuple(fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }), fc.stringMatching(/^[0-9][019a.+~]{0,5}$/), fc.option(fc.stringMatching(/^[019a.+~]{1,3}$/), { nil: undefined }))
  .map(([e, u, r]) => `${e !== undefined ? `${e}:` : ""}${u}${r !== undefined ? `-${r}` : ""}`);

describe("package version constraints", () => {
  it("reads the operator (Debian's << and >> as < and >, none as =) and the version", () => {
    expect(parseConstraint(">= 1:2.3-4")).toEqual({ op: ">=", version: "1:2.3-4", text: ">= 1:2.3-4" });
    expect(parseConstraint("<<1.0")).toEqual({ op: "<", version: "1.0", text: "< 1.0" });
    expect(parseConstraint(" >> 2 ")).toEqual({ op: ">", version: "2", text: "> 2" });
    expect(parseConstraint("1.0~rc1")).toEqual({ op: "=", version: "1.0~rc1", text: "= 1.0~rc1" });
    expect(parseConstraint("!= 3")).toEqual({ op: "!=", version: "3", text: "!= 3" });
    for (const bad of ["=> 1", ">= ", "1 2", ">= -1", "=< 1", "~1"]) expect(VERSION_CONSTRAINT.test(bad), bad).toBe(false);
  });

  it("judges every operator as the database's ordering does, and complementary operators disagree (property)", () => {
    fc.assert(
      fc.property(debian, debian, (installed, promised) => {
        const c = compareVersions("dpkg", installed, promised)!;
        const holds = (op: string) => satisfies("dpkg", installed, parseConstraint(`${op} ${promised}`));
        expect(holds("=")).toBe(c === 0);
        expect(holds("!=")).toBe(!holds("="));
        expect(holds("<")).toBe(!holds(">="));
        expect(holds(">")).toBe(!holds("<="));
        expect(holds("<<")).toBe(holds("<"));
        expect(holds(">>")).toBe(holds(">"));
        expect(holds("<=")).toBe(holds("<") || holds("="));
      }),
      { numRuns: 1000 },
    );
  });

  it("cannot judge a version that is not one of the database's kind", () => {
    expect(satisfies("dpkg", "abc", parseConstraint(">= 1"))).toBeUndefined();
    expect(satisfies("rpm", "3.0.7-104.el9", parseConstraint("= 3.0.7"))).toBe(true);
  });
});
