// Token vocabulary of the policy language. Order in `allTokens` is the lexer's
// matching order: longer or more specific patterns come before the ones they overlap.
import { createToken, Lexer, type TokenType } from "chevrotain";
import { spacedUnits } from "./literals.js";

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n\f\v\uFEFF]+/, group: Lexer.SKIPPED });
export const LineComment = createToken({ name: "LineComment", pattern: /(?:\/\/|#)[^\n\r]*/, group: "comments" });
export const BlockComment = createToken({ name: "BlockComment", pattern: /\/\*[\s\S]*?\*\//, group: "comments", line_breaks: true });
// An unterminated block comment swallows the rest of the file; the lexer reports it precisely.
export const UnterminatedBlockComment = createToken({ name: "UnterminatedBlockComment", pattern: /\/\*[\s\S]*/, group: "comments", line_breaks: true });

export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: "a name" });

// Categories: every binary operator is a BinaryOperator, so that an expression is one flat
// rule (operand, operator, operand, ...) and precedence is resolved when building the AST.
// Fewer grammar rules per value is what makes the parser fast on large policies.
export const BinaryOperator = createToken({ name: "BinaryOperator", pattern: Lexer.NA, label: "an operator" });
export const ComparisonOperator = createToken({ name: "ComparisonOperator", pattern: Lexer.NA, categories: [BinaryOperator], label: "a comparison operator" });

function keyword(word: string, categories: TokenType[] = []): TokenType {
  const name = word[0]!.toUpperCase() + word.slice(1);
  return createToken({ name, pattern: new RegExp(word), longer_alt: Identifier, label: `\`${word}\``, categories });
}
export const Import = keyword("import");
export const Let = keyword("let");
export const Context = keyword("context");
export const Control = keyword("control");
export const Waiver = keyword("waiver");
export const Stakeholder = keyword("stakeholder");
export const Calendar = keyword("calendar");
export const PromiseType = keyword("promise_type");
export const And = keyword("and", [BinaryOperator]);
export const Or = keyword("or", [BinaryOperator]);
export const Not = keyword("not");
export const In = keyword("in", [ComparisonOperator]);
export const True = keyword("true");
export const False = keyword("false");

export const StringLiteral = createToken({ name: "StringLiteral", pattern: /"(?:[^"\\\n\r]|\\[^\n\r])*"/, label: "a string" });
export const TextBlock = createToken({
  name: "TextBlock",
  pattern: /"""[\s\S]*?"""/,
  line_breaks: true,
  categories: [StringLiteral],
  label: "a text block",
});
// A text block with no closing `"""`: it runs to the end of the file, and the error says so.
export const UnterminatedTextBlock = createToken({
  name: "UnterminatedTextBlock",
  pattern: /"""[\s\S]*/,
  line_breaks: true,
  categories: [StringLiteral],
  label: "a text block",
});
// Matched only when a string is not closed on its line, so that the error names the string itself.
export const UnterminatedString = createToken({
  name: "UnterminatedString",
  pattern: /"(?:[^"\\\n\r]|\\[^\n\r])*/,
  categories: [StringLiteral],
  label: "a string",
});

export const DateLiteral = createToken({
  name: "DateLiteral",
  pattern: /\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?)?(?![\w.])/,
  label: "a date",
});
export const AddressLiteral = createToken({ name: "AddressLiteral", pattern: /\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?:\/\d{1,3})?(?![\w.])/, label: "an address" });
// IPv6: hex groups with at least two colons (nothing else in the language has a colon), an
// optional embedded IPv4 tail and prefix. Whether it is a valid address is the checker's call.
export const Ipv6Literal = createToken({
  name: "Ipv6Literal",
  pattern: /(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:\.\d{1,3}){0,3}(?:\/\d{1,3})?(?![\w.:])/,
  categories: [AddressLiteral],
  label: "an address",
});
// A number with a unit glued to it (90s, 10MB, 80%, 3 sigma); the unit is validated after lexing
// so that `10mb` gets a precise "unknown unit" error instead of two confusing tokens. A known
// unit after blanks (`10 MB`, `80 %`) is taken too, and reported (the AST factory), because as
// a number and a name it would derail the rest of the block; not when an `=` (not `==` or `=~`)
// follows, where the word is the next attribute's name.
export const Quantity = createToken({
  name: "Quantity",
  pattern: new RegExp(`-?\\d+(?:\\.\\d+)?(?:[ \\t]*sigma(?![\\w])|[ \\t]+(?:(?:${spacedUnits.join("|")})(?![\\w])|%)(?![ \\t]*=(?![=~]))|[A-Za-z]+|%)`),
  label: "a quantity",
});
export const NumberLiteral = createToken({ name: "NumberLiteral", pattern: /-?\d+(?:\.\d+)?(?![\w.])/, label: "a number" });

export const Arrow = createToken({ name: "Arrow", pattern: /->/, label: "`->`" });
export const RegexMatch = createToken({ name: "RegexMatch", pattern: /=~/, categories: [ComparisonOperator], label: "`=~`" });
export const EqualEqual = createToken({ name: "EqualEqual", pattern: /==/, categories: [ComparisonOperator], label: "`==`" });
export const NotEqual = createToken({ name: "NotEqual", pattern: /!=/, categories: [ComparisonOperator], label: "`!=`" });
export const NotGlobMatch = createToken({ name: "NotGlobMatch", pattern: /!~/, categories: [ComparisonOperator], label: "`!~`" });
export const LessEqual = createToken({ name: "LessEqual", pattern: /<=/, categories: [ComparisonOperator], label: "`<=`" });
export const GreaterEqual = createToken({ name: "GreaterEqual", pattern: />=/, categories: [ComparisonOperator], label: "`>=`" });
export const Less = createToken({ name: "Less", pattern: /</, categories: [ComparisonOperator], label: "`<`" });
export const Greater = createToken({ name: "Greater", pattern: />/, categories: [ComparisonOperator], label: "`>`" });
export const GlobMatch = createToken({ name: "GlobMatch", pattern: /~/, categories: [ComparisonOperator], label: "`~`" });
export const Equals = createToken({ name: "Equals", pattern: /=/, label: "`=`" });
export const LBrace = createToken({ name: "LBrace", pattern: /\{/, label: "`{`" });
export const RBrace = createToken({ name: "RBrace", pattern: /\}/, label: "`}`" });
export const LBracket = createToken({ name: "LBracket", pattern: /\[/, label: "`[`" });
export const RBracket = createToken({ name: "RBracket", pattern: /\]/, label: "`]`" });
export const LParen = createToken({ name: "LParen", pattern: /\(/, label: "`(`" });
export const RParen = createToken({ name: "RParen", pattern: /\)/, label: "`)`" });
export const Comma = createToken({ name: "Comma", pattern: /,/, label: "`,`" });
export const Semicolon = createToken({ name: "Semicolon", pattern: /;/, label: "`;`" });

/** Keywords that can only start a top-level declaration. */
export const statementKeywords: ReadonlySet<TokenType> = new Set([Import, Let, Context, Control, Waiver, Stakeholder, Calendar, PromiseType]);

export const keywords = [Import, Let, Context, Control, Waiver, Stakeholder, Calendar, PromiseType, And, Or, Not, In, True, False];

export const allTokens: TokenType[] = [
  WhiteSpace,
  BlockComment,
  UnterminatedBlockComment,
  LineComment,
  TextBlock,
  UnterminatedTextBlock,
  StringLiteral,
  UnterminatedString,
  DateLiteral,
  AddressLiteral,
  Ipv6Literal,
  Quantity,
  NumberLiteral,
  Arrow,
  ...keywords,
  Identifier,
  RegexMatch,
  EqualEqual,
  NotEqual,
  NotGlobMatch,
  LessEqual,
  GreaterEqual,
  Less,
  Greater,
  GlobMatch,
  Equals,
  LBrace,
  RBrace,
  LBracket,
  RBracket,
  LParen,
  RParen,
  Comma,
  Semicolon,
  ComparisonOperator,
  BinaryOperator,
];
