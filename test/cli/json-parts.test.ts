// JSON written in chunks (src/cli/json-parts.ts): joined, the chunks are exactly what
// JSON.stringify writes with two spaces of indentation, the replacer applied as it applies it;
// each chunk ends a line, and none is much longer than asked.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonChunks } from "../../src/cli/json-parts.ts";

/** Values as a report holds them: JSON values, with undefined and functions that JSON leaves out or writes as null. */
const reportLike = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small" }, fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined), fc.constant(() => 1), tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 40 }),
  object: fc.dictionary(fc.string({ maxLength: 6 }), tie("value"), { maxKeys: 8 }),
})).value;

/** A replacer like the run report's: drops one key, changes another's object, leaves the root alone. */
function replacer(this: unknown, key: string, value: unknown): unknown {
  if (key === "a") return undefined;
  if (key === "b" && typeof value === "object" && value !== null && !Array.isArray(value)) return { ...value, hidden: undefined, shown: true };
  return value;
}

describe("JSON in chunks", () => {
  it("joins to JSON.stringify(value, replacer, 2) and a line break (property)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 4 }), reportLike, { maxKeys: 6 }), fc.integer({ min: 1, max: 300 }), (value, size) => {
        const chunks = [...jsonChunks(value, replacer, size)];
        expect(chunks.join("")).toBe(`${JSON.stringify(value, replacer, 2)}\n`);
        for (const c of chunks) expect(c.endsWith("\n")).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("cuts a large document into chunks near the size asked, at line ends", () => {
    const doc = { controls: Array.from({ length: 200 }, (_, i) => ({ id: `C-${i}`, promises: Array.from({ length: 20 }, (_, j) => ({ key: `k${i}-${j}`, reason: "x".repeat(80) })) })) };
    const chunks = [...jsonChunks(doc, undefined, 16 * 1024)];
    expect(chunks.join("")).toBe(`${JSON.stringify(doc, null, 2)}\n`);
    expect(chunks.length).toBeGreaterThan(20);
    // a chunk ends at the first line end past the size: never more than the size and one control
    for (const c of chunks) expect(c.length).toBeLessThan(16 * 1024 + JSON.stringify(doc.controls[0], null, 2).length * 2);
  });

  it("writes a Date as JSON does (toJSON before the replacer)", () => {
    const value = { at: new Date("2026-12-05T10:00:00.000Z"), list: [new Date(0)] };
    expect([...jsonChunks(value)].join("")).toBe(`${JSON.stringify(value, null, 2)}\n`);
  });
});
