// The scanner: produces Chevrotain tokens (the vocabulary of tokens.ts) one at a time.
//
// Why not Chevrotain's Lexer: it tokenizes a whole file up front, so on a 20,000-promise policy
// every token outlives the parse and the garbage collector copies all of them (measured: more
// time in GC than in parsing). This scanner is pulled one declaration at a time, so tokens die
// young. It implements exactly the patterns declared in tokens.ts, and a differential property
// test (test/parser/scanner.test.ts) holds it to Chevrotain's Lexer built from those patterns.
import type { IToken, TokenType } from "chevrotain";
import { diagnostic, type Diagnostic } from "./diagnostics.js";
import * as T from "./tokens.js";

/** Deepest nesting of brackets, parentheses, braces and `not`s a policy may use. */
export const MAX_NESTING = 64;

class Token implements IToken {
  readonly tokenTypeIdx: number;
  readonly endOffset: number;
  constructor(
    readonly image: string,
    readonly startOffset: number,
    readonly tokenType: TokenType,
  ) {
    this.tokenTypeIdx = tokenType.tokenTypeIdx!;
    this.endOffset = startOffset + image.length - 1;
  }
}

const keywordTypes = new Map<string, TokenType>(T.keywords.map((k) => [(k.PATTERN as RegExp).source, k]));

const DATE = /\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?)?(?![\w.])/y;
const ADDRESS = /\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?:\/\d{1,3})?(?![\w.])/y;
const IPV6 = /(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:\.\d{1,3}){0,3}(?:\/\d{1,3})?(?![\w.:])/y;
const QUANTITY = /-?\d+(?:\.\d+)?(?:[ \t]*sigma(?![\w])|[A-Za-z]+|%)/y;
const NUMBER = /-?\d+(?:\.\d+)?(?![\w.])/y;
const SPACE = /[ \t\r\n\f\v\uFEFF]+/y;

function sticky(re: RegExp, text: string, at: number): number {
  re.lastIndex = at;
  return re.test(text) ? re.lastIndex : -1;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isIdentStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
const isIdentPart = (c: number) => isIdentStart(c) || isDigit(c);
const isHexLetter = (c: number) => (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

export interface ScanResult {
  comments: IToken[];
  diagnostics: Diagnostic[];
}

export class Scanner {
  private pos = 0;
  readonly comments: IToken[] = [];
  readonly diagnostics: Diagnostic[] = [];
  private depth = 0;
  private notRun = 0;
  /** false once nesting went past the limit: the rest must not be handed to the parser */
  parseable = true;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  // Short token texts repeat endlessly (`mode`, `=`, `0640`, `"finance"`); the AST keeps one
  // copy of each instead of one per occurrence.
  private readonly interned = new Map<string, string>();
  private intern(s: string): string {
    if (s.length > 24) return s;
    const known = this.interned.get(s);
    if (known !== undefined) return known;
    this.interned.set(s, s);
    return s;
  }

  /** The next significant token, or undefined at the end. Comments are collected aside. */
  next(): IToken | undefined {
    const text = this.text;
    while (this.pos < text.length) {
      // white space inline: it is a third of a typical policy and needs no token
      let c = text.charCodeAt(this.pos);
      while (c === 32 || c === 10 || c === 9 || c === 13 || c === 12 || c === 11 || c === 0xfeff) c = text.charCodeAt(++this.pos);
      if (this.pos >= text.length) break;
      const start = this.pos;
      const matchEnd = this.match(start);
      if (matchEnd === -1) {
        // Skip to where a token can start again, reporting the run as one error.
        let end = start + 1;
        while (end < text.length && this.match(end) === -1) end++;
        const shown = text.slice(start, Math.min(end, start + 20)) + (end - start > 20 ? "…" : "");
        this.diagnostics.push(
          diagnostic("E001", `unexpected character${end - start > 1 ? "s" : ""} \`${printable(shown)}\``, { file: this.file, start, end }),
        );
        this.pos = end;
        continue;
      }
      const type = this.matched;
      this.pos = matchEnd;
      if (type === undefined) continue; // white space
      const token = new Token(this.intern(text.slice(start, matchEnd)), start, type);
      if (type === T.LineComment || type === T.BlockComment || type === T.UnterminatedBlockComment) {
        if (type === T.UnterminatedBlockComment) {
          this.diagnostics.push(diagnostic("E002", "block comment is never closed", { file: this.file, start, end: matchEnd }, { suggestion: "close it with `*/`" }));
        }
        this.comments.push(token);
        continue;
      }
      this.track(token);
      return token;
    }
    return undefined;
  }

  private track(t: IToken) {
    const type = t.tokenType;
    if (type === T.UnterminatedTextBlock) {
      this.diagnostics.push(
        diagnostic("E002", "text block is never closed", { file: this.file, start: t.startOffset, end: t.startOffset + 3 }, { suggestion: 'close it with `"""`' }),
      );
    }
    if (type === T.UnterminatedString) {
      this.diagnostics.push(
        diagnostic("E002", "string is not closed on this line", { file: this.file, start: t.startOffset, end: t.startOffset + t.image.length }, { suggestion: 'add the closing `"`' }),
      );
    }
    if (type === T.LBrace || type === T.LBracket || type === T.LParen) this.depth++;
    else if (type === T.RBrace || type === T.RBracket || type === T.RParen) this.depth = Math.max(0, this.depth - 1);
    this.notRun = type === T.Not ? this.notRun + 1 : 0;
    if (this.parseable && this.depth + this.notRun > MAX_NESTING) {
      this.parseable = false;
      this.diagnostics.push(
        diagnostic("E004", `nesting deeper than ${MAX_NESTING} levels`, { file: this.file, start: t.startOffset, end: t.startOffset + t.image.length }, {
          suggestion: "split the expression into named contexts or variables",
        }),
      );
    }
  }

  /** type of the last match (undefined for white space); kept in a field so matching allocates nothing */
  private matched: TokenType | undefined;
  private hit(type: TokenType | undefined, end: number): number {
    this.matched = type;
    return end;
  }

  /** End of the match at `at` (tokens.ts order decides between overlapping patterns), or -1. */
  private match(at: number): number {
    const text = this.text;
    const c = text.charCodeAt(at);
    switch (c) {
      case 32: case 9: case 10: case 13: case 12: case 11: case 0xfeff: // prettier-ignore
        return this.hit(undefined, sticky(SPACE, text, at));
      case 47: // '/'
        if (text.charCodeAt(at + 1) === 47) return this.hit(T.LineComment, lineEnd(text, at));
        if (text.charCodeAt(at + 1) === 42) {
          const close = text.indexOf("*/", at + 2);
          return close === -1 ? this.hit(T.UnterminatedBlockComment, text.length) : this.hit(T.BlockComment, close + 2);
        }
        return -1;
      case 35: // '#'
        return this.hit(T.LineComment, lineEnd(text, at));
      case 58: {
        // ':' starts only an IPv6 address such as `::1`
        const end = sticky(IPV6, text, at);
        return end === -1 ? -1 : this.hit(T.Ipv6Literal, end);
      }
      case 34: // '"'
        return this.string(at);
      case 45: // '-'
        if (isDigit(text.charCodeAt(at + 1))) return this.numeric(at);
        if (text.charCodeAt(at + 1) === 62) return this.hit(T.Arrow, at + 2);
        return -1;
      case 61: // '='
        if (text.charCodeAt(at + 1) === 126) return this.hit(T.RegexMatch, at + 2);
        if (text.charCodeAt(at + 1) === 61) return this.hit(T.EqualEqual, at + 2);
        return this.hit(T.Equals, at + 1);
      case 33: // '!'
        if (text.charCodeAt(at + 1) === 61) return this.hit(T.NotEqual, at + 2);
        if (text.charCodeAt(at + 1) === 126) return this.hit(T.NotGlobMatch, at + 2);
        return -1;
      case 60: // '<'
        return text.charCodeAt(at + 1) === 61 ? this.hit(T.LessEqual, at + 2) : this.hit(T.Less, at + 1);
      case 62: // '>'
        return text.charCodeAt(at + 1) === 61 ? this.hit(T.GreaterEqual, at + 2) : this.hit(T.Greater, at + 1);
      case 126:
        return this.hit(T.GlobMatch, at + 1);
      case 123:
        return this.hit(T.LBrace, at + 1);
      case 125:
        return this.hit(T.RBrace, at + 1);
      case 91:
        return this.hit(T.LBracket, at + 1);
      case 93:
        return this.hit(T.RBracket, at + 1);
      case 40:
        return this.hit(T.LParen, at + 1);
      case 41:
        return this.hit(T.RParen, at + 1);
      case 44:
        return this.hit(T.Comma, at + 1);
      case 59:
        return this.hit(T.Semicolon, at + 1);
    }
    if (isDigit(c)) return this.numeric(at);
    if (isIdentStart(c)) {
      if (isHexLetter(c)) {
        const v6 = sticky(IPV6, text, at);
        if (v6 !== -1) return this.hit(T.Ipv6Literal, v6);
      }
      let end = at + 1;
      while (end < text.length && isIdentPart(text.charCodeAt(end))) end++;
      // keywords are 2 to 11 lower-case letters; skip the map for anything else
      const type = end - at <= 11 && c >= 97 ? keywordTypes.get(text.slice(at, end)) : undefined;
      return this.hit(type ?? T.Identifier, end);
    }
    return -1;
  }

  private numeric(at: number): number {
    const text = this.text;
    if (text.charCodeAt(at) !== 45) {
      let end = sticky(DATE, text, at);
      if (end !== -1) return this.hit(T.DateLiteral, end);
      end = sticky(ADDRESS, text, at);
      if (end !== -1) return this.hit(T.AddressLiteral, end);
      end = sticky(IPV6, text, at);
      if (end !== -1) return this.hit(T.Ipv6Literal, end);
    }
    let end = sticky(QUANTITY, text, at);
    if (end !== -1) return this.hit(T.Quantity, end);
    end = sticky(NUMBER, text, at);
    if (end !== -1) return this.hit(T.NumberLiteral, end);
    if (text.charCodeAt(at) === 45 && text.charCodeAt(at + 1) === 62) return this.hit(T.Arrow, at + 2);
    return -1;
  }

  private string(at: number): number {
    const text = this.text;
    if (text.startsWith('"""', at)) {
      const close = text.indexOf('"""', at + 3);
      return close === -1 ? this.hit(T.UnterminatedTextBlock, text.length) : this.hit(T.TextBlock, close + 3);
    }
    let i = at + 1;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 34) return this.hit(T.StringLiteral, i + 1);
      if (c === 92) {
        const n = text.charCodeAt(i + 1);
        if (i + 1 < text.length && n !== 10 && n !== 13) {
          i += 2;
          continue;
        }
        break;
      }
      if (c === 10 || c === 13) break;
      i++;
    }
    return this.hit(T.UnterminatedString, i);
  }
}

function lineEnd(text: string, at: number): number {
  for (let i = at; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) return i;
  }
  return text.length;
}

function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Scans a whole text (tests, tools): every significant token, comments and diagnostics. */
export function scanAll(text: string, file: string): { tokens: IToken[]; comments: IToken[]; diagnostics: Diagnostic[] } {
  const s = new Scanner(text, file);
  const tokens: IToken[] = [];
  for (let t = s.next(); t; t = s.next()) tokens.push(t);
  return { tokens, comments: s.comments, diagnostics: s.diagnostics };
}
