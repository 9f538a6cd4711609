// The parser reads a declaration's tokens as it needs them and lets go of those behind it
// (grammar.ts): what it makes of a declaration far longer than its window must be what it made
// of the whole declaration at once, errors and their recovery included.
import { describe, expect, it } from "vitest";
import { parseSource } from "../../src/parser/parse.ts";
import type { Expr } from "../../src/parser/ast.ts";

const items = (count: number) => Array.from({ length: count }, (_, k) => `"name${k}"`);

describe("a declaration longer than the parser's window", () => {
  it("parses a list of 50,000 items whole, and the declarations after it", () => {
    const file = parseSource("big.promise", `let big = [${items(50_000).join(", ")}]\nlet after = "x"\n`);
    expect(file.diagnostics).toEqual([]);
    const [big, after] = file.statements;
    expect(big).toMatchObject({ kind: "let", name: { name: "big" } });
    const list = (big as { value: Expr & { kind: "list" } }).value;
    expect(list.items).toHaveLength(50_000);
    expect(list.items[49_999]).toMatchObject({ kind: "string", raw: '"name49999"', parts: ["name49999"] });
    expect(after).toMatchObject({ kind: "let", name: { name: "after" } });
  });

  it("reports a syntax error 40,000 items in where it is, and recovers as before", () => {
    const list = items(50_000);
    list[40_000] = `"name40000" "stray"`; // a missing comma
    const text = `let big = [${list.join(", ")}]\nlet after = "x"\n`;
    const file = parseSource("broken.promise", text);
    expect(file.diagnostics.map((d) => [d.code, d.span.start])).toEqual([["E003", text.indexOf('"stray"')]]);
    // the declaration after it is still read
    expect(file.statements.some((s) => s.kind === "let" && s.name.name === "after")).toBe(true);
  });

  it("drops a declaration that nests too deep after 20,000 tokens, and keeps its name declared", () => {
    const text = `let deep = [${items(10_000).join(", ")}, ${"[".repeat(70)}1${"]".repeat(70)}]\nlet after = deep\n`;
    const file = parseSource("deep.promise", text);
    expect(file.diagnostics.map((d) => d.code)).toEqual(["E004"]);
    expect(file.statements.map((s) => s.kind === "let" && s.name.name)).toEqual(["after"]);
    expect(file.incomplete).toEqual([{ kind: "let", name: "deep" }]);
  });
});
