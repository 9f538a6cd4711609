// The abstract syntax tree: what the author wrote, with source ranges, and the raw text of
// every literal so that the formatter can print it back exactly.
//
// Every node is its own source range: it carries `file`, `start` and `end` (it extends Span)
// rather than pointing to a separate span object. A 20,000-promise policy has some 220,000
// ranges, all alive to the end of a check; as objects of their own they were a third of the
// AST's objects and a quarter of its bytes (1,525 -> 1,163 bytes per promise, bench/README.md),
// all copied by the garbage collector. `spanOf` copies a node's range where one is kept apart.
import type { Counts, Diagnostic, Span } from "./diagnostics.js";

/** A `${name}` in a string literal, with its position. */
export type Interpolation = { variable: string } & Span;
/** A piece of a string literal: decoded text (a string as is: most strings are one piece), or an interpolation. */
export type StringPart = string | Interpolation;

export type Expr =
  | ({ kind: "string"; raw: string; parts: StringPart[] } & Span)
  | ({ kind: "number"; raw: string; value: number } & Span)
  | ({ kind: "quantity"; raw: string; value: number; unit: string } & Span)
  | ({ kind: "date"; raw: string } & Span)
  | ({ kind: "address"; raw: string } & Span)
  | ({ kind: "bool"; value: boolean } & Span)
  | ({ kind: "ident"; name: string } & Span)
  | ({ kind: "list"; items: Expr[] } & Span)
  | ({ kind: "paren"; inner: Expr } & Span)
  | ({ kind: "not"; operand: Expr } & Span)
  // n-ary so that a chain of 100,000 `and`s is a flat list, not a 100,000-deep tree
  | ({ kind: "logical"; op: "and" | "or"; operands: Expr[] } & Span)
  | ({ kind: "compare"; op: CompareOp; left: Expr; right: Expr } & Span);

export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "~" | "!~" | "=~" | "in";

export interface Name extends Span {
  name: string;
}

/**
 * `name = value`. Its range is the whole attribute; its name's range is derived (nameSpan):
 * a name object per attribute was a sixth of a large policy's AST.
 */
export interface Attribute extends Span {
  kind: "attribute";
  name: string;
  value: Expr;
}

/** A promise's range starts at its type, whose range is derived (typeSpan) for the same reason. */
export interface PromiseDecl extends Span {
  kind: "promise";
  type: string;
  promiser?: Expr;
  stakeholders?: { names: Name[]; bracketed: boolean } & Span;
  attributes: Attribute[];
}

/** Where an attribute's name is written. */
export function nameSpan(a: Attribute): Span {
  return leadingSpan(a, a.name);
}

/** Where a promise's type is written. */
export function typeSpan(p: PromiseDecl): Span {
  return leadingSpan(p, p.type);
}

/** Where the word `text` that a node starts with is written (a name, a type, a keyword). */
export function leadingSpan(node: Span, text: string): Span {
  return { file: node.file, start: node.start, end: node.start + text.length };
}

export type BlockItem = Attribute | PromiseDecl;

export interface ImportDecl extends Span {
  kind: "import";
  path: Expr & { kind: "string" };
}
export interface LetDecl extends Span {
  kind: "let";
  name: Name;
  value: Expr;
}
export interface ContextDecl extends Span {
  kind: "context";
  name: Name;
  expr: Expr;
}
export interface ControlDecl extends Span {
  kind: "control";
  id: Expr & { kind: "string" };
  items: BlockItem[];
}
export interface WaiverDecl extends Span {
  kind: "waiver";
  control: Expr & { kind: "string" };
  attributes: Attribute[];
}
export interface StakeholderDecl extends Span {
  kind: "stakeholder";
  name: Name;
  attributes: Attribute[] | undefined;
}
export interface CalendarDecl extends Span {
  kind: "calendar";
  attributes: Attribute[];
}
/**
 * `promise_type NAME { command = [...] attribute x { type = string } }`: a site's own promise
 * type, run by a plugin (docs/plugins.md). Its body is read as a control's is: attributes, and
 * promise-shaped items (`attribute NAME { ... }`), which the checker alone gives a meaning.
 */
export interface PromiseTypeDecl extends Span {
  kind: "promise_type";
  name: Name;
  items: BlockItem[];
}

export type Statement = ImportDecl | LetDecl | ContextDecl | ControlDecl | WaiverDecl | StakeholderDecl | CalendarDecl | PromiseTypeDecl;

export interface Comment extends Span {
  text: string;
}

/**
 * A declaration whose name was read but not the rest (a syntax error in its value, nesting too
 * deep): the name is declared all the same, so that its uses are not reported as unknown on top
 * of the error that explains it.
 */
export interface IncompleteDecl {
  kind: "let" | "context" | "stakeholder" | "control";
  /** the variable's, context's or stakeholder's name, or the control's id */
  name: string;
}

export interface SourceFile {
  path: string;
  text: string;
  statements: Statement[];
  comments: Comment[];
  /** syntax diagnostics of this file, at most MAX_DIAGNOSTICS of each kind of producer */
  diagnostics: Diagnostic[];
  /** how many more syntax diagnostics were found than kept */
  dropped?: Counts;
  incomplete: IncompleteDecl[];
}

/** Text of a string literal without interpolation (ids, import paths). */
export function literalText(s: { parts: StringPart[] }): string {
  return s.parts.map((p) => (typeof p === "string" ? p : `\${${p.variable}}`)).join("");
}

/** The source text of an expression, normalised to single spaces (used in messages and contradiction keys). */
export function exprText(e: Expr): string {
  switch (e.kind) {
    case "string":
    case "number":
    case "quantity":
    case "date":
    case "address":
      return e.raw;
    case "bool":
      return String(e.value);
    case "ident":
      return e.name;
    case "list":
      return `[${e.items.map(exprText).join(", ")}]`;
    case "paren":
      return `(${exprText(e.inner)})`;
    case "not":
      return `not ${exprText(e.operand)}`;
    case "logical":
      return e.operands.map(exprText).join(` ${e.op} `);
    case "compare":
      return `${exprText(e.left)} ${e.op} ${exprText(e.right)}`;
  }
}
