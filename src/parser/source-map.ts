// The texts of a policy's files (and of covenant.yaml beside them), for turning a span's offsets
// into lines and columns: what the command line's diagnostics, the language server and the
// configuration's check all place their findings with. Beside LineIndex, which it holds one of per file.
import type { SourceFile } from "./ast.js";
import { LineIndex, type Span } from "./diagnostics.js";

// Line indexes are built on first use: a clean run of a large policy needs none, and the
// index of a 20,000-promise file took 15 ms to build.
export class SourceMap {
  private readonly texts = new Map<string, string>();
  private readonly indexes = new Map<string, LineIndex>();
  constructor(files: SourceFile[]) {
    for (const f of files) this.texts.set(f.path, f.text);
  }
  /** Another file's text, for excerpts under its diagnostics (covenant.yaml beside the policy). */
  add(path: string, text: string): void {
    this.texts.set(path, text);
    this.indexes.delete(path);
  }
  /** A file's text, when it is held. */
  text(file: string): string | undefined {
    return this.texts.get(file);
  }
  index(file: string): LineIndex | undefined {
    let idx = this.indexes.get(file);
    if (idx === undefined) {
      const text = this.texts.get(file);
      if (text === undefined) return undefined;
      this.indexes.set(file, (idx = new LineIndex(text)));
    }
    return idx;
  }
  position(span: Span): { line: number; column: number; endLine: number; endColumn: number } {
    const idx = this.index(span.file);
    if (!idx) return { line: 1, column: 1, endLine: 1, endColumn: 1 };
    const s = idx.position(span.start);
    const e = idx.position(span.end);
    return { line: s.line, column: s.column, endLine: e.line, endColumn: e.column };
  }
}
