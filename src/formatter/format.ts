// The canonical layout. Printing is driven by the AST (so layout never depends on how the
// author spaced things) while comments are carried along by position: each comment is
// printed before the node it precedes, or after the node it follows on the same line.
import type { Span } from "../parser/diagnostics.js";
import { exprText, type Attribute, type BlockItem, type Comment, type Expr, type PromiseDecl, type SourceFile, type Statement } from "../parser/ast.js";

type Range = Pick<Span, "start" | "end">;

const INDENT = "  ";
const WIDTH = 100;

interface Item {
  /** where the item is in the source (offsets), to place the comments around it */
  start: number;
  end: number;
  /** the text before `=` for alignment, when the item is `name = value` */
  alignKey?: string;
  /** only items of the same group align with each other */
  alignGroup?: string;
  /** the value after `=`, for items that align */
  value?: Expr;
  depth: number;
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

  // No trimming here: a text block's lines must come out byte for byte.
  private line(depth: number, s: string) {
    this.lines.push(`${INDENT.repeat(depth)}${s}`);
  }
  /** the index of the last line that opened a block, whatever comment was appended to it */
  private openedAt = -1;
  private blank() {
    // Known by index, not by the text: a comment ending in `{` (`# {`) opens nothing, and a
    // blank line after it must stay, or formatting the output again joins it to the next run.
    if (this.lines.length > 0 && this.lines.at(-1) !== "" && this.lines.length - 1 !== this.openedAt) this.lines.push("");
  }
  private hasBlankLineBetween(from: number, to: number): boolean {
    return /\n[ \t\r]*\n/.test(this.text.slice(from, to));
  }

  /** Comments that start before `offset` and have not been printed yet. */
  private takeBefore(offset: number): Comment[] {
    const out: Comment[] = [];
    while (this.next < this.comments.length && this.comments[this.next]!.start < offset) out.push(this.comments[this.next++]!);
    return out;
  }
  /** Comments after `end` on the same source line, up to `limit` (the end of the enclosing block). */
  private takeTrailing(end: number, limit = Infinity): Comment[] {
    const out: Comment[] = [];
    while (this.next < this.comments.length) {
      const c = this.comments[this.next]!;
      if (c.start >= limit || /\n/.test(this.text.slice(end, c.start))) break;
      out.push(c);
      this.next++;
    }
    return out;
  }
  /** Appends comments after the last line; returns that line's index when one went on it. */
  private appendTrailing(depth: number, comments: Comment[]): number | undefined {
    let onLine: number | undefined;
    comments.forEach((c, i) => {
      // the first stays on the item's line even when it is a block comment spanning lines,
      // so that it is still trailing the next time the file is formatted
      if (i === 0 && this.lines.length > 0) {
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
      const gapStart = prevEnd === -1 ? item.start : prevEnd;
      const leading = this.takeBefore(item.start);
      const firstStart = leading[0]?.start ?? item.start;
      if (prev && (this.hasBlankLineBetween(gapStart, firstStart) || (separateBlocks && (prev.block || item.block)))) this.blank();
      for (const c of leading) {
        this.line(depth, c.text.trimEnd());
        if (this.hasBlankLineBetween(c.end, item.start) && c === leading.at(-1)) this.blank();
      }
      const run = item.alignKey === undefined ? { width: 0, start: -1 - i } : this.alignRun(items, i);
      item.print(this, run.width);
      const codeLength = this.lines.at(-1)?.length ?? 0;
      // The first comment inside the item or after it on its line goes at the end of that
      // line. Any others are left for the next item (or the block's end) to print as its
      // leading comments: that is where they are found when the output is formatted again.
      const mark = this.next;
      const after = [...this.takeBefore(item.end), ...this.takeTrailing(item.end, Math.min(closeAt, items[i + 1]?.start ?? closeAt))];
      if (after.length > 1) this.next = mark + 1;
      const onLine = this.appendTrailing(depth, after.slice(0, 1));
      if (onLine !== undefined) trailing.push({ line: onLine, codeLength, run: run.start });
      prevEnd = item.end;
      prev = item;
    }
    for (const t of trailing) {
      const column = Math.max(...trailing.filter((u) => u.run === t.run).map((u) => u.codeLength));
      const text = this.lines[t.line]!;
      this.lines[t.line] = text.slice(0, t.codeLength).padEnd(column) + text.slice(t.codeLength);
    }
    const rest = this.takeBefore(closeAt);
    if (rest.length > 0 && prevEnd !== -1 && this.hasBlankLineBetween(prevEnd, rest[0]!.start)) this.blank();
    for (const c of rest) this.line(depth, c.text.trimEnd());
  }

  /**
   * The run of aligned items that `i` belongs to: where it starts and the width of its `name`
   * column. A run is consecutive `name = value` items of one kind, with no blank line or
   * comment line between them, none holding a comment, and each printing on a single line
   * at the run's padded column. Decided from the AST and comment positions only, so that
   * formatting the output again decides the same.
   */
  private alignRun(items: Item[], i: number): { width: number; start: number } {
    const own = { width: items[i]!.alignKey?.length ?? 0, start: -1 - i };
    const candidate = (x: Item) => x.alignKey !== undefined && x.value !== undefined;
    if (!candidate(items[i]!)) return own;
    const joined = (a: Item, b: Item) => candidate(a) && candidate(b) && a.alignGroup === b.alignGroup && !this.breaksRun(a, b);
    let lo = i;
    while (lo > 0 && joined(items[lo - 1]!, items[lo]!)) lo--;
    let hi = i;
    while (hi < items.length - 1 && joined(items[hi]!, items[hi + 1]!)) hi++;
    for (;;) {
      let w = 0;
      for (let k = lo; k <= hi; k++) w = Math.max(w, items[k]!.alignKey!.length);
      let breaking = -1;
      for (let k = lo; k <= hi && breaking === -1; k++) {
        const x = items[k]!;
        if (this.rendersMultiline(x.value!, x.depth, x.depth * INDENT.length + w + 3)) breaking = k;
      }
      if (breaking === -1) return { width: w, start: lo };
      if (breaking === i) return own;
      if (breaking < i) lo = breaking + 1;
      else hi = breaking - 1;
    }
  }
  /**
   * Whether `a` and `b` cannot share an alignment run. Decided as the output will look, so
   * that formatting twice decides the same: comments inside `a` end up after it on its line;
   * the first comment after `a` stays on its line and any other goes on a line of its own;
   * a comment spanning lines, a comment line or a blank line separates runs.
   */
  private breaksRun(a: Item, b: Item): boolean {
    if (this.hasBlankLineBetween(a.end, b.start)) return true;
    let onLine = 0;
    for (let k = this.firstCommentAtOrAfter(a.start); k < this.comments.length; k++) {
      const c = this.comments[k]!;
      if (c.start >= b.start) break;
      if (c.text.includes("\n")) return true;
      if (c.start >= a.end && /\n/.test(this.text.slice(a.end, c.start))) return true;
      onLine++;
    }
    return onLine > 1;
  }

  private firstCommentAtOrAfter(offset: number): number {
    let lo = 0;
    let hi = this.comments.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.comments[mid]!.start < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  hasCommentIn(from: number, to: number): boolean {
    return this.commentBetween(from, to);
  }
  private commentBetween(from: number, to: number): boolean {
    return this.comments.some((c) => c.start >= from && c.start < to);
  }

  /** Whether `e` prints on several lines at `column`; it only looks (no comment is consumed). */
  rendersMultiline(e: Expr, depth: number, column: number): boolean {
    const saved = this.next;
    const text = this.expr(e, depth, column);
    this.next = saved;
    return text.includes("\n");
  }

  emit(depth: number, s: string) {
    this.line(depth, s);
  }

  /** A line that opens a block: `head {`. */
  open(depth: number, head: string) {
    this.line(depth, `${head} {`);
    this.openedAt = this.lines.length - 1;
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
    if (e.items.length === 0 && !this.commentBetween(e.start, e.end)) return "[]";
    if (!this.commentBetween(e.start, e.end)) {
      const flat = `[${e.items.map((i) => this.expr(i, depth, column)).join(", ")}]`;
      if (!flat.includes("\n") && column + flat.length <= WIDTH) return flat;
    }
    // One item per line; comments inside the list stay beside their items.
    const inner = depth + 1;
    const lines = ["["];
    e.items.forEach((item, k) => {
      const limit = e.items[k + 1]?.start ?? e.end - 1;
      for (const c of this.takeBefore(item.start)) lines.push(`${INDENT.repeat(inner)}${c.text.trimEnd()}`);
      let text = `${INDENT.repeat(inner)}${this.expr(item, inner, inner * INDENT.length)},`;
      const after = [...this.takeBefore(item.end), ...this.takeTrailing(item.end, limit)];
      // A comment after the comma on the item's line belongs to the item too.
      const commaAt = this.text.indexOf(",", item.end);
      if (commaAt !== -1 && commaAt < limit) after.push(...this.takeTrailing(commaAt + 1, limit));
      // the first stays on the item's line; after a line comment nothing else can
      after.forEach((c, i) => (text += i === 0 ? ` ${c.text.trimEnd()}` : `\n${INDENT.repeat(inner)}${c.text.trimEnd()}`));
      lines.push(text);
    });
    for (const c of this.takeBefore(e.end - 1)) lines.push(`${INDENT.repeat(inner)}${c.text.trimEnd()}`);
    lines.push(`${INDENT.repeat(depth)}]`);
    return lines.join("\n");
  }

  /** Prints `head = value` (value may span lines), padding `head` to `width`. */
  assignment(depth: number, head: string, width: number, value: Expr) {
    const prefix = `${head.padEnd(width)} = `;
    const text = this.expr(value, depth, depth * INDENT.length + prefix.length);
    const [first, ...rest] = text.split("\n");
    this.line(depth, `${prefix}${first}`);
    for (const l of rest) this.lines.push(l);
  }
}

function assignmentItem(range: Range, head: string, group: string, value: Expr, depth: number): Item {
  return { start: range.start, end: range.end, alignKey: head, alignGroup: group, value, depth, block: false, print: (p, w) => p.assignment(depth, head, w, value) };
}

function attributeItem(a: Attribute, depth: number): Item {
  return assignmentItem(a, a.name, "attribute", a.value, depth);
}

function block(p: Printer, depth: number, head: string, items: Item[], end: number) {
  p.open(depth, head);
  p.items(depth + 1, items, end, false);
  p.emit(depth, "}");
}

function promiseItem(d: PromiseDecl, depth: number): Item {
  return {
    start: d.start,
    end: d.end,
    depth,
    block: true,
    print: (p) => {
      let head = d.type;
      if (d.promiser) head += ` ${p.expr(d.promiser, depth, depth * INDENT.length + head.length + 1)}`;
      if (d.stakeholders) head += ` -> [${d.stakeholders.names.map((n) => n.name).join(", ")}]`;
      if (d.attributes.length === 0) {
        p.open(depth, head);
        p.items(depth + 1, [], d.end, false);
        p.emit(depth, "}");
        return;
      }
      block(p, depth, head, d.attributes.map((a) => attributeItem(a, depth + 1)), d.end);
    },
  };
}

function blockStatement(range: Range, head: string, items: Item[]): Item {
  return { start: range.start, end: range.end, depth: 0, block: true, print: (p) => block(p, 0, head, items, range.end) };
}

/** `stakeholder name`, or with one short attribute on one line, or a block. */
function stakeholderItem(s: Statement & { kind: "stakeholder" }): Item {
  const head = `stakeholder ${s.name.name}`;
  const attrs = s.attributes;
  if (attrs === undefined) return { start: s.start, end: s.end, depth: 0, block: false, print: (p) => p.emit(0, head) };
  const only = attrs.length === 1 ? attrs[0]! : undefined;
  const inline = (p: Printer) => {
    const prefix = `${head} { ${only?.name} = `;
    if (!only || p.hasCommentIn(s.start, s.end) || p.rendersMultiline(only.value, 0, prefix.length)) return undefined;
    return `${prefix}${p.expr(only.value, 0, prefix.length)} }`;
  };
  return {
    start: s.start,
    end: s.end,
    depth: 0,
    block: false,
    print: (p) => {
      const line = inline(p);
      if (line !== undefined && line.length <= WIDTH) p.emit(0, line);
      else block(p, 0, head, attrs.map((a) => attributeItem(a, 1)), s.end);
    },
  };
}

function blockItem(i: BlockItem, depth: number): Item {
  return i.kind === "attribute" ? attributeItem(i, depth) : promiseItem(i, depth);
}

function statementItem(s: Statement): Item {
  switch (s.kind) {
    case "import":
      return { start: s.start, end: s.end, depth: 0, block: false, print: (p) => p.emit(0, `import ${s.path.raw}`) };
    case "let":
      return assignmentItem(s, `let ${s.name.name}`, "let", s.value, 0);
    case "context":
      return assignmentItem(s, `context ${s.name.name}`, "context", s.expr, 0);
    case "stakeholder":
      return stakeholderItem(s);
    case "control":
      return blockStatement(s, `control ${s.id.raw}`, s.items.map((i) => blockItem(i, 1)));
    case "waiver":
      return blockStatement(s, `waiver ${s.control.raw}`, s.attributes.map((a) => attributeItem(a, 1)));
    case "calendar":
      return blockStatement(s, "calendar", s.attributes.map((a) => attributeItem(a, 1)));
  }
}

/** Formats a file that parsed without errors. */
export function format(file: SourceFile): string {
  const p = new Printer(file.text, [...file.comments].sort((a, b) => a.start - b.start));
  p.items(0, file.statements.map(statementItem), file.text.length + 1, true);
  while (p.lines.length > 0 && p.lines.at(-1) === "") p.lines.pop();
  return p.lines.length === 0 ? "" : `${p.lines.join("\n")}\n`;
}
