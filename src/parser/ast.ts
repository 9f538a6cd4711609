// The abstract syntax tree: what the author wrote, with source ranges, and the raw text of
// every literal so that the formatter can print it back exactly.
import type { Diagnostic, Span } from "./diagnostics.js";

/** A piece of a string literal: decoded text, or a `${name}` interpolation (which keeps its position). */
export type StringPart = { text: string; variable?: undefined } | { text?: undefined; variable: string; span: Span };

export type Expr =
  | { kind: "string"; raw: string; parts: StringPart[]; span: Span }
  | { kind: "number"; raw: string; value: number; span: Span }
  | { kind: "quantity"; raw: string; value: number; unit: string; span: Span }
  | { kind: "date"; raw: string; span: Span }
  | { kind: "address"; raw: string; span: Span }
  | { kind: "bool"; value: boolean; span: Span }
  | { kind: "ident"; name: string; span: Span }
  | { kind: "list"; items: Expr[]; span: Span }
  | { kind: "paren"; inner: Expr; span: Span }
  | { kind: "not"; operand: Expr; span: Span }
  // n-ary so that a chain of 100,000 `and`s is a flat list, not a 100,000-deep tree
  | { kind: "logical"; op: "and" | "or"; operands: Expr[]; span: Span }
  | { kind: "compare"; op: CompareOp; left: Expr; right: Expr; span: Span };

export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "~" | "!~" | "=~" | "in";

export interface Name {
  name: string;
  span: Span;
}

// No span of its own: it is derived (attributeSpan), one object fewer per attribute of a
// 20,000-promise policy.
export interface Attribute {
  kind: "attribute";
  name: Name;
  value: Expr;
}

export function attributeSpan(a: Attribute): Span {
  return { file: a.name.span.file, start: a.name.span.start, end: a.value.span.end };
}

export interface PromiseDecl {
  kind: "promise";
  type: Name;
  promiser?: Expr;
  stakeholders?: { names: Name[]; bracketed: boolean; span: Span };
  attributes: Attribute[];
  span: Span;
}

export type BlockItem = Attribute | PromiseDecl;

export interface ImportDecl {
  kind: "import";
  path: Expr & { kind: "string" };
  span: Span;
}
export interface LetDecl {
  kind: "let";
  name: Name;
  value: Expr;
  span: Span;
}
export interface ContextDecl {
  kind: "context";
  name: Name;
  expr: Expr;
  span: Span;
}
export interface ControlDecl {
  kind: "control";
  id: Expr & { kind: "string" };
  items: BlockItem[];
  span: Span;
}
export interface WaiverDecl {
  kind: "waiver";
  control: Expr & { kind: "string" };
  attributes: Attribute[];
  span: Span;
}
export interface StakeholderDecl {
  kind: "stakeholder";
  name: Name;
  attributes: Attribute[] | undefined;
  span: Span;
}
export interface CalendarDecl {
  kind: "calendar";
  attributes: Attribute[];
  span: Span;
}

export type Statement = ImportDecl | LetDecl | ContextDecl | ControlDecl | WaiverDecl | StakeholderDecl | CalendarDecl;

export interface Comment {
  text: string;
  span: Span;
}

export interface SourceFile {
  path: string;
  text: string;
  statements: Statement[];
  comments: Comment[];
  /** syntax diagnostics of this file */
  diagnostics: Diagnostic[];
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
