import { Lexer } from "chevrotain";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { scanAll } from "../../src/parser/lexer.ts";
import * as T from "../../src/parser/tokens.ts";

// Chevrotain's own Lexer over the declared patterns is the reference for our scanner.
const reference = new Lexer(T.allTokens, { positionTracking: "onlyOffset" });

function viaChevrotain(text: string) {
  const r = reference.tokenize(text);
  return {
    tokens: r.tokens.map((t) => `${t.tokenType.name}@${t.startOffset}:${t.image}`),
    comments: (r.groups["comments"] ?? []).map((t) => `${t.tokenType.name}@${t.startOffset}:${t.image}`),
    errors: r.errors.map((e) => `${e.offset}+${e.length}`),
  };
}

function viaScanner(text: string) {
  const r = scanAll(text, "f");
  return {
    tokens: r.tokens.map((t) => `${t.tokenType.name}@${t.startOffset}:${t.image}`),
    comments: r.comments.map((t) => `${t.tokenType.name}@${t.startOffset}:${t.image}`),
    errors: r.diagnostics.filter((d) => d.code === "E001").map((d) => `${d.span.start}+${d.span.end - d.span.start}`),
  };
}

const fragments = [
  "control", "controls", "let", "context", "import", "waiver", "stakeholder", "calendar", "and", "or", "not", "in", "true", "false",
  "x", "_a1", "mode", " ", "\n", "\t", "\r\n", "{", "}", "[", "]", "(", ")", ",", ";", "=", "==", "=~", "!=", "!~", "<", "<=", ">", ">=", "~", "->", "-",
  '"s"', '"a\\"b"', '"${v}"', '"unterminated', '"""text\nblock"""', '"""open', "0640", "42", "-3", "1.5", "90s", "5m", "10MB", "80%", "3 sigma", "3sigma",
  "10mb", "2026-12-31", "2026-12-31T10:00Z", "10.0.0.0/24", "1.2.3.4", "1.2.3", "::1", "fd00::/8", "2001:db8::1/64", "fe80::1:2", "::ffff:10.0.0.1", "a:b", "dead::beef", ":", "::", "// c", "# c", "/* b */", "/* open", "@", "$", "\u00e9", "\\", "!", "'",
  // around the hand-written number and address paths: what may follow leading digits
  "_", ".", "%", "sigma", "1.", "123.", "1234-", "12345-", "1e5", "0x1F", "abcd:", "abcde:", "12345:", "fe80:", "2026-1", "1.2.3.4.5",
  // a unit after blanks, and what may follow it
  "10 MB", "5 m", "80 %", " ms", " s", " h", " GiB", " MBx", " m2", " mb", " = ", "=", " == ", " =~ ", "==", "=~",
];

describe("scanner", () => {
  it("agrees with Chevrotain's Lexer on sequences of policy fragments", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...fragments), { maxLength: 40 }), (parts) => {
        const text = parts.join("");
        expect(viaScanner(text)).toEqual(viaChevrotain(text));
      }),
      { numRuns: 3000 },
    );
  });

  it("agrees with Chevrotain's Lexer on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => {
        expect(viaScanner(text)).toEqual(viaChevrotain(text));
      }),
      { numRuns: 2000 },
    );
  });

  it("reads IPv6 addresses and networks bare", () => {
    expect(viaScanner("fd00::/8 ::1 2001:db8::1/64 ::ffff:10.0.0.1").tokens).toEqual([
      "Ipv6Literal@0:fd00::/8",
      "Ipv6Literal@9:::1",
      "Ipv6Literal@13:2001:db8::1/64",
      "Ipv6Literal@28:::ffff:10.0.0.1",
    ]);
  });

  it("reads keywords only as whole words", () => {
    expect(viaScanner("controls control").tokens).toEqual(["Identifier@0:controls", "Control@9:control"]);
  });

  it("reads quantities with their units, and `3 sigma` with a space", () => {
    expect(viaScanner("90s 10MB 80% 3 sigma").tokens).toEqual(["Quantity@0:90s", "Quantity@4:10MB", "Quantity@9:80%", "Quantity@13:3 sigma"]);
  });

  it("reads a known unit after blanks as part of the quantity, unless an `=` makes it a name", () => {
    expect(viaScanner("10 MB\n80 %;5\tm").tokens).toEqual(["Quantity@0:10 MB", "Quantity@6:80 %", "Semicolon@10:;", "Quantity@11:5\tm"]);
    expect(viaScanner("10 m = 1").tokens).toEqual(["NumberLiteral@0:10", "Identifier@3:m", "Equals@5:=", "NumberLiteral@7:1"]);
    expect(viaScanner("5 m == x").tokens).toEqual(["Quantity@0:5 m", "EqualEqual@4:==", "Identifier@7:x"]);
    expect(viaScanner("10 mb 10 MBx").tokens).toEqual(["NumberLiteral@0:10", "Identifier@3:mb", "NumberLiteral@6:10", "Identifier@9:MBx"]);
  });

  it("reports a run of unexpected characters once", () => {
    const r = scanAll("a @@@ b", "f");
    expect(r.diagnostics.map((d) => [d.code, d.span.start, d.span.end, d.message])).toEqual([["E001", 2, 5, "unexpected characters `@@@`"]]);
  });

  it("reports unterminated strings and block comments", () => {
    expect(scanAll('x = "abc\ny', "f").diagnostics.map((d) => d.code)).toEqual(["E002"]);
    expect(scanAll("x /* never closed", "f").diagnostics.map((d) => d.code)).toEqual(["E002"]);
  });
});
