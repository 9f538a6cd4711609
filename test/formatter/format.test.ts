import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SourceFile } from "../../src/parser/ast.ts";
import { format } from "../../src/formatter/format.ts";
import { scanAll } from "../../src/parser/lexer.ts";
import { parseSource } from "../../src/parser/parse.ts";

const parse = (text: string) => parseSource("f.promise", text);

/** The AST without positions: what the policy means, for comparing before and after formatting. */
function meaning(f: SourceFile): unknown {
  return JSON.parse(JSON.stringify(f.statements, (k, v) => (k === "file" || k === "start" || k === "end" ? undefined : v)));
}

function fmt(text: string): string {
  const f = parse(text);
  expect(f.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return format(f);
}

describe("formatter", () => {
  it("produces the canonical layout", () => {
    const input = `stakeholder ops
let  ports=[5432,1433]
let x="y"   // why
control "C" { title="t" owner=ops
  file "/a"->ops{mode=0640;owner="root"}
  load{max_5m=8}
}
`;
    expect(fmt(input)).toBe(`stakeholder ops
let ports = [5432, 1433]
let x     = "y" // why

control "C" {
  title = "t"
  owner = ops
  file "/a" -> [ops] {
    mode  = 0640
    owner = "root"
  }
  load {
    max_5m = 8
  }
}
`);
  });

  it("keeps every comment, in order", () => {
    const input = `// head
/* block */ let a = 1 // after a
let b = [
  1, // one
  // before two
  2,
]
control "C" { // opening
  title = "t" # hash comment
  // before load
  load { max_1m = 1 } // after load
  // closing
}
// tail
`;
    const out = fmt(input);
    const comments = (t: string) => parse(t).comments.map((c) => c.text.trim());
    expect(comments(out)).toEqual(comments(input));
  });

  it("keeps `every` as it keeps `when`: aligned with its run, its literal as written, its comment beside it", () => {
    const input = `control "C" { title="t" when=weekday in [monday]  every=1.5m // slower
  file "/a" {mode=0640;every=10000ms;when=hour<6}
}
`;
    const out = fmt(input);
    expect(out).toBe(`control "C" {
  title = "t"
  when  = weekday in [monday]
  every = 1.5m // slower
  file "/a" {
    mode  = 0640
    every = 10000ms
    when  = hour < 6
  }
}
`);
    expect(fmt(out)).toBe(out);
    expect(meaning(parse(out))).toEqual(meaning(parse(input)));
  });

  it("breaks long lists one item per line", () => {
    const hosts = Array.from({ length: 12 }, (_, i) => `"10.20.${i}.0/24"`).join(", ");
    const out = fmt(`let hosts = [${hosts}]`);
    expect(out.split("\n")[0]).toBe("let hosts = [");
    expect(out).toContain('\n  "10.20.0.0/24",\n');
  });

  it("is idempotent and keeps the meaning of every example", () => {
    for (const f of readdirSync("examples/sox").filter((x) => x.endsWith(".promise"))) {
      const text = readFileSync(`examples/sox/${f}`, "utf8");
      const once = fmt(text);
      expect(once, `${f} is not in canonical form`).toBe(text);
      expect(fmt(once)).toBe(once);
      expect(meaning(parse(once))).toEqual(meaning(parse(text)));
    }
  });

  // Random policies built from the grammar, with comments and odd spacing sprinkled in.
  const ident = fc.constantFrom("a", "b", "ops", "security", "x1");
  const literal = fc.constantFrom('"s"', "1", "0640", "5m", "10MB", "80%", "2026-12-31", "10.0.0.0/8", "true", "sha256");
  const gap = fc.constantFrom(" ", "\n", " // c\n", " /* b */ ", "\n# h\n");
  const list = fc.tuple(fc.array(fc.oneof(literal, ident), { maxLength: 5 }), gap, gap).map(([xs, g, h]) => `[${xs.join(`,${g}`)}${h}]`);
  const value: fc.Arbitrary<string> = fc.oneof(literal, ident, list);
  const cond = fc.array(fc.tuple(fc.constantFrom("", "not "), ident, fc.constantFrom(" and ", " or ")), { minLength: 1, maxLength: 4 }).map((parts) =>
    parts.map(([n, i, op], k) => `${n}${i}${k < parts.length - 1 ? op : ""}`).join(""),
  );
  const space = fc.constantFrom(" ", "  ", "\n", "\n\n", " // c\n", " /* b */ ", "\n# h\n");
  const attr = fc.tuple(ident, value, space).map(([n, v, s]) => `${n} = ${v}${s}`);
  const promise = fc.tuple(fc.constantFrom("file", "load", "process"), fc.option(literal), fc.array(attr, { maxLength: 4 }), space).map(
    ([t, p, as, s]) => `${t}${p ? ` ${p}` : ""} {${s}${as.join("")}}${s}`,
  );
  const statement = fc.oneof(
    fc.tuple(ident, value, space).map(([n, v, s]) => `let ${n} = ${v}${s}`),
    fc.tuple(ident, cond, space).map(([n, c, s]) => `context ${n} = ${c}${s}`),
    fc.tuple(fc.array(fc.oneof(attr, promise), { maxLength: 5 }), space).map(([items, s]) => `control "C" {${s}${items.join("")}}${s}`),
    fc.tuple(ident, space).map(([n, s]) => `stakeholder ${n}${s}`),
  );

  it("is idempotent, keeps comments and meaning on generated policies", () => {
    fc.assert(
      fc.property(fc.array(statement, { maxLength: 8 }), (stmts) => {
        const text = stmts.join("\n");
        const f = parse(text);
        fc.pre(!f.diagnostics.some((d) => d.severity === "error"));
        const once = format(f);
        const g = parse(once);
        expect(g.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
        expect(format(g)).toBe(once);
        expect(meaning(g)).toEqual(meaning(f));
        expect(g.comments.map((c) => c.text.trim())).toEqual(f.comments.map((c) => c.text.trim()));
      }),
      { numRuns: 1500 },
    );
  });

  // Finished lines are joined a few thousand at a time (memory): doing it after every line must
  // change nothing, trailing comments that line up across a run included.
  it("prints the same whenever finished lines are joined", () => {
    fc.assert(
      fc.property(fc.array(statement, { maxLength: 8 }), fc.integer({ min: 2, max: 6 }), (stmts, settleEvery) => {
        const f = parse(stmts.join("\n"));
        fc.pre(!f.diagnostics.some((d) => d.severity === "error"));
        expect(format(f, { settleEvery })).toBe(format(f));
      }),
      { numRuns: 1000 },
    );
    for (const name of readdirSync("examples/sox").filter((x) => x.endsWith(".promise"))) {
      const f = parse(readFileSync(`examples/sox/${name}`, "utf8"));
      expect(format(f, { settleEvery: 2 }), name).toBe(format(f));
    }
    const aligned = Array.from({ length: 40 }, (_, k) => `let v${"x".repeat(k % 5)} = ${k} // note ${k}`).join("\n");
    const f = parse(`${aligned}\n\n\n`);
    expect(format(f, { settleEvery: 2 })).toBe(format(f));
  });
});

describe("formatter edge cases", () => {
  const twice = (text: string) => {
    const once = fmt(text);
    expect(fmt(once)).toBe(once);
    return once;
  };

  it("is idempotent with comments inside items", () => {
    expect(twice("let a = // one\n  1 // two\nlet bb = 2\n")).toBe("let a = 1 // one\n// two\nlet bb = 2\n");
    twice("let a =/* x\n*/ 1\nlet bb = 2\n");
    twice('let a = 1 /*x\n*/\ncontrol "C" { title = "t" load { max_1m = 1 } }\n');
  });

  it("keeps a blank line after a trailing comment that ends in `{` (found by fuzzing: it was dropped, and the second format aligned across it)", () => {
    expect(twice('waiver "W" {\n  reason = "r"\n}\ncontext s = hour > 1 # {\n\ncontext cc = hour > 2\n')).toBe(
      'waiver "W" {\n  reason = "r"\n}\n\ncontext s = hour > 1 # {\n\ncontext cc = hour > 2\n',
    );
  });

  it("does not align values that break over lines", () => {
    const refs = Array.from({ length: 6 }, (_, i) => `"SOX 404 part ${i}"`).join(", ");
    const out = twice(`control "C" {\n  title = "t"\n  a_very_long_attribute_name = 1\n  refs = [${refs}]\n  load { max_1m = 1 }\n}\n`);
    expect(out).toContain("\n  refs = [\n");
  });

  it("prints text blocks byte for byte", () => {
    const text = 'let a = """\n    trailing spaces   \n    end\n    """\n';
    expect(twice(text)).toBe(text);
  });
});

describe("comments anywhere", () => {
  // "anywhere" is after any token: a comment cannot go inside a string
  const examples = readdirSync("examples/sox")
    .filter((f) => f.endsWith(".promise"))
    .map((f) => readFileSync(`examples/sox/${f}`, "utf8"));
  const comment = fc.constantFrom(" // c\n", " /* b */ ", " /* m\nl */ ", "\n# h\n", "\n\n// p\n\n");

  it("keeps comments inserted at any white space of the examples, idempotently", () => {
    fc.assert(
      fc.property(fc.constantFrom(...examples), fc.array(fc.tuple(fc.nat(), comment), { minLength: 1, maxLength: 5 }), (text, inserts) => {
        let t = text;
        for (const [at, c] of inserts) {
          // between two tokens, never inside a string or another comment
          const ends = scanAll(t, "f").tokens.map((x) => x.startOffset + x.image.length);
          const i = ends[at % ends.length]!;
          t = t.slice(0, i) + c + t.slice(i);
        }
        const f = parse(t);
        fc.pre(!f.diagnostics.some((d) => d.severity === "error"));
        const once = format(f);
        const g = parse(once);
        expect(format(g)).toBe(once);
        expect(meaning(g)).toEqual(meaning(f));
        expect(g.comments.map((c) => c.text.trim())).toEqual(f.comments.map((c) => c.text.trim()));
      }),
      { numRuns: 800 },
    );
  });
});
