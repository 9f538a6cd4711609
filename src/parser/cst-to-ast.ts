// CST → AST. Written defensively: after error recovery a CST node may lack tokens, and such
// nodes are dropped here (the syntax error already explains them) rather than half-built.
import type { CstElement, CstNode, IToken } from "chevrotain";
import type { Attribute, BlockItem, CompareOp, Expr, Name, PromiseDecl, Statement } from "./ast.js";
import { diagnostic, type Diagnostic, type Span } from "./diagnostics.js";
import { allUnits, decodeString, dedent, isValidDate, splitQuantity } from "./literals.js";
import * as T from "./tokens.js";

type Children = Record<string, CstElement[] | undefined>;

export class AstBuilder {
  readonly diagnostics: Diagnostic[] = [];
  constructor(private readonly file: string) {}

  private tok(children: Children, name: string, i = 0): IToken | undefined {
    const t = children[name]?.[i] as IToken | undefined;
    if (t === undefined || t.isInsertedInRecovery || Number.isNaN(t.startOffset)) return undefined;
    return t;
  }
  private node(children: Children, name: string, i = 0): CstNode | undefined {
    return children[name]?.[i] as CstNode | undefined;
  }
  private nodes(children: Children, name: string): CstNode[] {
    return (children[name] as CstNode[] | undefined) ?? [];
  }
  private span(start: number, end: number): Span {
    return { file: this.file, start, end };
  }
  private tokenSpan(t: IToken): Span {
    return this.span(t.startOffset, t.startOffset + t.image.length);
  }
  private name(t: IToken): Name {
    return { name: t.image, span: this.tokenSpan(t) };
  }

  policy(cst: CstNode): Statement[] {
    const out: Statement[] = [];
    for (const s of this.nodes(cst.children, "statement")) {
      const inner = Object.values(s.children)[0]?.[0] as CstNode | undefined;
      const stmt = inner && this.statement(inner);
      if (stmt) out.push(stmt);
    }
    return out;
  }

  private statement(n: CstNode): Statement | undefined {
    const c = n.children;
    switch (n.name) {
      case "importDecl": {
        const kw = this.tok(c, "Import");
        const path = this.tok(c, "StringLiteral");
        if (!kw || !path) return undefined;
        const str = this.stringLiteral(path);
        return { kind: "import", path: str, span: this.span(kw.startOffset, str.span.end) };
      }
      case "letDecl":
      case "contextDecl": {
        const kw = this.tok(c, n.name === "letDecl" ? "Let" : "Context");
        const id = this.tok(c, "Identifier");
        const exprNode = this.node(c, "expression");
        const value = exprNode && this.expression(exprNode);
        if (!kw || !id || !value) return undefined;
        const span = this.span(kw.startOffset, value.span.end);
        return n.name === "letDecl"
          ? { kind: "let", name: this.name(id), value, span }
          : { kind: "context", name: this.name(id), expr: value, span };
      }
      case "controlDecl": {
        const kw = this.tok(c, "Control");
        const id = this.tok(c, "StringLiteral");
        const close = this.tok(c, "RBrace");
        if (!kw || !id) return undefined;
        const items = compact(
          this.nodes(c, "blockItem").map((item) => {
            const attr = this.node(item.children, "attribute");
            return attr ? this.attribute(attr) : this.promise(this.node(item.children, "promiseDecl"));
          }),
        );
        const end = close ? close.startOffset + 1 : (items.length > 0 ? endOf(items.at(-1)!) : id.startOffset + id.image.length);
        return { kind: "control", id: this.stringLiteral(id), items, span: this.span(kw.startOffset, end) };
      }
      case "waiverDecl": {
        const kw = this.tok(c, "Waiver");
        const id = this.tok(c, "StringLiteral");
        const block = this.attributeBlock(this.node(c, "attributeBlock"));
        if (!kw || !id || !block) return undefined;
        return { kind: "waiver", control: this.stringLiteral(id), attributes: block.attributes, span: this.span(kw.startOffset, block.end) };
      }
      case "stakeholderDecl": {
        const kw = this.tok(c, "Stakeholder");
        const id = this.tok(c, "Identifier");
        if (!kw || !id) return undefined;
        const blockNode = this.node(c, "attributeBlock");
        const block = blockNode && this.attributeBlock(blockNode);
        const end = block ? block.end : id.startOffset + id.image.length;
        return { kind: "stakeholder", name: this.name(id), attributes: block?.attributes, span: this.span(kw.startOffset, end) };
      }
      case "calendarDecl": {
        const kw = this.tok(c, "Calendar");
        const block = this.attributeBlock(this.node(c, "attributeBlock"));
        if (!kw || !block) return undefined;
        return { kind: "calendar", attributes: block.attributes, span: this.span(kw.startOffset, block.end) };
      }
      default:
        return undefined;
    }
  }

  private attributeBlock(n: CstNode | undefined): { attributes: Attribute[]; end: number } | undefined {
    if (!n) return undefined;
    const open = this.tok(n.children, "LBrace");
    if (!open) return undefined;
    const attributes = this.inlineAttributes(n.children);
    const close = this.tok(n.children, "RBrace");
    const end = close ? close.startOffset + 1 : (attributes.length > 0 ? endOf(attributes.at(-1)!) : open.startOffset + 1);
    return { attributes, end };
  }

  /**
   * Pairs the names and values of inlined attributes. After error recovery an iteration may
   * have a name and no value, so each value goes with the last name before it, not by index.
   */
  private inlineAttributes(c: Children): Attribute[] {
    const names = ((c["Identifier"] as IToken[] | undefined) ?? []).filter((t) => !t.isInsertedInRecovery && !Number.isNaN(t.startOffset));
    const values = this.nodes(c, "expression").map((e) => this.expression(e));
    const out: Attribute[] = [];
    let v = 0;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const next = names[i + 1]?.startOffset ?? Infinity;
      while (v < values.length && (values[v] === undefined || values[v]!.span.start < name.startOffset)) v++;
      const value = values[v];
      if (value === undefined || value.span.start >= next) continue;
      out.push({ kind: "attribute", name: this.name(name), value });
      v++;
    }
    return out;
  }

  private attribute(n: CstNode): Attribute | undefined {
    const id = this.tok(n.children, "Identifier");
    const exprNode = this.node(n.children, "expression");
    const value = exprNode && this.expression(exprNode);
    if (!id || !value || !this.tok(n.children, "Equals")) return undefined;
    return { kind: "attribute", name: this.name(id), value };
  }

  private promise(n: CstNode | undefined): PromiseDecl | undefined {
    if (!n) return undefined;
    const c = n.children;
    const type = this.tok(c, "Identifier");
    const block = this.attributeBlock(this.node(c, "attributeBlock"));
    if (!type || !block) return undefined;
    const decl: PromiseDecl = { kind: "promise", type: this.name(type), attributes: block.attributes, span: this.span(type.startOffset, block.end) };
    const promiserNode = this.node(c, "operand");
    if (promiserNode) {
      const promiser = this.operand(promiserNode);
      if (!promiser) return undefined;
      decl.promiser = promiser;
    }
    const sNode = this.node(c, "stakeholders");
    if (sNode) {
      const sc = sNode.children;
      const ids = (sc["Identifier"] as IToken[] | undefined) ?? [];
      const names = ids.filter((t) => !t.isInsertedInRecovery && !Number.isNaN(t.startOffset)).map((t) => this.name(t));
      const open = this.tok(sc, "LBracket");
      const close = this.tok(sc, "RBracket");
      const first = open ?? ids[0];
      if (!first) return undefined;
      const end = close ? close.startOffset + 1 : (names.at(-1)?.span.end ?? first.startOffset + 1);
      decl.stakeholders = { names, bracketed: open !== undefined, span: this.span(first.startOffset, end) };
    }
    return decl;
  }

  /**
   * Rebuilds precedence from the flat rule: `not` binds looser than a comparison and tighter
   * than `and`, which binds tighter than `or`. Depth of the result is bounded by the number of
   * precedence levels and parentheses, never by the length of the input.
   */
  expression(n: CstNode): Expr | undefined {
    const c = n.children;
    // Fast path: a single operand and nothing else (the common `name = value`).
    let only: string | undefined;
    let count = 0;
    for (const key in c) {
      count += c[key]!.length;
      only = key;
    }
    if (count === 1 && only !== "Not" && only !== "BinaryOperator") return this.operandElement(only!, c[only!]![0]!);

    // General case: put the flat children back in source order.
    const seq: { offset: number; key: string; el: CstElement }[] = [];
    for (const key in c) {
      for (const el of c[key]!) {
        const offset = "children" in el ? this.firstOffset(el) : el.startOffset;
        if (offset === undefined || Number.isNaN(offset)) return undefined;
        seq.push({ offset, key, el });
      }
    }
    seq.sort((a, b) => a.offset - b.offset);
    const operands: Expr[] = [];
    const notsBefore: IToken[][] = [[]];
    const ops: IToken[] = [];
    for (const item of seq) {
      if (item.key === "Not") notsBefore[operands.length]!.push(item.el as IToken);
      else if (item.key === "BinaryOperator") ops.push(item.el as IToken);
      else {
        const e = this.operandElement(item.key, item.el);
        if (!e) return undefined;
        operands.push(e);
        notsBefore.push([]);
      }
    }
    if (operands.length === 0 || ops.length !== operands.length - 1) return undefined;
    return this.withPrecedence(operands, ops, notsBefore);
  }

  private firstOffset(node: CstNode): number | undefined {
    const open = (node.children["LBracket"] ?? node.children["LParen"])?.[0] as IToken | undefined;
    return open?.startOffset;
  }

  /**
   * Rebuilds precedence: `not` binds looser than a comparison and tighter than `and`, which
   * binds tighter than `or`. The depth of the result is bounded by the number of precedence
   * levels and parentheses, never by the length of the input.
   */
  private withPrecedence(operands: Expr[], ops: IToken[], notsBefore: IToken[][]): Expr | undefined {
    const negate = (e: Expr, ts: IToken[]): Expr => {
      for (let i = ts.length - 1; i >= 0; i--) e = { kind: "not", operand: e, span: this.span(ts[i]!.startOffset, e.span.end) };
      return e;
    };
    const orParts: Expr[] = [];
    let andParts: Expr[] = [];
    let i = 0;
    while (i < operands.length) {
      // one comparison unit: operand (cmp operand)?; nots before its first operand negate the unit
      const unitNots = notsBefore[i]!;
      let unit = operands[i]!;
      while (i < ops.length && ops[i]!.image !== "and" && ops[i]!.image !== "or") {
        const op = ops[i]!;
        const right = negate(operands[i + 1]!, notsBefore[i + 1]!);
        if (unit.kind === "compare") {
          this.diagnostics.push(
            diagnostic("E003", `comparisons cannot be chained: \`${op.image}\` follows another comparison`, this.tokenSpan(op), {
              suggestion: "join the two comparisons with `and`",
            }),
          );
        }
        unit = { kind: "compare", op: op.image as CompareOp, left: unit, right, span: this.span(unit.span.start, right.span.end) };
        i++;
      }
      andParts.push(negate(unit, unitNots));
      const op = ops[i]?.image;
      i++;
      if (op !== "and") {
        orParts.push(this.logical("and", andParts)!);
        andParts = [];
      }
    }
    return this.logical("or", orParts);
  }

  private logical(op: "and" | "or", operands: Expr[]): Expr | undefined {
    if (operands.length === 0) return undefined;
    if (operands.length === 1) return operands[0];
    return { kind: "logical", op, operands, span: this.span(operands[0]!.span.start, operands.at(-1)!.span.end) };
  }

  /** The promiser rule: one operand. */
  operand(n: CstNode): Expr | undefined {
    for (const key in n.children) return this.operandElement(key, n.children[key]![0]!);
    return undefined;
  }

  private operandElement(key: string, el: CstElement): Expr | undefined {
    if (key === "list") return this.list(el as CstNode);
    if (key === "parenthesized") {
      const c = (el as CstNode).children;
      const open = this.tok(c, "LParen");
      const close = this.tok(c, "RParen");
      const inner = this.node(c, "expression");
      const e = inner && this.expression(inner);
      if (!open || !close || !e) return undefined;
      return { kind: "paren", inner: e, span: this.span(open.startOffset, close.startOffset + 1) };
    }
    const t = el as IToken;
    if (t.isInsertedInRecovery || Number.isNaN(t.startOffset)) return undefined;
    const span = this.tokenSpan(t);
    switch (t.tokenType) {
      case T.StringLiteral:
      case T.TextBlock:
      case T.UnterminatedTextBlock:
      case T.UnterminatedString:
        return this.stringLiteral(t);
      case T.NumberLiteral:
        return { kind: "number", raw: t.image, value: Number(t.image), span };
      case T.Quantity: {
        const { value, unit } = splitQuantity(t.image);
        if (!allUnits.includes(unit)) {
          const near = allUnits.find((u) => u.toLowerCase() === unit.toLowerCase());
          this.diagnostics.push(
            diagnostic("E005", `unknown unit \`${unit}\` in \`${t.image}\``, span, {
              suggestion: near ? `did you mean \`${t.image.slice(0, t.image.length - unit.length)}${near}\`?` : `units are ${allUnits.join(", ")}`,
            }),
          );
        }
        return { kind: "quantity", raw: t.image, value, unit, span };
      }
      case T.DateLiteral:
        if (!isValidDate(t.image)) this.diagnostics.push(diagnostic("E005", `\`${t.image}\` is not a valid date`, span, { suggestion: "dates are written YYYY-MM-DD" }));
        return { kind: "date", raw: t.image, span };
      case T.AddressLiteral:
      case T.Ipv6Literal:
        return { kind: "address", raw: t.image, span };
      case T.True:
        return { kind: "bool", value: true, span };
      case T.False:
        return { kind: "bool", value: false, span };
      case T.Identifier:
        return { kind: "ident", name: t.image, span };
      default:
        return undefined;
    }
  }

  private list(n: CstNode): Expr | undefined {
    const open = this.tok(n.children, "LBracket");
    const close = this.tok(n.children, "RBracket");
    if (!open || !close) return undefined;
    const items = this.nodes(n.children, "expression").map((e) => this.expression(e));
    if (items.includes(undefined)) return undefined;
    return { kind: "list", items: items as Expr[], span: this.span(open.startOffset, close.startOffset + 1) };
  }

  stringLiteral(t: IToken): Expr & { kind: "string" } {
    const raw = t.image;
    const quote = raw.startsWith('"""') ? 3 : 1;
    const closed = t.tokenType !== T.UnterminatedString && t.tokenType !== T.UnterminatedTextBlock;
    const body = raw.slice(quote, closed ? raw.length - quote : raw.length);
    let decoded;
    if (quote === 3) {
      const { text, origin } = dedent(body);
      decoded = decodeString(text, (i) => t.startOffset + quote + origin(i), this.file);
    } else decoded = decodeString(body, t.startOffset + quote, this.file);
    for (const p of decoded.problems) this.diagnostics.push(diagnostic("E005", p.message, this.span(p.start, p.end)));
    return { kind: "string", raw, parts: decoded.parts, span: this.tokenSpan(t) };
  }
}

/**
 * Drops the nodes recovery could not build. `map` sizes arrays exactly; growing them with
 * `push` reserves room for 17 elements, and a 20,000-promise policy keeps every such array.
 */
function compact<T>(xs: (T | undefined)[]): T[] {
  return xs.includes(undefined) ? (xs.filter((x) => x !== undefined) as T[]) : (xs as T[]);
}

function endOf(item: BlockItem): number {
  return item.kind === "attribute" ? item.value.span.end : item.span.end;
}
