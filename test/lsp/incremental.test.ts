// Re-parsing what an edit touched gives what parsing the whole text gives: over the examples and
// the policy library, random edits (cut, typed, repeated, a digit changed) applied one after
// another, each re-parse reusing the previous one as the server does.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { reparse } from "../../src/lsp/incremental.js";
import { parseSource } from "../../src/parser/parse.js";
import type { SourceFile } from "../../src/parser/ast.js";
import { covenantPolicy } from "../../bench/parse/generate.mjs";
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

describe("memory over edits", () => {
  it("keeps no earlier text of the file alive: the heap after 40 edits is the heap after one", () => {
    // the bench's policy at 4,000 promises (540 kB): an edit in each of 40 of its controls, as the
    // server receives them, each re-parse reusing the last. When a re-parsed declaration shared
    // the characters of the text it was cut from, each edit kept a copy of the whole text.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    let text = covenantPolicy(4000);
    let file = parseSource("bench.promise", text);
    const modes: number[] = [];
    for (let i = text.indexOf("mode      = 0640"); i !== -1; i = text.indexOf("mode      = 0640", i + 1)) modes.push(i + "mode      = 064".length);
    const edit = (k: number) => {
      const at = modes[k * 100 + 50]!; // one promise in each control
      const before = text;
      text = text.slice(0, at) + String(k % 8) + text.slice(at + 1);
      file = reparse(file, "bench.promise", text, { before, start: at, oldEnd: at + 1, newEnd: at + 1 });
    };
    edit(0);
    gc();
    const start = process.memoryUsage().heapUsed;
    for (let k = 1; k < 40; k++) edit(k);
    gc();
    const grown = process.memoryUsage().heapUsed - start;
    expect(file.statements.length).toBe(41); // the stakeholder and 40 controls, all kept
    // 39 texts kept would be 21 MB; what is kept instead is the 39 re-parsed controls (~1 MB)
    expect(grown).toBeLessThan(5 * text.length);
  });
});
