// Re-parsing only what an edit touched. The parser reads each top-level declaration on its own,
// starting afresh at its keyword (parse.ts), so in a file that parsed without a problem, the
// declarations an edit did not touch parse as they did: only the declarations from the one
// holding the edit's start to the one holding its end are parsed again, at their own offsets,
// and those after them are moved by what the edit added or removed. Anything less simple (a
// file that had syntax errors, an edit that makes one, an edit outside every declaration) is
// parsed whole, so the result is always what parseSource gives for the whole text
// (test/lsp/incremental.test.ts holds the two against each other over random edits).
import type { Comment, SourceFile, Statement } from "../parser/ast.js";
import { parseSource } from "../parser/parse.js";

/** What one edit changed: `before` is the text it was made on; offsets are in it (`oldEnd`) and in the text it made (`newEnd`). */
export interface TextEdit {
  before: string;
  start: number;
  oldEnd: number;
  newEnd: number;
}

/**
 * The parse of `text`, reusing `old` (the parse of the file's previous text) where it can.
 * `edit`, when it was made on `old`'s text, says where the two differ (the editor said so);
 * otherwise they are compared.
 */
export function reparse(old: SourceFile | undefined, path: string, text: string, edit?: TextEdit): SourceFile {
  if (old === undefined || old.path !== path || old.diagnostics.length > 0 || old.dropped !== undefined || old.incomplete.length > 0 || old.statements.length === 0) return parseSource(path, text);
  // the editor's word for where the text changed, when it was said of the text parsed (the same
  // string, so this comparison is of two pointers): no comparison of two long texts is needed
  if (edit !== undefined && edit.before === old.text) return spliced(old, path, text, edit);
  if (old.text === text) return old;
  return spliced(old, path, text, changed(old.text, text));
}

function spliced(old: SourceFile, path: string, text: string, edit: { start: number; oldEnd: number }): SourceFile {
  const { statements } = old;
  // the declarations the edit touches: from the last one starting at or before it, to the first one ending at or after its end
  let first = -1;
  for (let lo = 0, hi = statements.length - 1; lo <= hi; ) {
    const mid = (lo + hi) >> 1;
    if (statements[mid]!.start <= edit.start) {
      first = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (first === -1) return parseSource(path, text);
  let last = statements.length;
  for (let lo = first, hi = statements.length - 1; lo <= hi; ) {
    const mid = (lo + hi) >> 1;
    if (statements[mid]!.end >= edit.oldEnd) {
      last = mid;
      hi = mid - 1;
    } else lo = mid + 1;
  }
  // past the last declaration (trailing comments): parsed whole, rare enough
  if (last === statements.length) return parseSource(path, text);
  const from = statements[first]!.start;
  const oldTo = statements[last]!.end;
  const delta = text.length - old.text.length;
  // the region parsed alone, then moved to where it stands in the file. Parsed from a copy of
  // its characters, not from a slice of the text: the names and strings the parser cuts from a
  // slice would share (and so keep alive) the whole text of this version, a copy of the file
  // kept by every edit's declarations for as long as they stand (1.3 MB an edit at 20,000 promises)
  const region = parseSource(path, detached(text.slice(from, oldTo + delta)));
  if (region.diagnostics.length > 0 || region.dropped !== undefined || region.incomplete.length > 0) return parseSource(path, text);
  for (const s of region.statements) shift(s, from);
  const after = statements.slice(last + 1);
  if (delta !== 0) for (const s of after) shift(s, delta);
  const moved = (c: Comment, by: number): Comment => (by === 0 ? c : { ...c, start: c.start + by, end: c.end + by });
  const comments = [...old.comments.filter((c) => c.end <= from), ...region.comments.map((c) => moved(c, from)), ...old.comments.filter((c) => c.start >= oldTo).map((c) => moved(c, delta))];
  return { path, text, statements: [...statements.slice(0, first), ...region.statements, ...after], comments, diagnostics: [], incomplete: [] };
}

/**
 * The same characters in a string of their own. V8 makes a slice of a long string (13 characters
 * or more) a view into it, and a slice of a view a view into the original: a JSON round trip
 * (exact for every string, lone surrogates included) copies them instead.
 */
function detached(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/** Where two texts differ: the offset of the first difference, and where the differing part ends in the old text and in the new. */
function changed(before: string, after: string): { start: number; oldEnd: number; newEnd: number } {
  const max = Math.min(before.length, after.length);
  // the common prefix and suffix, found by comparing slices (memory compares) with a binary search
  let lo = 0;
  let hi = max;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (before.slice(lo, mid) === after.slice(lo, mid)) lo = mid;
    else hi = mid - 1;
  }
  const start = lo;
  lo = 0;
  hi = max - start;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (before.slice(before.length - mid, before.length - lo) === after.slice(after.length - mid, after.length - lo)) lo = mid;
    else hi = mid - 1;
  }
  return { start, oldEnd: before.length - lo, newEnd: after.length - lo };
}

/** Moves every range in a declaration by `delta` (every node is a range: see ast.ts). */
function shift(root: Statement, delta: number): void {
  if (delta === 0) return;
  const stack: object[] = [root];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    const n = node as Record<string, unknown>;
    if (typeof n["start"] === "number" && typeof n["file"] === "string") {
      n["start"] = (n["start"] as number) + delta;
      n["end"] = (n["end"] as number) + delta;
    }
    for (const key of Object.keys(n)) {
      const v = n[key];
      if (v !== null && typeof v === "object") stack.push(v);
    }
  }
}
