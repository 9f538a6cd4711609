// Decoding of literal text: string escapes and `${var}` interpolation, quantity units.
// Pure functions, reused by the checker to validate values typed as strings.
import type { StringPart } from "./ast.js";

export const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
export const sizeUnits: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};
export const otherUnits = ["%", "sigma"];
export const allUnits = [...Object.keys(durationUnits), ...Object.keys(sizeUnits), ...otherUnits];
/** Units the scanner also takes after blanks (`10 MB`), to report them rather than derail (tokens.ts, Quantity). */
export const spacedUnits: readonly string[] = [...Object.keys(durationUnits), ...Object.keys(sizeUnits)];

export function splitQuantity(raw: string): { value: number; unit: string } {
  const m = /^(-?\d+(?:\.\d+)?)[ \t]*(.*)$/.exec(raw)!;
  return { value: Number(m[1]), unit: m[2]! };
}

const escapes: Record<string, string> = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\", $: "$", "0": "\0" };

export interface DecodedString {
  parts: StringPart[];
  problems: { message: string; start: number; end: number }[];
}

/** Whether a string's text has escapes or interpolations to decode (else it stands for itself). */
export function needsDecoding(text: string): boolean {
  return text.indexOf("\\") !== -1 || text.indexOf("$") !== -1;
}

/**
 * Decodes the body of a string literal. `offset` is the source offset of the first character
 * of `body`, or a function from an index in `body` to its source offset (text blocks, whose
 * body is dedented first), so that every part and problem carries a real position.
 */
export function decodeString(body: string, offset: number | ((index: number) => number), file: string): DecodedString {
  const at = typeof offset === "number" ? (i: number) => offset + i : offset;
  if (!needsDecoding(body)) {
    // the common case: nothing to decode (an exact-size array: policies keep millions of these)
    return { parts: body.length > 0 ? [body] : [], problems: [] };
  }
  const parts: StringPart[] = [];
  const problems: DecodedString["problems"] = [];
  let text = "";
  const flush = () => {
    if (text.length > 0) parts.push(text);
    text = "";
  };
  for (let i = 0; i < body.length; ) {
    const ch = body[i]!;
    if (ch === "\\" && i + 1 < body.length) {
      const next = body[i + 1]!;
      const decoded = escapes[next];
      if (decoded === undefined) {
        problems.push({ message: `unknown escape \`\\${next}\``, start: at(i), end: at(i + 2) });
        text += next;
      } else text += decoded;
      i += 2;
      continue;
    }
    if (ch === "$" && body[i + 1] === "{") {
      const close = body.indexOf("}", i + 2);
      const name = close === -1 ? "" : body.slice(i + 2, close);
      if (close === -1 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        const end = close === -1 ? body.length : close + 1;
        problems.push({ message: "`${` must be followed by a variable name and `}`", start: at(i), end: at(end) });
        text += body.slice(i, end);
        i = end;
        continue;
      }
      flush();
      parts.push({ variable: name, file, start: at(i), end: at(close + 1) });
      i = close + 1;
      continue;
    }
    text += ch;
    i++;
  }
  flush();
  return { parts, problems };
}

/**
 * Text blocks drop their first line break, their last line break with the indentation after
 * it, and the indentation common to all non-blank lines. Returns the text and, for each of its
 * indexes, the index in `body` it came from.
 */
export function dedent(body: string): { text: string; origin: (index: number) => number } {
  const first = /^\r?\n/.exec(body)?.[0].length ?? 0;
  const lines = body.slice(first).split("\n");
  const indentOf = (line: string) => {
    let k = 0;
    while (k < line.length && (line.charCodeAt(k) === 32 || line.charCodeAt(k) === 9)) k++;
    return k;
  };
  // a loop, not Math.min(...indents): a text block of 300,000 lines overflowed the stack
  let cut = Infinity;
  for (const l of lines) if (l.trim() !== "") cut = Math.min(cut, indentOf(l));
  if (cut === Infinity) cut = 0;
  // Each line is one piece of the text, from one place in the body: its start in the text and
  // in the body are enough to map every index back (a number per character, and the text
  // built a character at a time, took over 40 bytes per byte of a large text block).
  const pieces: string[] = [];
  const textStarts: number[] = [];
  const bodyStarts: number[] = [];
  let length = 0;
  let pos = first;
  lines.forEach((line, n) => {
    const drop = Math.min(cut, indentOf(line));
    textStarts.push(length);
    bodyStarts.push(pos + drop);
    // the line break after a line maps to the body's line break, right after the piece
    const piece = n < lines.length - 1 ? `${line.slice(drop)}\n` : line.slice(drop);
    pieces.push(piece);
    length += piece.length;
    pos += line.length + 1;
  });
  let text = pieces.join("");
  const trailing = /\n[ \t]*$/.exec(text);
  if (trailing) text = text.slice(0, trailing.index);
  const origin = (i: number): number => {
    if (i >= length) return body.length;
    let lo = 0;
    let hi = textStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (textStarts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return bodyStarts[lo]! + (i - textStarts[lo]!);
  };
  return { text, origin };
}

export function isValidDate(raw: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-](\d{2}):(\d{2}))?)?$/.exec(raw);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1) return false;
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d > daysInMonth) return false;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || (m[6] !== undefined && Number(m[6]) > 59))) return false;
  if (m[8] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59)) return false;
  return true;
}
