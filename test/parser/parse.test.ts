import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { exprText, type ControlDecl, type Expr } from "../../src/parser/ast.ts";
import { parseSource } from "../../src/parser/parse.ts";
import { LineIndex } from "../../src/parser/diagnostics.ts";

function contextExpr(src: string): Expr {
  const f = parseSource("p.promise", `context c = ${src}`);
  expect(f.diagnostics).toEqual([]);
  const s = f.statements[0]!;
  if (s.kind !== "context") throw new Error("not a context");
  return s.expr;
}

function shape(e: Expr): string {
  switch (e.kind) {
    case "logical":
      return `${e.op}(${e.operands.map(shape).join(", ")})`;
    case "not":
      return `not(${shape(e.operand)})`;
    case "compare":
      return `${e.op}(${shape(e.left)}, ${shape(e.right)})`;
    case "paren":
      return shape(e.inner);
    default:
      return exprText(e);
  }
}

describe("parser", () => {
  it("parses every kind of declaration", () => {
    const f = parseSource(
      "p.promise",
      `import "common.promise"
let ports = [5432, 1433]
context close = business_day_of_month <= 3
stakeholder dba { description = "DBAs" }
stakeholder security
calendar { holidays = [2026-12-25] }
control "C-1" {
  title = "t"
  file "/srv/a" -> [dba, security] { mode = 0640 }
  filehandles { max_used_pct = 80% }
}
waiver "C-1" { reason = "r" approved_by = "j" until = 2026-12-31 }
`,
    );
    expect(f.diagnostics).toEqual([]);
    expect(f.statements.map((s) => s.kind)).toEqual(["import", "let", "context", "stakeholder", "stakeholder", "calendar", "control", "waiver"]);
    const control = f.statements[6] as ControlDecl;
    expect(control.items.map((i) => i.kind)).toEqual(["attribute", "promise", "promise"]);
    const file = control.items[1]!;
    if (file.kind !== "promise") throw new Error();
    expect(file.type).toBe("file");
    expect(file.stakeholders?.names.map((n) => n.name)).toEqual(["dba", "security"]);
    expect(exprText(file.promiser!)).toBe('"/srv/a"');
  });

  it("gives `not` less precedence than comparisons, and `and` more than `or`", () => {
    expect(shape(contextExpr("a or b and c"))).toBe("or(a, and(b, c))");
    expect(shape(contextExpr("not hour == 3 and b"))).toBe("and(not(==(hour, 3)), b)");
    expect(shape(contextExpr("(a or b) and not not c"))).toBe("and(or(a, b), not(not(c)))");
    expect(shape(contextExpr("weekday in [saturday, sunday]"))).toBe("in(weekday, [saturday, sunday])");
  });

  it("keeps long chains flat", () => {
    const e = contextExpr(Array.from({ length: 5000 }, (_, i) => `c${i}`).join(" and "));
    expect(e.kind === "logical" && e.operands.length).toBe(5000);
  });

  it("rejects chained comparisons", () => {
    const f = parseSource("p.promise", "context c = 1 < hour < 5");
    expect(f.diagnostics.map((d) => d.code)).toEqual(["E003"]);
    expect(f.diagnostics[0]!.suggestion).toMatch(/and/);
  });

  it("records exact source ranges", () => {
    const text = 'control "X" {\n  title = "t"\n  file "/a" { mode = 0640 }\n}\n';
    const f = parseSource("p.promise", text);
    const c = f.statements[0] as ControlDecl;
    const p = c.items[1]!;
    if (p.kind !== "promise") throw new Error();
    expect(text.slice(p.start, p.end)).toBe('file "/a" { mode = 0640 }');
    expect(text.slice(p.attributes[0]!.value.start, p.attributes[0]!.value.end)).toBe("0640");
  });

  it("decodes escapes and finds interpolations", () => {
    const f = parseSource("p.promise", 'let a = "x\\"y ${name} \\t"');
    const s = f.statements[0]!;
    if (s.kind !== "let" || s.value.kind !== "string") throw new Error();
    expect(s.value.parts.map((p) => (typeof p === "string" ? p : `<${p.variable}>`))).toEqual(['x"y ', "<name>", " \t"]);
  });

  it("dedents text blocks", () => {
    const f = parseSource("p.promise", 'let a = """\n    first\n      second\n    """');
    const s = f.statements[0]!;
    if (s.kind !== "let" || s.value.kind !== "string") throw new Error();
    expect(s.value.parts[0]).toBe("first\n  second");
  });

  it("reports every syntax error of a file, not only the first", () => {
    const text = 'control "A" {\n  title = = 1\n}\ncontrol "B" {\n  file "/x" { mode 0640 }\n}\nlet = 3\n';
    const f = parseSource("p.promise", text);
    const idx = new LineIndex(text);
    const at = f.diagnostics.map((d) => {
      const p = idx.position(d.span.start);
      return `${p.line}:${p.column} ${d.code}`;
    });
    expect(at).toEqual(["2:11 E003", "5:20 E003", "7:5 E003"]);
    // declarations after an error are still parsed
    expect(f.statements.map((s) => s.kind)).toContain("control");
  });

  it("names what it expected in syntax errors", () => {
    const f = parseSource("p.promise", 'control "A" { title = }');
    expect(f.diagnostics[0]!.message).toBe("expected a value but found `}`");
    const g = parseSource("p.promise", "controll x");
    expect(g.diagnostics[0]!.message).toBe("unexpected `controll`: expected a declaration");
    expect(g.diagnostics[0]!.suggestion).toBe("did you mean `control`?");
  });

  it("reports malformed literals", () => {
    const f = parseSource("p.promise", "let a = 10mb\nlet b = 2026-02-30\nlet c = \"bad \\q escape\"");
    expect(f.diagnostics.map((d) => [d.code, d.message, d.suggestion])).toEqual([
      ["E005", "unknown unit `mb` in `10mb`", "did you mean `10MB`?"],
      ["E005", "`2026-02-30` is not a valid date", "dates are written YYYY-MM-DD"],
      ["E005", "unknown escape `\\q`", undefined],
    ]);
  });
});

describe("parser errors point where the problem is", () => {
  it("an unclosed block is reported at the declaration that follows it", () => {
    const text = 'control "X" {\n  title = "t"\n\ncontrol "Y" {\n  title = "u"\n}\n';
    const f = parseSource("p.promise", text);
    expect(f.diagnostics.map((d) => [d.code, d.message, d.span.start])).toEqual([
      ["E003", "expected `}` but found `control`, which starts the next declaration", text.indexOf('control "Y"')],
    ]);
  });

  it("an unclosed text block is one clear error", () => {
    const f = parseSource("p.promise", 'let a = """\nnever closed\n');
    expect(f.diagnostics.map((d) => [d.code, d.message])).toEqual([["E002", "text block is never closed"]]);
  });
});

describe("error recovery keeps what came before the error", () => {
  // The grammar's actions record a declaration once its head is parsed and fill it in as its
  // parts complete: what recovery cannot complete is left out, never the parts before it.
  const summary = (text: string) =>
    parseSource("p.promise", text).statements.map((s) => {
      if (s.kind === "control") return `control ${s.id.raw} [${s.items.map((i) => (i.kind === "attribute" ? i.name : `${i.type}{${i.attributes.map((a) => a.name).join(",")}}${i.stakeholders ? `->${i.stakeholders.names.map((n) => n.name).join("|")}` : ""}`)).join(" ")}] ${s.start}-${s.end}`;
      if (s.kind === "stakeholder" || s.kind === "waiver" || s.kind === "calendar") return `${s.kind} {${(s.attributes ?? []).map((a) => a.name).join(",")}} ${s.start}-${s.end}`;
      return s.kind;
    });

  it("a control cut short keeps its items and ends at the last of them", () => {
    const text = 'control "X" {\n  title = "t"\n  file "/a" { mode = 0640 }\n';
    expect(summary(text)).toEqual([`control "X" [title file{mode}] 0-${text.indexOf("}") + 1}`]);
  });

  it("a bad value drops that attribute only", () => {
    expect(summary('control "X" {\n  title = ]\n  owner = ops\n  file "/a" { mode = 0640; group = ) ; owner = "o" }\n}\n')).toEqual([
      expect.stringMatching(/^control "X" \[owner file\{mode,owner\}\] 0-\d+$/),
    ]);
  });

  it("a promise block cut short keeps the attributes before the error", () => {
    const text = 'control "X" {\n  file "/a" { mode = 0640 owner = "o" group\n}\nlet y = 1\n';
    const f = parseSource("p.promise", text);
    expect(f.diagnostics.length).toBeGreaterThan(0);
    expect(summary(text)[0]).toMatch(/^control "X" \[file\{mode,owner\}\]/);
    expect(summary(text)[1]).toBe("let");
  });

  it("a stakeholder list cut short keeps the names before the error", () => {
    expect(summary('control "X" {\n  file "/a" -> [ops, audit { mode = 0640 }\n}\n')[0]).toMatch(/file\{mode\}->ops\|audit/);
  });

  it("still reports a malformed literal inside a part that recovery drops", () => {
    // literals are decoded as they are parsed: the author hears of the bad date with the syntax error
    const f = parseSource("p.promise", "calendar holidays 2026-13-45\n");
    expect(f.diagnostics.some((d) => d.code === "E003")).toBe(true);
    expect(f.diagnostics.find((d) => d.code === "E005")!.message).toBe("`2026-13-45` is not a valid date");
  });

  it("waivers, stakeholders and the calendar keep their attributes when their block is not closed", () => {
    for (const [text, want] of [
      ['waiver "X" { reason = "r"\n', /^waiver \{reason\} 0-\d+$/],
      ["stakeholder ops { email = \"o@x\"\n", /^stakeholder \{email\} 0-\d+$/],
      ["calendar { holidays = [2026-12-25]\n", /^calendar \{holidays\} 0-\d+$/],
    ] as const) {
      expect(summary(text)).toEqual([expect.stringMatching(want)]);
    }
  });
});

describe("grammar", () => {
  it("passes Chevrotain's own validations (no ambiguity, no left recursion)", async () => {
    const { PolicyParser } = await import("../../src/parser/grammar.ts");
    expect(() => new PolicyParser({ validate: true })).not.toThrow();
  });
});

describe("the parser between files", () => {
  it("keeps nothing of the last file it parsed once parseSource returns", async () => {
    // The parser is one per process: none of its state may hold the last file's AST.
    v8.setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const refs = (() => {
      const f = parseSource("last.promise", 'stakeholder ops\ncontrol "C" {\n  owner = ops\n  file "/a" -> ops { mode = 0640; owner = "x" }\n}\n');
      const control = f.statements[1] as ControlDecl;
      const promise = control.items[1]!;
      if (promise.kind !== "promise") throw new Error("not a promise");
      return [new WeakRef(f), new WeakRef(promise), new WeakRef(promise.attributes.at(-1)!.value)];
    })();
    await new Promise((r) => setTimeout(r, 0)); // WeakRefs hold their targets to the end of the job
    gc();
    expect(refs.map((r) => r.deref() === undefined)).toEqual([true, true, true]);
  });
});
