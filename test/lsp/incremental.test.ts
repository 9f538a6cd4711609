// Re-parsing what an edit touched gives what parsing the whole text gives: over the examples and
// the policy library, random edits (cut, typed, repeated, a digit changed) applied one after
// another, each re-parse reusing the previous one as the server does.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { reparse } from "../../src/lsp/incremental.js";
import { parseSource } from "../../src/parser/parse.js";
import type { SourceFile } from "../../src/parser/ast.js";
import { policyFiles } from "./lsp-helpers.js";

const files = [...policyFiles(resolve("examples/sox")), ...policyFiles(resolve("policies/sox-itgc"))];

/** Everything a parse says, as data (a plain string's getters left out: they derive from its text). */
const said = (f: SourceFile) => JSON.parse(JSON.stringify({ statements: f.statements, comments: f.comments, diagnostics: f.diagnostics, incomplete: f.incomplete, dropped: f.dropped ?? null, text: f.text }));

const edit = fc.record({
  at: fc.nat(),
  cut: fc.integer({ min: 0, max: 12 }),
  text: fc.constantFrom("", "1", "x", " ", "\n", "}", "{", '"', "mdoe", "// note\n", "/* c */", "let v = 2\n", 'control "Z" { title = "t" file "/z" { mode = 0600 } }\n', "when = day_of_month > 3\n"),
});

describe("re-parsing what an edit touched", () => {
  it("gives the whole parse's declarations, comments and diagnostics after every edit", () => {
    let incremental = 0;
    fc.assert(
      fc.property(fc.constantFrom(...files), fc.array(edit, { minLength: 1, maxLength: 8 }), (path, edits) => {
        let text = readFileSync(path, "utf8");
        let previous = parseSource("policy.promise", text);
        for (const e of edits) {
          const at = e.at % (text.length + 1);
          text = text.slice(0, at) + e.text + text.slice(at + e.cut);
          const whole = parseSource("policy.promise", text);
          const reused = reparse(previous, "policy.promise", text);
          if (reused.statements.some((s) => previous.statements.includes(s))) incremental++;
          expect(said(reused)).toEqual(said(whole));
          previous = reused;
        }
      }),
      { numRuns: 150 },
    );
    // the property holds trivially if every edit fell back to a whole parse
    expect(incremental).toBeGreaterThan(50);
  });

  it("moves the declarations after an edit that changes the text's length", () => {
    const text = 'let a = 1\n\ncontrol "C" {\n  title = "t"\n  file "/x" { mode = 0640 }\n}\n// end\n';
    const before = parseSource("p.promise", text);
    const edited = text.replace("let a = 1", "let abc = 12345");
    const after = reparse(before, "p.promise", edited);
    expect(after.statements[1]).toBe(before.statements[1]);
    expect(said(after)).toEqual(said(parseSource("p.promise", edited)));
  });
});
