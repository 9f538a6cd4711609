// Entry point of the parser: text in, AST plus syntax diagnostics out. Never throws.
import type { IToken, TokenType } from "chevrotain";
import { literalText, type IncompleteDecl, type SourceFile, type Statement } from "./ast.js";
import { AstFactory } from "./ast-factory.js";
import { diagnostic, pushBounded, type Counts, type Diagnostic } from "./diagnostics.js";
import { PolicyParser, type TokenSource } from "./grammar.js";
import { Scanner } from "./lexer.js";
import { closest } from "./suggest.js";
import * as T from "./tokens.js";

let parser: PolicyParser | undefined;

/** By token type index: whether the token starts a top-level declaration (an array read, not a Set lookup, per token). */
const startsDeclaration: boolean[] = [];
for (const k of T.statementKeywords) startsDeclaration[k.tokenTypeIdx!] = true;

/** The parser is built once per process: its self-analysis is the costly part of start-up. */
function getParser(): PolicyParser {
  parser ??= new PolicyParser();
  return parser;
}

export function parseSource(path: string, text: string): SourceFile {
  const scanner = new Scanner(text, path);
  const diagnostics: Diagnostic[] = [];
  const dropped: Counts = { errors: 0, warnings: 0 };
  const ast = new AstFactory(path, text);
  const statements: Statement[] = [];
  const p = getParser();

  // Each top-level declaration is scanned and parsed on its own, its tokens read as the parser
  // needs them and dropped once it is past them (grammar.ts): its tokens become AST at once,
  // and a syntax error cannot swallow the declarations after it, because every declaration
  // keyword starts afresh.
  const source = new DeclarationTokens(scanner);
  for (let first = scanner.next(); first !== undefined; first = source.following) {
    if (startsDeclaration[first.tokenTypeIdx] === true) scanner.startDeclaration();
    source.begin(first);
    const before = { statements: statements.length, incomplete: ast.incomplete.length, diagnostics: ast.diagnostics.length };
    p.parseDeclarations(source, ast, statements);
    source.drain();
    if (source.tooDeep) {
      // nested past the limit (the scanner said so): the parser stopped where it began, so what
      // it made of the declaration is dropped; what the declaration declares is known
      statements.length = before.statements;
      ast.incomplete.length = before.incomplete;
      ast.diagnostics.length = before.diagnostics;
      declaredBy(source.head, ast);
      continue;
    }
    const next = source.following;
    for (const err of p.errors) {
      const t = err.token;
      if (t.tokenType.name === "EOF" && next) {
        // The declaration ran into the next one: say so, there, not at the end of the file.
        const message = err.message.replace("end of file", `\`${next.image}\`, which starts the next declaration`);
        pushBounded(diagnostics, diagnostic("E003", message, { file: path, start: next.startOffset, end: next.startOffset + next.image.length }), dropped);
        continue;
      }
      const begin = Number.isNaN(t.startOffset) ? text.length : t.startOffset;
      const end = t.tokenType.name === "EOF" || Number.isNaN(t.startOffset) ? begin : begin + t.image.length;
      const near = t.tokenType === T.Identifier ? closest(t.image, T.keywords.map((k) => (k.PATTERN as RegExp).source)) : undefined;
      pushBounded(diagnostics, diagnostic("E003", err.message, { file: path, start: begin, end }, near ? { suggestion: `did you mean \`${near}\`?` } : {}), dropped);
    }
  }
  p.release();
  // each list holds at most MAX_DIAGNOSTICS, in the order found (by position): what a cap keeps
  // of the three together is among them, and the rest is counted
  for (const d of scanner.diagnostics) diagnostics.push(d);
  for (const d of ast.diagnostics) diagnostics.push(d);
  for (const counts of [scanner.dropped, ast.dropped]) {
    dropped.errors += counts.errors;
    dropped.warnings += counts.warnings;
  }
  const comments = scanner.comments.map((c) => ({ text: c.image, file: path, start: c.startOffset, end: c.startOffset + c.image.length }));
  const file: SourceFile = { path, text, statements, comments, diagnostics, incomplete: ast.incomplete };
  if (dropped.errors + dropped.warnings > 0) file.dropped = dropped;
  return file;
}

/**
 * The tokens of one top-level declaration, read from the scanner as the parser asks: from its
 * first token up to the keyword that starts the next (kept in `following`), or up to the token
 * that nests too deep (the parser must not see it: MAX_NESTING bounds its recursion).
 */
class DeclarationTokens implements TokenSource {
  /** the first token of the next declaration, once read */
  following: IToken | undefined;
  /** the declaration's first two tokens: what it declares, when it is not parsed */
  readonly head: IToken[] = [];
  tooDeep = false;
  private first: IToken | undefined;
  private ended = false;
  constructor(private readonly scanner: Scanner) {}

  begin(first: IToken): void {
    this.first = first;
    this.following = undefined;
    this.head.length = 0;
    this.tooDeep = false;
    this.ended = false;
  }
  next(): IToken | undefined {
    if (this.ended) return undefined;
    let t: IToken | undefined;
    if (this.first !== undefined) {
      t = this.first;
      this.first = undefined;
    } else {
      t = this.scanner.next();
      if (t !== undefined && startsDeclaration[t.tokenTypeIdx] === true) {
        this.following = t;
        t = undefined;
      }
    }
    if (t === undefined || this.scanner.tooDeep) {
      this.tooDeep = this.scanner.tooDeep;
      this.ended = true;
      return undefined;
    }
    if (this.head.length < 2) this.head.push(t);
    return t;
  }
  /** Reads the declaration's tokens the parser left (after an error, or past the nesting limit). */
  drain(): void {
    for (;;) {
      if (this.following !== undefined) break;
      const t = this.first ?? this.scanner.next();
      this.first = undefined;
      if (t === undefined) break;
      if (startsDeclaration[t.tokenTypeIdx] === true) {
        this.following = t;
        break;
      }
      if (this.head.length < 2) this.head.push(t);
    }
    // the flag is still this declaration's: the scanner starts afresh only at the next keyword
    if (this.scanner.tooDeep) this.tooDeep = true;
    this.ended = true;
  }
}

/** Declarations that name something, by keyword: what the name is written as. */
const naming = new Map<TokenType, [IncompleteDecl["kind"], TokenType]>([
  [T.Let, ["let", T.Identifier]],
  [T.Context, ["context", T.Identifier]],
  [T.Stakeholder, ["stakeholder", T.Identifier]],
  [T.Control, ["control", T.StringLiteral]],
]);

/** The name a declaration's first two tokens give it (`let x`, `control "AC-1"`), if any. */
function declaredBy(chunk: readonly IToken[], ast: AstFactory): void {
  const [keyword, name] = chunk;
  const [kind, nameType] = (keyword && naming.get(keyword.tokenType)) ?? [];
  if (!kind || !name || name.tokenType !== nameType) return;
  ast.incomplete.push({ kind, name: kind === "control" ? literalText(ast.stringLiteral(name)) : name.image });
}
