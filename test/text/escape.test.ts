import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeKeepingTabs, escapeText } from "../../src/text/escape.ts";

describe("escapeText", () => {
  it("writes line breaks, terminal escapes and bidirectional controls as visible escapes", () => {
    expect(escapeText("a\nKEPT b")).toBe("a\\nKEPT b");
    expect(escapeText("\u001b[2J")).toBe("\\x1b[2J");
    expect(escapeText("x\u202ey")).toBe("x\\u202ey");
    expect(escapeText("\u0085")).toBe("\\x85");
    // the invisible marks reorder neutral characters around them as the embeddings do
    expect(escapeText("a\u200fb\u200ec\u061cd")).toBe("a\\u200fb\\u200ec\\u061cd");
    expect(escapeText("plain/path é ✓")).toBe("plain/path é ✓");
  });
  it("keeps tabs only when asked", () => {
    expect(escapeText("a\tb")).toBe("a\\tb");
    expect(escapeKeepingTabs("a\tb\rc")).toBe("a\tb\\rc");
  });
  it("never leaves a control character or a line break in its output", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        expect(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(escapeText(s))).toBe(false);
      }),
    );
  });
});
