// Random and mutated input: the parser and checker never throw, never hang, and every
// diagnostic points inside the file.
import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkFiles } from "../../src/checker/check.ts";
import { format } from "../../src/formatter/format.ts";
import { parseSource } from "../../src/parser/parse.ts";

const examples = readdirSync("examples/sox")
  .filter((f) => f.endsWith(".promise"))
  .map((f) => readFileSync(`examples/sox/${f}`, "utf8"));

function survives(text: string): void {
  const file = parseSource("r.promise", text);
  const result = checkFiles([file], [], { today: "2026-11-23" });
  for (const d of result.diagnostics) {
    if (d.span.file !== "r.promise") continue;
    expect(d.span.start).toBeGreaterThanOrEqual(0);
    expect(d.span.end).toBeLessThanOrEqual(text.length);
    expect(d.span.start).toBeLessThanOrEqual(d.span.end);
    for (const r of d.related ?? []) expect(r.span.end).toBeLessThanOrEqual(text.length);
  }
  if (!file.diagnostics.some((d) => d.severity === "error")) format(file);
}

function timed(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

const mutation = fc.record({ at: fc.nat(), len: fc.nat({ max: 12 }), insert: fc.string({ maxLength: 12 }) });

describe("robustness", () => {
  it("survives arbitrary text", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), survives), { numRuns: 1500 });
  });

  it("survives mutations of real policies", () => {
    fc.assert(
      fc.property(fc.constantFrom(...examples), fc.array(mutation, { minLength: 1, maxLength: 6 }), (text, mutations) => {
        let t = text;
        for (const m of mutations) {
          const at = m.at % (t.length + 1);
          t = t.slice(0, at) + m.insert + t.slice(at + m.len);
        }
        survives(t);
      }),
      { numRuns: 600 },
    );
  });

  it("survives token soup built from the language's own words", () => {
    const words = ["control", "let", "context", "waiver", "import", "file", "{", "}", "[", "]", "(", ")", "=", "->", ",", "and", "or", "not", "in", '"x"', "0640", "5m", "a", "==", "~", "\n"];
    fc.assert(fc.property(fc.array(fc.constantFrom(...words), { maxLength: 80 }), (ws) => survives(ws.join(" "))), { numRuns: 1500 });
  });

  it("handles 1 MB of garbage in bounded time", () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const chars = Array.from({ length: 1 << 20 }, () => String.fromCharCode(32 + (rand() % 95)));
    const ms = timed(() => survives(chars.join("")));
    expect(ms).toBeLessThan(20_000);
  });

  it("handles 10,000 nested parentheses with a clear error", () => {
    const text = `context c = ${"(".repeat(10_000)}true${")".repeat(10_000)}`;
    const file = parseSource("n.promise", text);
    expect(file.diagnostics.map((d) => d.code)).toEqual(["E004"]);
    expect(file.diagnostics[0]!.span.start).toBe(12 + 64);
  });

  it("handles 10,000 `not`s and 10,000 nested lists", () => {
    expect(parseSource("n.promise", `context c = ${"not ".repeat(10_000)}true`).diagnostics.map((d) => d.code)).toEqual(["E004"]);
    expect(parseSource("n.promise", `let x = ${"[".repeat(10_000)}`).diagnostics[0]!.code).toBe("E004");
  });

  it("handles a 1 MB line in bounded time", () => {
    const items = Array.from({ length: 120_000 }, (_, i) => `"h${i}"`).join(", ");
    const text = `let hosts = [${items}]\n`;
    expect(text.length).toBeGreaterThan(1_000_000);
    const ms = timed(() => survives(text));
    expect(ms).toBeLessThan(20_000);
  });

  it("handles a 1 MB string and a 1 MB comment", () => {
    survives(`let s = "${"x".repeat(1 << 20)}"\n// ${"y".repeat(1 << 20)}\n`);
    survives(`let s = "${"x".repeat(1 << 20)}`);
  });
});
