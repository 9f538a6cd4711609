// Entry point of the parser: text in, AST plus syntax diagnostics out. Never throws.
import type { IToken, TokenType } from "chevrotain";
import { literalText, type IncompleteDecl, type SourceFile, type Statement } from "./ast.js";
import { AstFactory } from "./ast-factory.js";
import { diagnostic, type Diagnostic } from "./diagnostics.js";
import { PolicyParser } from "./grammar.js";
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
  const ast = new AstFactory(path);
  const statements: Statement[] = [];
  const p = getParser();

  // Each top-level declaration is scanned and parsed on its own: its tokens become AST and
  // are dropped at once, and a syntax error cannot swallow the declarations after
  // it, because every declaration keyword starts afresh.
  const parseChunk = (chunk: IToken[], next: IToken | undefined) => {
    if (chunk.length === 0) return;
    p.parseDeclarations(chunk, ast, statements);
    for (const err of p.errors) {
      const t = err.token;
      if (t.tokenType.name === "EOF" && next) {
        // The declaration ran into the next one: say so, there, not at the end of the file.
        const message = err.message.replace("end of file", `\`${next.image}\`, which starts the next declaration`);
        diagnostics.push(diagnostic("E003", message, { file: path, start: next.startOffset, end: next.startOffset + next.image.length }));
        continue;
      }
      const begin = Number.isNaN(t.startOffset) ? text.length : t.startOffset;
      const end = t.tokenType.name === "EOF" || Number.isNaN(t.startOffset) ? begin : begin + t.image.length;
      const near = t.tokenType === T.Identifier ? closest(t.image, T.keywords.map((k) => (k.PATTERN as RegExp).source)) : undefined;
      diagnostics.push(diagnostic("E003", err.message, { file: path, start: begin, end }, near ? { suggestion: `did you mean \`${near}\`?` } : {}));
    }
  };
  // Tokens are gathered in one buffer that is never shrunk and handed over as an exact-size
  // copy: growing a fresh array by pushes for every control was a tenth of all a large
  // policy's parse allocated. The buffer lets go of them at once, so that they die young.
  const buffer: (IToken | undefined)[] = [];
  let count = 0;
  const flush = (next: IToken | undefined) => {
    const chunk = buffer.slice(0, count) as IToken[];
    buffer.fill(undefined, 0, count);
    count = 0;
    // nested past the limit (the scanner said so): not parsed, but what it declares is known
    if (scanner.tooDeep) declaredBy(chunk, ast);
    else parseChunk(chunk, next);
  };
  for (let t = scanner.next(); t !== undefined; t = scanner.next()) {
    if (startsDeclaration[t.tokenTypeIdx] === true) {
      if (count > 0) flush(t);
      scanner.startDeclaration();
    }
    if (count < buffer.length) buffer[count] = t;
    else buffer.push(t);
    count++;
  }
  flush(undefined);
  p.release();
  diagnostics.push(...scanner.diagnostics, ...ast.diagnostics);
  const comments = scanner.comments.map((c) => ({ text: c.image, file: path, start: c.startOffset, end: c.startOffset + c.image.length }));
  return { path, text, statements, comments, diagnostics, incomplete: ast.incomplete };
}

/** Declarations that name something, by keyword: what the name is written as. */
const naming = new Map<TokenType, [IncompleteDecl["kind"], TokenType]>([
  [T.Let, ["let", T.Identifier]],
  [T.Context, ["context", T.Identifier]],
  [T.Stakeholder, ["stakeholder", T.Identifier]],
  [T.Control, ["control", T.StringLiteral]],
]);

/** The name a declaration's first two tokens give it (`let x`, `control "AC-1"`), if any. */
function declaredBy(chunk: IToken[], ast: AstFactory): void {
  const [keyword, name] = chunk;
  const [kind, nameType] = (keyword && naming.get(keyword.tokenType)) ?? [];
  if (!kind || !name || name.tokenType !== nameType) return;
  ast.incomplete.push({ kind, name: kind === "control" ? literalText(ast.stringLiteral(name)) : name.image });
}
