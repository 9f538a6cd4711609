// What the formatter prints, item by item: statements, attributes and promises, each a node
// and its depth, and how each kind of item prints itself through the Printer (format.ts).
import type { Attribute, BlockItem, Expr, PromiseDecl, Statement } from "../parser/ast.js";
import type { Printer } from "./format.js";

export const INDENT = "  ";
export const WIDTH = 100;

/**
 * One statement, attribute or promise to print. A node and its depth, nothing more: what the
 * printer asks of it is derived from the node (a control of 300,000 promises holds them all
 * while it is printed, and an object with a closure each was 250 bytes a promise).
 */
export class Item {
  constructor(
    readonly node: Statement | BlockItem,
    readonly depth: number,
  ) {}
  /** where the item is in the source (offsets), to place the comments around it */
  get start(): number {
    return this.node.start;
  }
  get end(): number {
    return this.node.end;
  }
  /** the text before `=` for alignment, when the item is `name = value` */
  get alignKey(): string | undefined {
    const n = this.node;
    if (n.kind === "attribute") return n.name;
    if (n.kind === "let") return `let ${n.name.name}`;
    if (n.kind === "context") return `context ${n.name.name}`;
    return undefined;
  }
  /** only items of the same group align with each other */
  get alignGroup(): string {
    return this.node.kind;
  }
  /** the value after `=`, for items that align */
  get value(): Expr | undefined {
    const n = this.node;
    return n.kind === "attribute" || n.kind === "let" ? n.value : n.kind === "context" ? n.expr : undefined;
  }
  /** whether blank lines separate it from its neighbours at the top level */
  get block(): boolean {
    const kind = this.node.kind;
    return kind === "control" || kind === "waiver" || kind === "calendar" || kind === "promise" || kind === "promise_type";
  }
  print(p: Printer, keyWidth: number): void {
    printItem(p, this, keyWidth);
  }
}


export function attributeItems(attributes: Attribute[], depth: number): Item[] {
  return attributes.map((a) => new Item(a, depth));
}

export function block(p: Printer, depth: number, head: string, items: Item[], end: number) {
  p.open(depth, head);
  p.items(depth + 1, items, end, false);
  p.emit(depth, "}");
}

function printItem(p: Printer, item: Item, keyWidth: number): void {
  const { node: n, depth } = item;
  switch (n.kind) {
    case "attribute":
    case "let":
    case "context":
      return p.assignment(depth, item.alignKey!, keyWidth, item.value!);
    case "promise":
      return printPromise(p, n, depth);
    case "import":
      return p.emit(0, `import ${n.path.raw}`);
    case "stakeholder":
      return printStakeholder(p, n);
    // a block's items are made when it is printed, not before
    case "control":
      return block(p, 0, `control ${n.id.raw}`, n.items.map((i) => new Item(i, 1)), n.end);
    case "waiver":
      return block(p, 0, `waiver ${n.control.raw}`, attributeItems(n.attributes, 1), n.end);
    case "calendar":
      return block(p, 0, "calendar", attributeItems(n.attributes, 1), n.end);
    case "promise_type":
      return block(p, 0, `promise_type ${n.name.name}`, n.items.map((i) => new Item(i, 1)), n.end);
  }
}

function printPromise(p: Printer, d: PromiseDecl, depth: number): void {
  let head = d.type;
  if (d.promiser) head += ` ${p.expr(d.promiser, depth, depth * INDENT.length + head.length + 1)}`;
  if (d.stakeholders) head += ` -> [${d.stakeholders.names.map((n) => n.name).join(", ")}]`;
  block(p, depth, head, attributeItems(d.attributes, depth + 1), d.end);
}

/** `stakeholder name`, or with one short attribute on one line, or a block. */
function printStakeholder(p: Printer, s: Statement & { kind: "stakeholder" }): void {
  const head = `stakeholder ${s.name.name}`;
  const attrs = s.attributes;
  if (attrs === undefined) return p.emit(0, head);
  const only = attrs.length === 1 ? attrs[0]! : undefined;
  const prefix = `${head} { ${only?.name} = `;
  if (only && !p.hasCommentIn(s.start, s.end) && !p.rendersMultiline(only.value, 0, prefix.length)) {
    const line = `${prefix}${p.expr(only.value, 0, prefix.length)} }`;
    if (line.length <= WIDTH) return p.emit(0, line);
  }
  block(p, 0, head, attributeItems(attrs, 1), s.end);
}

