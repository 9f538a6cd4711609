// The scanner: produces Chevrotain tokens (the vocabulary of tokens.ts) one at a time.
//
// Why not Chevrotain's Lexer: it tokenizes a whole file up front, so on a 20,000-promise policy
// every token outlives the parse and the garbage collector copies all of them (measured: more
// time in GC than in parsing). This scanner is pulled one declaration at a time, so tokens die
// young. It implements exactly the patterns declared in tokens.ts, and a differential property
// test (test/parser/scanner.test.ts) holds it to Chevrotain's Lexer built from those patterns.
import type { IToken, TokenType } from "chevrotain";
import { diagnostic, pushBounded, type Counts, type Diagnostic } from "./diagnostics.js";
import { spacedUnits } from "./literals.js";
import * as T from "./tokens.js";

/** Deepest nesting of brackets, parentheses, braces and `not`s a policy may use. */
export const MAX_NESTING = 64;

// No endOffset (optional in IToken, read only by Chevrotain's CST builder, which is not used):
// a field fewer on the commonest short-lived object of a parse.
class Token implements IToken {
  readonly tokenTypeIdx: number;
  constructor(
    readonly image: string,
    readonly startOffset: number,
    readonly tokenType: TokenType,
  ) {
    this.tokenTypeIdx = tokenType.tokenTypeIdx!;
  }
}

const keywordTypes = new Map<string, TokenType>(T.keywords.map((k) => [(k.PATTERN as RegExp).source, k]));
/** Units a number may be followed by after blanks, as in `10 MB` (tokens.ts, Quantity). */
const unitsAfterBlanks = new Set(spacedUnits);

const DATE = /\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?)?(?![\w.])/y;
const ADDRESS = /\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?:\/\d{1,3})?(?![\w.])/y;
const IPV6 = /(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:\.\d{1,3}){0,3}(?:\/\d{1,3})?(?![\w.:])/y;
const SPACE = /[ \t\r\n\f\v\uFEFF]+/y;

function sticky(re: RegExp, text: string, at: number): number {
  re.lastIndex = at;
  return re.test(text) ? re.lastIndex : -1;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isIdentStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
const isIdentPart = (c: number) => isIdentStart(c) || isDigit(c);
const isHexLetter = (c: number) => (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
const isLetter = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);

/** Whether at most four hex digits from `at` are followed by `:`, as an IPv6 address's first group is. */
function colonAfterHexGroup(text: string, at: number): boolean {
  let i = at;
  while (i - at <= 4 && (isDigit(text.charCodeAt(i)) || isHexLetter(text.charCodeAt(i)))) i++;
  return i - at <= 4 && text.charCodeAt(i) === 58;
}

interface Word {
  image: string;
  /** the keyword's token type, or Identifier */
  type: TokenType;
}
const WORD_SLOTS = 4096;

export interface ScanResult {
  comments: IToken[];
  diagnostics: Diagnostic[];
}

export class Scanner {
  private pos = 0;
  readonly comments: IToken[] = [];
  readonly diagnostics: Diagnostic[] = [];
  private depth = 0;
  /** diagnostics past MAX_DIAGNOSTICS: counted, not kept (a file of a million errors must not hold a million) */
  readonly dropped: Counts = { errors: 0, warnings: 0 };
  private report(d: Diagnostic): void {
    pushBounded(this.diagnostics, d, this.dropped);
  }
  private notRun = 0;
  /**
   * true once nesting went past the limit since the last `startDeclaration()`: those tokens
   * must not be handed to the parser, whose recursion the limit bounds
   */
  tooDeep = false;

  /** Nesting counts from zero again: the parser takes each top-level declaration on its own. */
  startDeclaration(): void {
    this.depth = 0;
    this.notRun = 0;
    this.tooDeep = false;
  }

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  // Short token texts repeat endlessly (`mode`, `0640`, `"finance"`): the AST keeps one copy
  // of each instead of one per occurrence. A small direct-mapped cache, checked in place with
  // startsWith, costs far less than slicing every token and hashing it into a Map; a miss only
  // costs a slice. Each entry also remembers whether the word is a keyword.
  private readonly words: (Word | undefined)[] = new Array<Word | undefined>(WORD_SLOTS);
  private word(start: number, end: number): Word {
    const text = this.text;
    const length = end - start;
    if (length > 24) return { image: text.slice(start, end), type: T.Identifier };
    const slot = (text.charCodeAt(start) * 31 + text.charCodeAt(end - 1) * 7 + length * 131 + text.charCodeAt(start + (length >> 1))) & (WORD_SLOTS - 1);
    const known = this.words[slot];
    if (known !== undefined && known.image.length === length && text.startsWith(known.image, start)) return known;
    const image = text.slice(start, end);
    const word = { image, type: keywordTypes.get(image) ?? T.Identifier };
    this.words[slot] = word;
    return word;
  }

  /** The next significant token, or undefined at the end. Comments are collected aside. */
  next(): IToken | undefined {
    const text = this.text;
    while (this.pos < text.length) {
      // white space inline, in a local: it is a third of a typical policy and needs no token
      let start = this.pos;
      let c = text.charCodeAt(start);
      while (c === 32 || c === 10 || c === 9 || c === 13 || c === 12 || c === 11 || c === 0xfeff) c = text.charCodeAt(++start);
      this.pos = start;
      if (start >= text.length) break;
      const matchEnd = this.match(start);
      if (matchEnd === -1) {
        // Skip to where a token can start again, reporting the run as one error.
        let end = start + 1;
        while (end < text.length && this.match(end) === -1) end++;
        const shown = text.slice(start, Math.min(end, start + 20)) + (end - start > 20 ? "…" : "");
        this.report(
          diagnostic("E001", `unexpected character${end - start > 1 ? "s" : ""} \`${printable(shown)}\``, { file: this.file, start, end }),
        );
        this.pos = end;
        continue;
      }
      const type = this.matched;
      this.pos = matchEnd;
      if (type === undefined) continue; // white space
      const token = new Token(this.fixedImage ?? this.word(start, matchEnd).image, start, type);
      if (type === T.LineComment || type === T.BlockComment || type === T.UnterminatedBlockComment) {
        if (type === T.UnterminatedBlockComment) {
          this.report(diagnostic("E002", "block comment is never closed", { file: this.file, start, end: matchEnd }, { suggestion: "close it with `*/`" }));
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
      this.report(
        diagnostic("E002", "text block is never closed", { file: this.file, start: t.startOffset, end: t.startOffset + 3 }, { suggestion: 'close it with `"""`' }),
      );
    }
    if (type === T.UnterminatedString) {
      this.report(
        diagnostic("E002", "string is not closed on this line", { file: this.file, start: t.startOffset, end: t.startOffset + t.image.length }, { suggestion: 'add the closing `"`' }),
      );
    }
    if (type === T.LBrace || type === T.LBracket || type === T.LParen) this.depth++;
    else if (type === T.RBrace || type === T.RBracket || type === T.RParen) this.depth = Math.max(0, this.depth - 1);
    this.notRun = type === T.Not ? this.notRun + 1 : 0;
    if (!this.tooDeep && this.depth + this.notRun > MAX_NESTING) {
      this.tooDeep = true;
      this.report(
        diagnostic("E004", `nesting deeper than ${MAX_NESTING} levels`, { file: this.file, start: t.startOffset, end: t.startOffset + t.image.length }, {
          suggestion: "split the expression into named contexts or variables",
        }),
      );
    }
  }

  /** type of the last match (undefined for white space); kept in a field so matching allocates nothing */
  private matched: TokenType | undefined;
  /** the text of the last match when already known (punctuation, operators, names) */
  private fixedImage: string | undefined;
  private hit(type: TokenType | undefined, end: number): number {
    this.matched = type;
    this.fixedImage = undefined;
    return end;
  }
  private fixed(type: TokenType, image: string, end: number): number {
    this.matched = type;
    this.fixedImage = image;
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
        if (text.charCodeAt(at + 1) === 62) return this.fixed(T.Arrow, "->", at + 2);
        return -1;
      case 61: // '='
        if (text.charCodeAt(at + 1) === 126) return this.fixed(T.RegexMatch, "=~", at + 2);
        if (text.charCodeAt(at + 1) === 61) return this.fixed(T.EqualEqual, "==", at + 2);
        return this.fixed(T.Equals, "=", at + 1);
      case 33: // '!'
        if (text.charCodeAt(at + 1) === 61) return this.fixed(T.NotEqual, "!=", at + 2);
        if (text.charCodeAt(at + 1) === 126) return this.fixed(T.NotGlobMatch, "!~", at + 2);
        return -1;
      case 60: // '<'
        return text.charCodeAt(at + 1) === 61 ? this.fixed(T.LessEqual, "<=", at + 2) : this.fixed(T.Less, "<", at + 1);
      case 62: // '>'
        return text.charCodeAt(at + 1) === 61 ? this.fixed(T.GreaterEqual, ">=", at + 2) : this.fixed(T.Greater, ">", at + 1);
      case 126:
        return this.fixed(T.GlobMatch, "~", at + 1);
      case 123:
        return this.fixed(T.LBrace, "{", at + 1);
      case 125:
        return this.fixed(T.RBrace, "}", at + 1);
      case 91:
        return this.fixed(T.LBracket, "[", at + 1);
      case 93:
        return this.fixed(T.RBracket, "]", at + 1);
      case 40:
        return this.fixed(T.LParen, "(", at + 1);
      case 41:
        return this.fixed(T.RParen, ")", at + 1);
      case 44:
        return this.fixed(T.Comma, ",", at + 1);
      case 59:
        return this.fixed(T.Semicolon, ";", at + 1);
    }
    if (isDigit(c)) return this.numeric(at);
    if (isIdentStart(c)) {
      // a hex group and a colon, as in `fe80::1`, is the only way a letter starts an address
      if (isHexLetter(c) && colonAfterHexGroup(text, at)) {
        const v6 = sticky(IPV6, text, at);
        if (v6 !== -1) return this.hit(T.Ipv6Literal, v6);
      }
      let end = at + 1;
      while (end < text.length && isIdentPart(text.charCodeAt(end))) end++;
      const word = this.word(at, end);
      return this.fixed(word.type, word.image, end);
    }
    return -1;
  }

  /**
   * Numbers and what starts like one. The character after the leading digits decides which of
   * the longer patterns can match at all, so each regular expression runs only where it may;
   * quantities and plain numbers are matched by hand (maximal munch gives the same match as
   * their patterns: no shorter prefix can be followed by a unit, a `.` or a digit).
   */
  private numeric(at: number): number {
    const text = this.text;
    let i = at;
    if (text.charCodeAt(at) !== 45) {
      while (isDigit(text.charCodeAt(i))) i++;
      const after = text.charCodeAt(i);
      if (i - at === 4 && after === 45) {
        const end = sticky(DATE, text, at);
        if (end !== -1) return this.hit(T.DateLiteral, end);
      }
      if (i - at <= 3 && after === 46) {
        const end = sticky(ADDRESS, text, at);
        if (end !== -1) return this.hit(T.AddressLiteral, end);
      }
      if (colonAfterHexGroup(text, at)) {
        const end = sticky(IPV6, text, at);
        if (end !== -1) return this.hit(T.Ipv6Literal, end);
      }
    } else i++;
    while (isDigit(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) === 46 && isDigit(text.charCodeAt(i + 1))) {
      i += 2;
      while (isDigit(text.charCodeAt(i))) i++;
    }
    const c = text.charCodeAt(i);
    if (isLetter(c)) {
      let end = i + 1;
      while (isLetter(text.charCodeAt(end))) end++;
      return this.hit(T.Quantity, end);
    }
    if (c === 37) return this.hit(T.Quantity, i + 1); // %
    if (c === 32 || c === 9) {
      // `3 sigma`: blanks, then the word sigma on its own
      let s = i + 1;
      while (text.charCodeAt(s) === 32 || text.charCodeAt(s) === 9) s++;
      if (text.startsWith("sigma", s) && !isIdentPart(text.charCodeAt(s + 5))) return this.hit(T.Quantity, s + 5);
      // `10 MB`, `80 %`: a unit written apart, unless an `=` makes the word an attribute's name
      let end = s;
      if (text.charCodeAt(s) === 37) end = s + 1;
      else {
        while (isLetter(text.charCodeAt(end))) end++;
        if (end === s || isIdentPart(text.charCodeAt(end)) || !unitsAfterBlanks.has(text.slice(s, end))) end = s;
      }
      if (end > s) {
        let after = end;
        while (text.charCodeAt(after) === 32 || text.charCodeAt(after) === 9) after++;
        // a lone `=` makes the word an attribute's name; `==` and `=~` are comparisons
        const next = text.charCodeAt(after + 1);
        if (text.charCodeAt(after) !== 61 || next === 61 || next === 126) return this.hit(T.Quantity, end);
      }
    }
    // a plain number must not run into a name character or a `.`
    if (c === 95 || c === 46) return -1;
    return this.hit(T.NumberLiteral, i);
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
