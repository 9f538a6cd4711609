// What the grammar must give each token the real lexer (src/parser/lexer.ts) reads: a string is
// highlighted as a string from its first character to its last and not one character further, a
// comment as a comment, a quantity as a number and its unit, a keyword as that keyword, a name as
// a name. Where the two disagree, an editor shows a policy differently from how `check` reads it.
import type { IToken, TokenType } from "chevrotain";
import { scanAll } from "../../src/parser/lexer.ts";
import * as T from "../../src/parser/tokens.ts";

type Rule = { first?: string[]; every: string[] };

const keywordScopes: [TokenType, string][] = [
  [T.Import, "keyword.control.import"],
  [T.Let, "keyword.declaration.let"],
  [T.Context, "keyword.declaration.context"],
  [T.Control, "keyword.declaration.control"],
  [T.Waiver, "keyword.declaration.waiver"],
  [T.Stakeholder, "keyword.declaration.stakeholder"],
  [T.Calendar, "keyword.declaration.calendar"],
  [T.PromiseType, "keyword.declaration.promise_type"],
  [T.And, "keyword.operator.logical"],
  [T.Or, "keyword.operator.logical"],
  [T.Not, "keyword.operator.logical"],
  [T.In, "keyword.operator.expression.in"],
  [T.True, "constant.language.boolean"],
  [T.False, "constant.language.boolean"],
];

/** The scope (by prefix) each token type's characters must carry. */
export const expectedScopes = new Map<TokenType, Rule>([
  ...keywordScopes.map(([t, s]): [TokenType, Rule] => [t, { every: [s] }]),
  [T.LineComment, { every: ["comment.line"] }],
  [T.BlockComment, { every: ["comment.block"] }],
  [T.UnterminatedBlockComment, { every: ["comment.block"] }],
  [T.StringLiteral, { every: ["string.quoted.double"] }],
  [T.UnterminatedString, { every: ["string.quoted.double"] }],
  [T.TextBlock, { every: ["string.quoted.triple"] }],
  [T.UnterminatedTextBlock, { every: ["string.quoted.triple"] }],
  [T.DateLiteral, { every: ["constant.numeric.date"] }],
  [T.AddressLiteral, { every: ["constant.numeric.address.ipv4"] }],
  [T.Ipv6Literal, { every: ["constant.numeric.address.ipv6"] }],
  [T.NumberLiteral, { every: ["constant.numeric"] }],
  // a number then its unit: a known one, or letters the checker reports as no unit (E005)
  [T.Quantity, { first: ["constant.numeric"], every: ["constant.numeric", "keyword.other.unit", "invalid.illegal"] }],
  // a name: declared, an attribute, a promise type, a fact, a weekday, a variable, a stakeholder
  [T.Identifier, { every: ["variable.", "entity.name.", "entity.other.attribute-name", "support.type.promise", "support.variable.fact", "constant.language.weekday", "keyword.other.attribute"] }],
  [T.Arrow, { every: ["keyword.operator.arrow"] }],
  [T.Equals, { every: ["keyword.operator.assignment"] }],
  ...[T.EqualEqual, T.NotEqual, T.Less, T.LessEqual, T.Greater, T.GreaterEqual].map((t): [TokenType, Rule] => [t, { every: ["keyword.operator.comparison"] }]),
  ...[T.RegexMatch, T.GlobMatch, T.NotGlobMatch].map((t): [TokenType, Rule] => [t, { every: ["keyword.operator.match"] }]),
  [T.LBrace, { every: ["punctuation.section.block.begin"] }],
  [T.RBrace, { every: ["punctuation.section.block.end"] }],
  [T.LBracket, { every: ["punctuation.section.brackets.begin"] }],
  [T.RBracket, { every: ["punctuation.section.brackets.end"] }],
  [T.LParen, { every: ["punctuation.section.parens.begin"] }],
  [T.RParen, { every: ["punctuation.section.parens.end"] }],
  [T.Comma, { every: ["punctuation.separator.comma"] }],
  [T.Semicolon, { every: ["punctuation.terminator.semicolon"] }],
]);

const has = (scopes: string[], prefixes: string[]) => scopes.some((s) => prefixes.some((p) => s.startsWith(p)));
const isBlank = (c: string) => /[ \t\r\n\f\v\uFEFF]/.test(c);

/**
 * Every place where the grammar's scopes contradict the lexer's tokens in `text`, as
 * `line:col: what` (empty when they agree). `scopes` is the grammar's, per character.
 */
export function disagreements(text: string, scopes: string[][]): string[] {
  const { tokens, comments } = scanAll(text, "grammar.promise");
  const out: string[] = [];
  const where = (offset: number) => {
    const before = text.slice(0, offset);
    const line = before.split(/\r\n|\r|\n/).length;
    const col = offset - Math.max(before.lastIndexOf("\n"), before.lastIndexOf("\r"));
    return `${line}:${col}`;
  };
  const covered = new Uint8Array(text.length);
  for (const token of [...tokens, ...comments]) check(token);
  function check(token: IToken) {
    const rule = expectedScopes.get(token.tokenType);
    const start = token.startOffset;
    const end = start + token.image.length;
    covered.fill(1, start, end);
    if (!rule) return void out.push(`${where(start)}: no expectation for ${token.tokenType.name}`);
    for (let i = start; i < end; i++) {
      // a line break has no scopes of its own; blanks inside a string are part of it, elsewhere they split
      const c = text[i]!;
      if (c === "\n" || c === "\r" || (isBlank(c) && !/String|TextBlock/.test(token.tokenType.name))) continue;
      const want = i === start && rule.first ? rule.first : rule.every;
      if (!has(scopes[i] ?? [], want)) {
        out.push(`${where(i)}: ${token.tokenType.name} ${JSON.stringify(token.image.slice(0, 40))} at ${JSON.stringify(text[i])}: scopes ${(scopes[i] ?? []).join(" ") || "(none)"}, expected ${want.join(" or ")}`);
        return;
      }
    }
  }
  // what no token covers (blanks, and characters the lexer rejects, E001) is neither string nor comment
  for (let i = 0; i < text.length; i++) {
    if (covered[i] || !has(scopes[i] ?? [], ["string.", "comment."])) continue;
    out.push(`${where(i)}: ${JSON.stringify(text[i])} is outside every token but has scopes ${(scopes[i] ?? []).join(" ")}`);
    break;
  }
  return out;
}
