// Secret patterns written in a policy (`mask`) run on RE2's linear-time engine (re2js): the
// checker refuses what RE2 cannot run, and what it accepts, however it nests its repetitions,
// fails fast on a line made to hurt a backtracking engine (where JavaScript's own RegExp takes
// seconds to hours).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { linearTimeProblem } from "../../src/checker/regex-safety.ts";
import { linearPattern, masker } from "../../src/integrity/mask.ts";

describe("secret patterns of a policy", () => {
  it("refuses what RE2 cannot run (lookaround, backreferences), with its reason", () => {
    expect(linearTimeProblem("(?<=key=)\\S+")).toMatch(/invalid named capture|lookbehind|invalid or unsupported/);
    expect(linearTimeProblem("(a)\\1")).toMatch(/invalid escape sequence/);
    expect(linearTimeProblem("^ledger_key_v2\\s+(?<secret>\\S+)")).toBeUndefined();
    expect(linearTimeProblem("(a+)+$")).toBeUndefined();
  });

  it("accepts RE2's inline flags, which JavaScript's RegExp refuses", () => {
    const truthy = "(?i)^(1|true|yes|on|enable|with)$";
    expect(() => new RegExp(truthy)).toThrow();
    expect(linearTimeProblem(truthy)).toBeUndefined();
    const m = linearPattern(truthy);
    expect(["TRUE", "On", "enable", "1"].map((v) => m.spans(v).length > 0)).toEqual([true, true, true, true]);
    expect(["false", "no", "0", "true!"].map((v) => m.spans(v).length > 0)).toEqual([false, false, false, false]);
    // the checker takes it for a `matches` (test/promise-types/config.test.ts)
  });

  it("masks the `secret` group, or the whole match, at UTF-16 offsets as the built-in patterns do", () => {
    const m = masker([linearPattern("^k\\s+(?<secret>\\S+)"), linearPattern("LGR-[0-9A-F]{4}")]);
    expect(m.line("k é😀x rest").text).toBe("k **** rest");
    expect(m.line("ref LGR-12AB and LGR-34CD").text).toBe("ref **** and ****");
    expect(m.line("nothing here")).toEqual({ text: "nothing here", masked: false });
  });

  it("whatever it accepts fails fast on a line made to hurt a backtracking engine", () => {
    const atom = fc.constantFrom("a", "a*", "a+", "\\w+", "[ab]*", "(?:ab)", "(?:a|b)", "(a+)", "(?:a|aa)", "b?");
    const pattern = fc.tuple(fc.array(atom, { minLength: 1, maxLength: 5 }), fc.constantFrom("", "+", "*", "{1,}")).map(([parts, q]) => `^(?:${parts.join("")})${q}$`);
    const line = `${"a".repeat(4_096)}!`;
    fc.assert(
      fc.property(pattern, (p) => {
        expect(linearTimeProblem(p)).toBeUndefined();
        const started = performance.now();
        masker([linearPattern(p)]).line(line);
        expect(performance.now() - started, p).toBeLessThan(500);
      }),
      { numRuns: 200 },
    );
  });
});
