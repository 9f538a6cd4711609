// Where the cursor stands while the author types: a file being edited rarely parses, so the
// blocks around the cursor are found from the text itself (braces, skipping strings and
// comments), from the start of the declaration that holds the cursor.
import type { SourceFile } from "../parser/ast.js";

export interface Block {
  /** the header's first word: `control`, `waiver`, a promise type… */
  keyword: string;
  header: string;
}

export interface Cursor {
  /** the blocks the cursor is inside, outermost first */
  blocks: Block[];
  /** the text of the cursor's line before it */
  linePrefix: string;
  /** inside a string: the text of the string before the cursor */
  inString?: string;
}

/** Where the declaration holding `offset` starts: scanning from there is enough. */
export function declarationStart(file: SourceFile | undefined, offset: number): number {
  let from = 0;
  for (const s of file?.statements ?? []) {
    if (s.start > offset) break;
    from = s.start;
  }
  return from;
}

export function cursorAt(text: string, offset: number, from = 0): Cursor {
  const blocks: Block[] = [];
  let headerStart = from;
  let brackets = 0;
  let stringStart = -1;
  let i = from;
  while (i < offset) {
    const c = text[i]!;
    if (c === '"') {
      const triple = text.startsWith('"""', i);
      const close = triple ? text.indexOf('"""', i + 3) : closingQuote(text, i + 1);
      if (close === -1 || close >= offset) {
        stringStart = i + (triple ? 3 : 1);
        break;
      }
      i = close + (triple ? 3 : 1);
      continue;
    }
    if (c === "/" && text[i + 1] === "*") {
      const close = text.indexOf("*/", i + 2);
      if (close === -1 || close + 2 > offset) return { blocks, linePrefix: "" };
      i = close + 2;
      continue;
    }
    if (c === "#" || (c === "/" && text[i + 1] === "/")) {
      const eol = text.indexOf("\n", i);
      if (eol === -1 || eol >= offset) return { blocks, linePrefix: "" };
      i = eol;
      continue;
    }
    if (c === "[") brackets++;
    else if (c === "]") brackets = Math.max(0, brackets - 1);
    else if (c === "{") {
      const header = text.slice(headerStart, i).trim();
      blocks.push({ keyword: /^[A-Za-z_][A-Za-z0-9_]*/.exec(header)?.[0] ?? "", header });
      headerStart = i + 1;
      brackets = 0;
    } else if (c === "}") {
      blocks.pop();
      headerStart = i + 1;
      brackets = 0;
    } else if (c === "\n" && brackets === 0) headerStart = i + 1;
    i++;
  }
  const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
  const cursor: Cursor = { blocks, linePrefix: text.slice(lineStart, offset) };
  if (stringStart !== -1) cursor.inString = text.slice(stringStart, offset);
  return cursor;
}

/** The index of the `"` that closes a string opened before `i`, or -1 when the line ends first. */
function closingQuote(text: string, i: number): number {
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") i++;
    else if (c === '"') return i;
    else if (c === "\n") return -1;
  }
  return -1;
}
