// Plain aligned tables for terminal output. Cells hold outside text (process names and command
// lines, file names, mount points, account names): each is escaped, so that a name with a line
// break or a terminal escape sequence stays in its cell, on its line, and shows as written.
import { escapeText } from "./escape.js";

export function renderTable(header: string[], rows: string[][]): string {
  const safe = rows.map((r) => r.map(escapeText));
  const widths = header.map((h, i) => Math.max(h.length, ...safe.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...safe.map(line)].join("\n");
}
