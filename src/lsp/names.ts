// Every name a policy declares and every place it is used, across the files of a folder's last
// check: what go to definition, find references, rename and hover read. A name is resolved as the
// checker resolves it: a variable first, then a context, then a stakeholder (scope.ts declares
// them in that order and values.ts looks them up so), and a fact when none of them declares it.
import { literalText, type Expr, type SourceFile, type Statement, type BlockItem } from "../parser/ast.js";
import type { Span } from "../parser/diagnostics.js";
import { facts } from "../facts/catalog.js";

export type NameKind = "variable" | "context" | "stakeholder" | "control" | "import" | "fact";

export interface Occurrence {
  kind: NameKind;
  name: string;
  /** where the name itself is written (a control id or an import path with its quotes) */
  span: Span;
  declaration: boolean;
  /** the declaration's whole statement, on declarations */
  statement?: Statement;
}

export class NameIndex {
  readonly all: Occurrence[] = [];
  /** by file, in order of position */
  private readonly byFile = new Map<string, Occurrence[]>();
  readonly declared = { variable: new Map<string, Occurrence>(), context: new Map<string, Occurrence>(), stakeholder: new Map<string, Occurrence>(), control: new Map<string, Occurrence>() };

  constructor(files: SourceFile[]) {
    for (const f of files) for (const s of f.statements) this.declare(s);
    for (const f of files) {
      const list: Occurrence[] = [];
      for (const s of f.statements) this.statement(s, list);
      list.sort((a, b) => a.span.start - b.span.start);
      this.byFile.set(f.path, list);
      for (const o of list) this.all.push(o);
    }
  }

  /** The name written at `offset` in the file shown as `file` (its end included: the cursor just past a word is on it). */
  at(file: string, offset: number): Occurrence | undefined {
    let best: Occurrence | undefined;
    for (const o of this.byFile.get(file) ?? []) {
      if (o.span.start > offset) break;
      if (offset <= o.span.end && (best === undefined || o.span.end - o.span.start <= best.span.end - best.span.start)) best = o;
    }
    return best;
  }

  uses(kind: NameKind, name: string): Occurrence[] {
    return this.all.filter((o) => o.kind === kind && o.name === name);
  }

  private declare(s: Statement): void {
    const first = <K extends keyof NameIndex["declared"]>(kind: K, name: string, span: Span) => {
      if (!this.declared[kind].has(name)) this.declared[kind].set(name, { kind, name, span, declaration: true, statement: s });
    };
    if (s.kind === "let") first("variable", s.name.name, s.name);
    else if (s.kind === "context") first("context", s.name.name, s.name);
    else if (s.kind === "stakeholder") first("stakeholder", s.name.name, s.name);
    else if (s.kind === "control") first("control", literalText(s.id), s.id);
  }

  private kindOf(name: string): NameKind | undefined {
    if (this.declared.variable.has(name)) return "variable";
    if (this.declared.context.has(name)) return "context";
    if (this.declared.stakeholder.has(name)) return "stakeholder";
    if (facts.has(name)) return "fact";
    return undefined;
  }

  private statement(s: Statement, out: Occurrence[]): void {
    switch (s.kind) {
      case "let":
        out.push({ kind: "variable", name: s.name.name, span: s.name, declaration: true, statement: s });
        this.expr(s.value, out);
        break;
      case "context":
        out.push({ kind: "context", name: s.name.name, span: s.name, declaration: true, statement: s });
        this.expr(s.expr, out);
        break;
      case "stakeholder":
        out.push({ kind: "stakeholder", name: s.name.name, span: s.name, declaration: true, statement: s });
        for (const a of s.attributes ?? []) this.expr(a.value, out);
        break;
      case "control":
        out.push({ kind: "control", name: literalText(s.id), span: s.id, declaration: true, statement: s });
        this.items(s.items, out);
        break;
      case "promise_type":
        this.items(s.items, out);
        break;
      case "waiver":
        out.push({ kind: "control", name: literalText(s.control), span: s.control, declaration: false });
        for (const a of s.attributes) this.expr(a.value, out);
        break;
      case "calendar":
        for (const a of s.attributes) this.expr(a.value, out);
        break;
      case "import":
        out.push({ kind: "import", name: literalText(s.path), span: s.path, declaration: false });
        break;
    }
  }

  private items(items: BlockItem[], out: Occurrence[]): void {
    for (const item of items) {
      if (item.kind === "attribute") {
        this.expr(item.value, out);
        continue;
      }
      if (item.promiser) this.expr(item.promiser, out);
      // a name after `->` is a stakeholder, or a variable holding stakeholders
      for (const n of item.stakeholders?.names ?? []) out.push({ kind: this.declared.variable.has(n.name) ? "variable" : "stakeholder", name: n.name, span: n, declaration: false });
      for (const a of item.attributes) this.expr(a.value, out);
    }
  }

  /** Walks an expression with a stack, not recursion: a condition may be thousands of operands deep. */
  private expr(root: Expr, out: Occurrence[]): void {
    const stack: Expr[] = [root];
    for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
      switch (e.kind) {
        case "ident": {
          const kind = this.kindOf(e.name);
          if (kind !== undefined) out.push({ kind, name: e.name, span: e, declaration: false });
          break;
        }
        case "string":
          for (const p of e.parts) {
            if (typeof p === "string") continue;
            // `${name}`: the name alone, inside its braces
            const start = p.start + 2;
            out.push({ kind: "variable", name: p.variable, span: { file: p.file, start, end: start + p.variable.length }, declaration: false });
          }
          break;
        case "list":
          for (const i of e.items) stack.push(i);
          break;
        case "paren":
          stack.push(e.inner);
          break;
        case "not":
          stack.push(e.operand);
          break;
        case "logical":
          for (const o of e.operands) stack.push(o);
          break;
        case "compare":
          stack.push(e.left, e.right);
          break;
        default:
          break;
      }
    }
  }
}

const indexes = new WeakMap<object, NameIndex>();

/** The index of a check's files, made once per check. */
export function nameIndex(check: { files: SourceFile[] }): NameIndex {
  let idx = indexes.get(check);
  if (!idx) indexes.set(check, (idx = new NameIndex(check.files)));
  return idx;
}
