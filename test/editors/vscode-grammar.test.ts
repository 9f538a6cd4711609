// The VS Code extension's TextMate grammar against the real lexer and the registries it must
// keep up with: a new promise type, keyword, fact or unit that the grammar does not highlight
// fails here, and so does any token of the examples, the policy library or a random policy that
// the grammar reads differently from the lexer (test/editors/lexer-vs-grammar.ts).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { factCatalogue, weekdays } from "../../src/facts/catalog.ts";
import { allUnits } from "../../src/parser/literals.ts";
import * as T from "../../src/parser/tokens.ts";
import { promiseTypes } from "../../src/promise-types/registry.ts";
import { disagreements, expectedScopes } from "./lexer-vs-grammar.ts";
import { covenantTokenizer } from "./textmate.ts";

let tokenize: (text: string) => string[][];
beforeAll(async () => {
  tokenize = await covenantTokenizer();
});

/** The scopes of the first occurrence of `word` in `text` (of the `nth` from 0). */
function scopesOf(text: string, word: string, nth = 0): string {
  let at = -1;
  for (let k = 0; k <= nth; k++) at = text.indexOf(word, at + 1);
  if (at === -1) throw new Error(`${word} is not in ${text}`);
  const all = tokenize(text);
  const first = all[at]!.join(" ");
  for (let i = at; i < at + word.length; i++) expect(all[i]!.join(" "), `${word} in ${text}: every character alike`).toBe(first);
  return first;
}

function policyFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".promise"))
    .map((f) => join(dir, f))
    .sort();
}

describe("the VS Code grammar keeps up with the language's registries", () => {
  it("highlights every built-in promise type as one, in a promise's head", () => {
    expect(promiseTypes.size).toBeGreaterThan(10);
    for (const type of promiseTypes.keys()) {
      const policy = `control "T-1" {\n  title = "t"\n  ${type} "/x" -> [ops] {\n    comment = "c"\n  }\n  ${type} {\n  }\n}\n`;
      expect(scopesOf(policy, type, 0), type).toMatch(/support\.type\.promise\.covenant$/);
      expect(scopesOf(policy, type, 1), type).toMatch(/support\.type\.promise\.covenant$/);
    }
  });

  it("highlights a site's own promise type as a type, and its `attribute` declarations", () => {
    const policy = 'promise_type json_setting {\n  command = ["/bin/x"]\n  attribute key { type = string }\n}\ncontrol "A" {\n  json_setting "/etc/a.json" -> ops {\n    key = "k"\n  }\n}\n';
    expect(scopesOf(policy, "json_setting", 1)).toMatch(/ entity\.name\.type\.promise\.covenant$/);
    expect(scopesOf(policy, "attribute")).toMatch(/keyword\.other\.attribute\.covenant$/);
    expect(scopesOf(policy, "key")).toMatch(/entity\.other\.attribute-name\.declaration\.covenant$/);
    expect(scopesOf(policy, "ops")).toMatch(/variable\.other\.stakeholder\.covenant$/);
  });

  it("has an expected scope for every token type of the lexer, and highlights every keyword so", () => {
    const missing = T.allTokens.filter((t) => t.PATTERN !== T.WhiteSpace.PATTERN && !(t.name in { BinaryOperator: 1, ComparisonOperator: 1 }) && !expectedScopes.has(t));
    expect(missing.map((t) => t.name)).toEqual([]);
    for (const keyword of T.keywords) {
      const word = (keyword.PATTERN as RegExp).source;
      const text = `context c = x ${word} y\n${word}\n`;
      const want = expectedScopes.get(keyword)!.every[0]!;
      expect(scopesOf(text, word, word === "context" ? 1 : 0), word).toContain(want);
    }
  });

  it("highlights every host fact and weekday in a condition", () => {
    for (const fact of factCatalogue) {
      expect(scopesOf(`context c = ${fact.name} == 1\n`, fact.name), fact.name).toMatch(/support\.variable\.fact\.covenant$/);
    }
    for (const day of weekdays) expect(scopesOf(`context c = weekday in [${day}]\n`, day), day).toMatch(/constant\.language\.weekday\.covenant$/);
  });

  it("highlights every unit glued to its number, and a unit written apart or unknown as an error", () => {
    for (const unit of allUnits) {
      const scopes = scopesOf(`x = 5${unit}\n`, unit);
      expect(scopes, unit).toMatch(/keyword\.other\.unit(\.percent)?\.covenant$/);
      expect(scopesOf(`x = 5${unit}\n`, "5"), unit).toMatch(/constant\.numeric\.covenant$/);
    }
    expect(scopesOf("x = 3 sigma\n", "sigma")).toMatch(/keyword\.other\.unit\.covenant$/);
    expect(scopesOf("x = 10mb\n", "mb")).toMatch(/invalid\.illegal\.unit\.covenant$/);
    expect(scopesOf("x = 10 MB\n", "MB")).toMatch(/invalid\.illegal\.unit-apart\.covenant$/);
    // a lone `=` after it makes the word the next attribute's name, as the lexer reads it
    expect(scopesOf("x = 10 MB = 4\n", "MB")).toMatch(/entity\.other\.attribute-name\.covenant$/);
  });

  it("reads escapes and interpolation inside strings and text blocks", () => {
    const policy = 'let a = "x ${dir} \\n \\q"\nlet b = """\n  ${dir}/a \\t\n  """\n';
    expect(scopesOf(policy, "dir")).toBe("source.covenant string.quoted.double.covenant meta.interpolation.covenant variable.other.interpolated.covenant");
    expect(scopesOf(policy, "\\n")).toMatch(/constant\.character\.escape\.covenant$/);
    expect(scopesOf(policy, "\\q")).toMatch(/invalid\.illegal\.unknown-escape\.covenant$/);
    expect(scopesOf(policy, "dir", 1)).toBe("source.covenant string.quoted.triple.covenant meta.interpolation.covenant variable.other.interpolated.covenant");
    expect(scopesOf(policy, "\\t")).toMatch(/string\.quoted\.triple\.covenant constant\.character\.escape\.covenant$/);
  });
});

describe("the VS Code grammar reads tokens as the lexer does", () => {
  const files = [...policyFiles("examples"), ...policyFiles("policies")];
  it("over every policy of the examples and the policy library", () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      expect(disagreements(text, tokenize(text)), f).toEqual([]);
    }
  });

  it("finds a string that runs a character too far (the comparison can fail)", () => {
    const text = 'let a = "x"\n';
    const scopes = tokenize(text);
    scopes[11] = scopes[10]!; // the grammar made to hold the string open past its `"`
    expect(disagreements(text, scopes).join("\n")).toMatch(/outside every token/);
    scopes[4] = ["source.covenant", "string.quoted.double.covenant"]; // and the keyword `=`… inside a string
    expect(disagreements(text, scopes).join("\n")).toMatch(/Let "let"|Identifier "a"|Equals/);
  });

  // pieces the lexer decides between: each token's pattern, its near misses, and what splits them
  const pieces = [
    ...T.keywords.map((k) => (k.PATTERN as RegExp).source),
    ...["file", "attribute", "hostname", "monday", "x", "_a", "a1", "abcd", "fe80", "é", "\u00a0"],
    ...[" ", " ", "\t", "\n", "\n", "\r\n", "\r", '"', '"', '"""', "\\", '\\"', "${", "${x}", "$", "}", "{", "[", "]", "(", ")", ",", ";"],
    ...["=", "==", "=~", "!=", "!~", "!", "<", "<=", ">", ">=", "~", "->", "-", "//", "#", "/*", "*/", "*", "/", ":", "::", "."],
    ...["0", "7", "12", "0640", "1.5", "2026", "2026-12-31", "2026-12-31T17:00Z", "-12", "10.20.0.0/24", "1.2.3.4", "::1", "fe80::1", "1:2::3"],
    ...["%", "sigma", " sigma", "MB", "mb", "m", "s", "ms", "KiB", " MB", " = ", "T17:00"],
  ];
  it("over random policies made of the pieces tokens are made of", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 40 }), (parts) => {
        const text = parts.join("");
        expect(disagreements(text, tokenize(text)), JSON.stringify(text)).toEqual([]);
      }),
      { numRuns: 5000 },
    );
  });
});
