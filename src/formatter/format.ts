// The canonical layout. Printing is driven by the AST (so layout never depends on how the
// author spaced things) while comments are carried along by position: each comment is
// printed before the node it precedes, or after the node it follows on the same line.
import { exprText, type Comment, type Expr, type SourceFile } from "../parser/ast.js";
import { INDENT, Item, WIDTH } from "./items.js";

export class Printer {
  // The output: `done` holds finished text, joined a few thousand lines at a time; `lines` the
  // lines after it, which may still change (the last one, and those whose trailing comments are
  // still to be lined up). One string per line kept to the end was a third of what formatting
  // a large file held.
  private readonly done: string[] = [];
  private lines: string[] = [];
  /** the output line number of lines[0] */
  private base = 0;
  /** per items() being printed: the first output line it may still change (Infinity: none) */
  private readonly pins: number[] = [];
  private next = 0;
  constructor(
    private readonly text: string,
    private readonly comments: Comment[],
    /** lines gathered before settling (small in tests, to exercise it) */
    private readonly settleEvery = 8192,
  ) {}

  // No trimming here: a text block's lines must come out byte for byte.
  private line(depth: number, s: string) {
    this.lines.push(`${INDENT.repeat(depth)}${s}`);
  }
  private blank() {
    // Known by line number, not by the text: a comment ending in `{` (`# {`) opens nothing, and a
    // blank line after it must stay, or formatting the output again joins it to the next run.
    if (this.base + this.lines.length > 0 && this.lines.at(-1) !== "" && this.base + this.lines.length - 1 !== this.openedAt) this.lines.push("");
  }
  private hasBlankLineBetween(from: number, to: number): boolean {
    return /\n[ \t\r]*\n/.test(this.text.slice(from, to));
  }
  /** Whether a line ends between two offsets: looks no further than the first line end. */
  private hasNewlineBetween(from: number, to: number): boolean {
    const at = this.text.indexOf("\n", from);
    return at !== -1 && at < to;
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
      if (c.start >= limit || this.hasNewlineBetween(end, c.start)) break;
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
        onLine = this.base + this.lines.length - 1;
        this.lines[this.lines.length - 1] += ` ${c.text.trimEnd()}`;
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
    // each run's alignment, found once for the whole run: finding it again for every item
    // made formatting 20,000 aligned lines take 18 s
    const runs = new Map<number, { width: number; start: number }>();
    const frame = this.pins.push(Infinity) - 1;
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
      const run = item.alignKey === undefined ? { width: 0, start: -1 - i } : (runs.get(i) ?? this.alignRuns(items, i, runs));
      // a run is over when the next begins: its comments line up now, and its lines are settled
      if (trailing.length > 0 && trailing[0]!.run !== run.start) this.alignTrailing(trailing, frame);
      item.print(this, run.width);
      const codeLength = lastLineLength(this.lines.at(-1) ?? "");
      // The first comment inside the item or after it on its line goes at the end of that
      // line. Any others are left for the next item (or the block's end) to print as its
      // leading comments: that is where they are found when the output is formatted again.
      const mark = this.next;
      const after = [...this.takeBefore(item.end), ...this.takeTrailing(item.end, Math.min(closeAt, items[i + 1]?.start ?? closeAt))];
      if (after.length > 1) this.next = mark + 1;
      const onLine = this.appendTrailing(depth, after.slice(0, 1));
      if (onLine !== undefined) {
        trailing.push({ line: onLine, codeLength, run: run.start });
        this.pins[frame] = Math.min(this.pins[frame]!, onLine);
      }
      prevEnd = item.end;
      prev = item;
      this.settle();
    }
    this.alignTrailing(trailing, frame);
    this.pins.pop();
    const rest = this.takeBefore(closeAt);
    if (rest.length > 0 && prevEnd !== -1 && this.hasBlankLineBetween(prevEnd, rest[0]!.start)) this.blank();
    for (const c of rest) this.line(depth, c.text.trimEnd());
  }

  /** Lines up the trailing comments of one run (at the column of its longest line), and unpins its lines. */
  private alignTrailing(trailing: { line: number; codeLength: number; run: number }[], frame: number): void {
    let column = 0;
    for (const t of trailing) column = Math.max(column, t.codeLength);
    for (const t of trailing) {
      const text = this.lines[t.line - this.base]!;
      // an entry may hold several lines (assignment): the comment is on its last
      const lineStart = text.length - lastLineLength(text);
      this.lines[t.line - this.base] = text.slice(0, lineStart + t.codeLength).padEnd(lineStart + column) + text.slice(lineStart + t.codeLength);
    }
    trailing.length = 0;
    this.pins[frame] = Infinity;
  }

  /** Moves the lines nothing can change any more into `done`, a few thousand at a time. */
  private settle(): void {
    if (this.lines.length < this.settleEvery) return;
    let firstPinned = Infinity;
    for (const pin of this.pins) firstPinned = Math.min(firstPinned, pin);
    // the last line stays: a comment or a blank line may still be added after it
    const count = Math.min(this.lines.length - 1, firstPinned - this.base);
    if (count < this.settleEvery / 2) return;
    this.done.push(this.lines.slice(0, count).join("\n"));
    this.lines = this.lines.slice(count);
    this.base += count;
  }

  /** The text printed, ending with one line break (empty when nothing was printed). */
  output(): string {
    while (this.lines.length > 0 && this.lines.at(-1) === "") this.lines.pop();
    if (this.lines.length === 0) {
      // only blank lines after the last settled text: it ends there
      while (this.done.length > 0 && this.done.at(-1)!.endsWith("\n")) this.done[this.done.length - 1] = this.done.at(-1)!.slice(0, -1);
      if (this.done.length === 0) return "";
    }
    this.lines.push(""); // the final line break, joined in rather than appended to a copy
    return [...this.done, ...this.lines].join("\n");
  }

  /**
   * The runs of aligned items around `i`, recorded in `runs` for every item they hold; returns
   * `i`'s. A run is consecutive `name = value` items of one kind, with no blank line or comment
   * line between them, none holding a comment, and each printing on a single line at the run's
   * padded column. An item whose value would not fit on one line at that column prints on its
   * own (at its own width) and splits the run in two, each aligned anew. Decided from the AST
   * and comment positions only, so that formatting the output again decides the same.
   */
  private alignRuns(items: Item[], i: number, runs: Map<number, { width: number; start: number }>): { width: number; start: number } {
    const own = (k: number) => ({ width: items[k]!.alignKey?.length ?? 0, start: -1 - k });
    const candidate = (x: Item) => x.alignKey !== undefined && x.value !== undefined;
    if (!candidate(items[i]!)) return own(i);
    const joined = (a: Item, b: Item) => candidate(a) && candidate(b) && a.alignGroup === b.alignGroup && !this.breaksRun(a, b);
    let first = i;
    while (first > 0 && joined(items[first - 1]!, items[first]!)) first--;
    let last = i;
    while (last < items.length - 1 && joined(items[last]!, items[last + 1]!)) last++;
    // ranges still to align; the first item that breaks a range prints on its own and leaves
    // the items before it and after it to be aligned apart
    const pending: [number, number][] = [[first, last]];
    while (pending.length > 0) {
      const [lo, hi] = pending.pop()!;
      if (lo > hi) continue;
      let w = 0;
      for (let k = lo; k <= hi; k++) w = Math.max(w, items[k]!.alignKey!.length);
      let breaking = -1;
      for (let k = lo; k <= hi && breaking === -1; k++) {
        const x = items[k]!;
        if (this.rendersMultiline(x.value!, x.depth, x.depth * INDENT.length + w + 3)) breaking = k;
      }
      if (breaking === -1) {
        for (let k = lo; k <= hi; k++) runs.set(k, { width: w, start: lo });
        continue;
      }
      runs.set(breaking, own(breaking));
      pending.push([lo, breaking - 1], [breaking + 1, hi]);
    }
    return runs.get(i)!;
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
      if (c.start >= a.end && this.hasNewlineBetween(a.end, c.start)) return true;
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
    const k = this.firstCommentAtOrAfter(from);
    return k < this.comments.length && this.comments[k]!.start < to;
  }

  /** Whether `e` prints on several lines at `column`; it only looks (no comment is consumed). */
  rendersMultiline(e: Expr, depth: number, column: number): boolean {
    const saved = this.next;
    // a list is decided without printing it on several lines: a list of a million items would
    // be printed whole only to find a line break in it
    let multiline: boolean;
    if (e.kind === "list") multiline = this.commentBetween(e.start, e.end) || (e.items.length > 0 && this.flatList(e, depth, column) === undefined);
    else multiline = this.expr(e, depth, column).includes("\n");
    this.next = saved;
    return multiline;
  }

  emit(depth: number, s: string) {
    this.line(depth, s);
  }

  /** the output line number of the last line that opened a block, whatever comment was appended to it */
  private openedAt = -1;

  /** A line that opens a block: `head {`. */
  open(depth: number, head: string) {
    this.line(depth, `${head} {`);
    this.openedAt = this.base + this.lines.length - 1;
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
      const flat = this.flatList(e, depth, column);
      if (flat !== undefined) return flat;
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

  /** The list on one line, if it fits there: given up as soon as it cannot (a list may be 10 MB). */
  private flatList(e: Expr & { kind: "list" }, depth: number, column: number): string | undefined {
    let flat = "[";
    for (const item of e.items) {
      const text = this.expr(item, depth, column);
      if (text.includes("\n")) return undefined;
      flat += flat.length > 1 ? `, ${text}` : text;
      if (column + flat.length + 1 > WIDTH) return undefined;
    }
    return `${flat}]`;
  }

  /** Prints `head = value` (value may span lines), padding `head` to `width`. */
  assignment(depth: number, head: string, width: number, value: Expr) {
    const prefix = `${head.padEnd(width)} = `;
    const text = this.expr(value, depth, depth * INDENT.length + prefix.length);
    // the lines after the first go in as one entry, not split: a list of a million items would
    // be a million strings more (entries are joined with line breaks in the end all the same)
    const lineEnd = text.indexOf("\n");
    if (lineEnd === -1) this.line(depth, `${prefix}${text}`);
    else {
      this.line(depth, `${prefix}${text.slice(0, lineEnd)}`);
      this.lines.push(text.slice(lineEnd + 1));
    }
  }
}

/** The length of the last line of a text that may hold several. */
function lastLineLength(text: string): number {
  return text.length - (text.lastIndexOf("\n") + 1);
}


/** Formats a file that parsed without errors. `settleEvery` is for tests: how often finished lines are joined. */
export function format(file: SourceFile, options: { settleEvery?: number } = {}): string {
  const p = new Printer(file.text, [...file.comments].sort((a, b) => a.start - b.start), options.settleEvery);
  p.items(0, file.statements.map((st) => new Item(st, 0)), file.text.length + 1, true);
  return p.output();
}
