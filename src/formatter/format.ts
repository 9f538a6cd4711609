// The canonical layout. Printing is driven by the AST (so layout never depends on how the
// author spaced things) while comments are carried along by position: each comment is
// printed before the node it precedes, or after the node it follows on the same line.
import { attributeSpan, exprText, type Attribute, type BlockItem, type Comment, type Expr, type PromiseDecl, type SourceFile, type Statement } from "../parser/ast.js";

const INDENT = "  ";
const WIDTH = 100;

interface Item {
  span: { start: number; end: number };
  /** the text before `=` for alignment, when the item is `name = value` */
  alignKey?: string;
  /** only items of the same group align with each other */
  alignGroup?: string;
  /** whether the printed item spans several lines (such items break alignment runs) */
  multiline(p: Printer): boolean;
  print(p: Printer, keyWidth: number): void;
  block: boolean;
}

class Printer {
  readonly lines: string[] = [];
  private next = 0;
  constructor(
    private readonly text: string,
    private readonly comments: Comment[],
  ) {}

  private line(depth: number, s: string) {
    this.lines.push(`${INDENT.repeat(depth)}${s}`.trimEnd());
  }
  private blank() {
    if (this.lines.length > 0 && this.lines.at(-1) !== "" && !this.lines.at(-1)!.endsWith("{")) this.lines.push("");
  }
  private hasBlankLineBetween(from: number, to: number): boolean {
    return /\n[ \t\r]*\n/.test(this.text.slice(from, to));
  }

  /** Comments that start before `offset` and have not been printed yet. */
  private takeBefore(offset: number): Comment[] {
    const out: Comment[] = [];
    while (this.next < this.comments.length && this.comments[this.next]!.span.start < offset) out.push(this.comments[this.next++]!);
    return out;
  }
  /** Comments after `end` on the same source line, up to `limit` (the end of the enclosing block). */
  private takeTrailing(end: number, limit = Infinity): Comment[] {
    const out: Comment[] = [];
    while (this.next < this.comments.length) {
      const c = this.comments[this.next]!;
      if (c.span.start >= limit || /\n/.test(this.text.slice(end, c.span.start))) break;
      out.push(c);
      this.next++;
    }
    return out;
  }
  /** Appends comments after the last line; returns that line's index when one went on it. */
  private appendTrailing(depth: number, comments: Comment[]): number | undefined {
    let onLine: number | undefined;
    comments.forEach((c, i) => {
      if (i === 0 && this.lines.length > 0 && !c.text.includes("\n")) {
        onLine = this.lines.length - 1;
        this.lines[onLine] += ` ${c.text.trimEnd()}`;
      } else this.line(depth, c.text.trimEnd());
    });
    return onLine;
  }

  /** Prints a sequence of items with comments, blank lines and `=` alignment. */
  items(depth: number, items: Item[], closeAt: number, separateBlocks: boolean) {
    let prevEnd = -1;
    let prev: Item | undefined;
    // trailing comments of one alignment run line up, as the `=` signs do
    const trailing: { line: number; codeLength: number; run: number }[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const gapStart = prevEnd === -1 ? item.span.start : prevEnd;
      const leading = this.takeBefore(item.span.start);
      const firstStart = leading[0]?.span.start ?? item.span.start;
      if (prev && (this.hasBlankLineBetween(gapStart, firstStart) || (separateBlocks && (prev.block || item.block)))) this.blank();
      for (const c of leading) {
        this.line(depth, c.text.trimEnd());
        if (this.hasBlankLineBetween(c.span.end, item.span.start) && c === leading.at(-1)) this.blank();
      }
      const run = item.alignKey === undefined ? { width: 0, start: -1 - i } : this.alignRun(items, i);
      item.print(this, run.width);
      const codeLength = this.lines.at(-1)?.length ?? 0;
      // Comments inside the item that nothing else took stay with it.
      const onLine = this.appendTrailing(depth, [...this.takeBefore(item.span.end), ...this.takeTrailing(item.span.end, Math.min(closeAt, items[i + 1]?.span.start ?? closeAt))]);
      if (onLine !== undefined) trailing.push({ line: onLine, codeLength, run: run.start });
      prevEnd = item.span.end;
      prev = item;
    }
    for (const t of trailing) {
      const column = Math.max(...trailing.filter((u) => u.run === t.run).map((u) => u.codeLength));
      const text = this.lines[t.line]!;
      this.lines[t.line] = text.slice(0, t.codeLength).padEnd(column) + text.slice(t.codeLength);
    }
    const rest = this.takeBefore(closeAt);
    if (rest.length > 0 && prevEnd !== -1 && this.hasBlankLineBetween(prevEnd, rest[0]!.span.start)) this.blank();
    for (const c of rest) this.line(depth, c.text.trimEnd());
  }

  /** The run of aligned items that `i` belongs to: where it starts and the width of its `name` column. */
  private alignRun(items: Item[], i: number): { width: number; start: number } {
    const single = (x: Item) => x.alignKey !== undefined && !x.multiline(this);
    if (!single(items[i]!)) return { width: items[i]!.alignKey!.length, start: -1 - i };
    const joined = (a: Item, b: Item) =>
      single(a) &&
      single(b) &&
      a.alignGroup === b.alignGroup &&
      !this.hasBlankLineBetween(a.span.end, b.span.start) &&
      !this.ownLineCommentBetween(a.span.end, b.span.start);
    let lo = i;
    while (lo > 0 && joined(items[lo - 1]!, items[lo]!)) lo--;
    let hi = i;
    while (hi < items.length - 1 && joined(items[hi]!, items[hi + 1]!)) hi++;
    let w = 0;
    for (let k = lo; k <= hi; k++) w = Math.max(w, items[k]!.alignKey!.length);
    return { width: w, start: lo };
  }
  /** A comment on a line of its own between two items breaks their alignment run. */
  private ownLineCommentBetween(from: number, to: number): boolean {
    return this.comments.some((c) => c.span.start >= from && c.span.start < to && /\n/.test(this.text.slice(from, c.span.start)));
  }
  hasCommentIn(from: number, to: number): boolean {
    return this.commentBetween(from, to);
  }
  private commentBetween(from: number, to: number): boolean {
    return this.comments.some((c) => c.span.start >= from && c.span.start < to);
  }

  /** Whether `e` prints on several lines; must not consume comments, so it only looks. */
  isMultiline(e: Expr, depth: number, offset: number): boolean {
    if (e.kind === "string") return e.raw.includes("\n");
    if (e.kind !== "list") return false;
    if (this.commentBetween(e.span.start, e.span.end)) return true;
    const saved = this.next;
    const flat = this.expr(e, depth, depth * INDENT.length + offset);
    this.next = saved;
    return flat.includes("\n");
  }

  emit(depth: number, s: string) {
    this.line(depth, s);
  }

  expr(e: Expr, depth: number, column: number): string {
    switch (e.kind) {
      case "paren":
        return `(${this.expr(e.inner, depth, column + 1)})`;
      case "not":
        return `not ${this.expr(e.operand, depth, column + 4)}`;
      case "logical":
        return e.operands.map((o) => this.expr(o, depth, column)).join(` ${e.op} `);
      case "compare":
        return `${this.expr(e.left, depth, column)} ${e.op} ${this.expr(e.right, depth, column)}`;
      case "list":
        return this.list(e, depth, column);
      default:
        return exprText(e); // literals and names print exactly as written
    }
  }

  private list(e: Expr & { kind: "list" }, depth: number, column: number): string {
    if (e.items.length === 0 && !this.commentBetween(e.span.start, e.span.end)) return "[]";
    if (!this.commentBetween(e.span.start, e.span.end)) {
      const flat = `[${e.items.map((i) => this.expr(i, depth, column)).join(", ")}]`;
      if (!flat.includes("\n") && column + flat.length <= WIDTH) return flat;
    }
    // One item per line; comments inside the list stay beside their items.
    const inner = depth + 1;
    const lines = ["["];
    e.items.forEach((item, k) => {
      const limit = e.items[k + 1]?.span.start ?? e.span.end - 1;
      for (const c of this.takeBefore(item.span.start)) lines.push(`${INDENT.repeat(inner)}${c.text.trimEnd()}`);
      let text = `${INDENT.repeat(inner)}${this.expr(item, inner, inner * INDENT.length)},`;
      for (const c of [...this.takeBefore(item.span.end), ...this.takeTrailing(item.span.end, limit)]) {
        if (c.text.includes("\n")) text += `\n${INDENT.repeat(inner)}${c.text.trimEnd()}`;
        else text += ` ${c.text.trimEnd()}`;
      }
      // A comment after the comma on the item's line belongs to the item too.
      const commaAt = this.text.indexOf(",", item.span.end);
      if (commaAt !== -1 && commaAt < limit) for (const c of this.takeTrailing(commaAt + 1, limit)) text += ` ${c.text.trimEnd()}`;
      lines.push(text);
    });
    for (const c of this.takeBefore(e.span.end - 1)) lines.push(`${INDENT.repeat(inner)}${c.text.trimEnd()}`);
    lines.push(`${INDENT.repeat(depth)}]`);
    return lines.join("\n");
  }

  /** Prints `head = value` (value may span lines), padding `head` to `width`. */
  assignment(depth: number, head: string, width: number, value: Expr) {
    const prefix = `${head.padEnd(width)} = `;
    const text = this.expr(value, depth, depth * INDENT.length + prefix.length);
    const [first, ...rest] = text.split("\n");
    this.line(depth, `${prefix}${first}`);
    for (const l of rest) this.lines.push(l.trimEnd());
  }
}

function assignmentItem(span: Item["span"], head: string, group: string, value: Expr, depth: number): Item {
  return {
    span,
    alignKey: head,
    alignGroup: group,
    block: false,
    multiline: (p) => p.isMultiline(value, depth, head.length + 3),
    print: (p, w) => p.assignment(depth, head, w, value),
  };
}

function attributeItem(a: Attribute, depth: number): Item {
  return assignmentItem(attributeSpan(a), a.name.name, "attribute", a.value, depth);
}

function block(p: Printer, depth: number, head: string, items: Item[], end: number) {
  p.emit(depth, `${head} {`);
  p.items(depth + 1, items, end, false);
  p.emit(depth, "}");
}

function promiseItem(d: PromiseDecl, depth: number): Item {
  return {
    span: d.span,
    block: true,
    multiline: () => true,
    print: (p) => {
      let head = d.type.name;
      if (d.promiser) head += ` ${p.expr(d.promiser, depth, depth * INDENT.length + head.length + 1)}`;
      if (d.stakeholders) head += ` -> [${d.stakeholders.names.map((n) => n.name).join(", ")}]`;
      if (d.attributes.length === 0) {
        p.emit(depth, `${head} {`);
        p.items(depth + 1, [], d.span.end, false);
        p.emit(depth, "}");
        return;
      }
      block(p, depth, head, d.attributes.map((a) => attributeItem(a, depth + 1)), d.span.end);
    },
  };
}

function blockStatement(span: Item["span"], head: string, items: Item[]): Item {
  return { span, block: true, multiline: () => true, print: (p) => block(p, 0, head, items, span.end) };
}

/** `stakeholder name`, or with one short attribute on one line, or a block. */
function stakeholderItem(s: Statement & { kind: "stakeholder" }): Item {
  const head = `stakeholder ${s.name.name}`;
  const attrs = s.attributes;
  if (attrs === undefined) return { span: s.span, block: false, multiline: () => false, print: (p) => p.emit(0, head) };
  const only = attrs.length === 1 ? attrs[0]! : undefined;
  const inline = (p: Printer) => (only && !p.isMultiline(only.value, 0, 0) && !p.hasCommentIn(s.span.start, s.span.end) ? `${head} { ${only.name.name} = ${p.expr(only.value, 0, 0)} }` : undefined);
  return {
    span: s.span,
    block: false,
    multiline: (p) => inline(p) === undefined,
    print: (p) => {
      const line = inline(p);
      if (line !== undefined && line.length <= WIDTH) p.emit(0, line);
      else block(p, 0, head, attrs.map((a) => attributeItem(a, 1)), s.span.end);
    },
  };
}

function blockItem(i: BlockItem, depth: number): Item {
  return i.kind === "attribute" ? attributeItem(i, depth) : promiseItem(i, depth);
}

function statementItem(s: Statement): Item {
  switch (s.kind) {
    case "import":
      return { span: s.span, block: false, multiline: () => false, print: (p) => p.emit(0, `import ${s.path.raw}`) };
    case "let":
      return assignmentItem(s.span, `let ${s.name.name}`, "let", s.value, 0);
    case "context":
      return assignmentItem(s.span, `context ${s.name.name}`, "context", s.expr, 0);
    case "stakeholder":
      return stakeholderItem(s);
    case "control":
      return blockStatement(s.span, `control ${s.id.raw}`, s.items.map((i) => blockItem(i, 1)));
    case "waiver":
      return blockStatement(s.span, `waiver ${s.control.raw}`, s.attributes.map((a) => attributeItem(a, 1)));
    case "calendar":
      return blockStatement(s.span, "calendar", s.attributes.map((a) => attributeItem(a, 1)));
  }
}

/** Formats a file that parsed without errors. */
export function format(file: SourceFile): string {
  const p = new Printer(file.text, [...file.comments].sort((a, b) => a.span.start - b.span.start));
  p.items(0, file.statements.map(statementItem), file.text.length + 1, true);
  while (p.lines.length > 0 && p.lines.at(-1) === "") p.lines.pop();
  return p.lines.length === 0 ? "" : `${p.lines.join("\n")}\n`;
}
