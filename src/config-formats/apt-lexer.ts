// The lexical rules of apt.conf(5), as apt's ReadConfigFile applies them to each physical line
// (apt-pkg/contrib/configuration.cc, strutl.cc): tabs become eight blanks, blanks around the line
// go, `//` and `#` comments end the line and `/* */` comments are cut out (each unless an odd
// number of `"` precede it on the line; `#clear`, `#include` and `#x-apt-configure-index` are
// directives, not comments). Every character kept remembers its offset on the raw line, so that
// a repair can change a value where it is written.

/** Text with, for each of its characters, its offset on the raw line. */
export interface Mapped {
  text: string;
  at: number[];
}

/** C's isspace: what apt strips and what separates words. */
export const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";

const directives = ["clear", "include", "x-apt-configure-index"];

const slice = (m: Mapped, from: number, to = m.text.length): Mapped => ({ text: m.text.slice(from, to), at: m.at.slice(from, to) });

/**
 * Whether an odd number of `"` precede each position asked, on `text` from `from`; positions
 * must be asked in increasing order, so that a line is scanned once (the text may be an
 * attacker's: rescanning it for each `//` would take time quadratic in its length).
 */
function quoteParity(text: string, from = 0): (at: number) => boolean {
  let scanned = from;
  let quotes = 0;
  return (at: number) => {
    for (; scanned < at; scanned++) if (text[scanned] === '"') quotes++;
    return quotes % 2 !== 0;
  };
}

/** The line with tabs expanded and surrounding blanks removed (APT::String::Strip). */
export function expandAndStrip(raw: string): Mapped {
  const out: Mapped = { text: "", at: [] };
  for (let i = 0; i < raw.length; i++) {
    const piece = raw[i] === "\t" ? "        " : raw[i]!;
    out.text += piece;
    for (let k = 0; k < piece.length; k++) out.at.push(i);
  }
  let from = 0;
  let to = out.text.length;
  while (from < to && isSpace(out.text[from])) from++;
  while (to > from && isSpace(out.text[to - 1])) to--;
  return slice(out, from, to);
}

/** The line without its `//` and `#` comments. */
function dropLineComments(line: Mapped): Mapped {
  let start = 0;
  let quoted = quoteParity(line.text);
  while ((start = line.text.indexOf("//", start)) >= 0) {
    if (quoted(start)) {
      start++;
      continue;
    }
    line = slice(line, 0, start);
    break;
  }
  start = 0;
  quoted = quoteParity(line.text);
  while ((start = line.text.indexOf("#", start)) >= 0) {
    if (quoted(start) || directives.some((d) => line.text.startsWith(d, start + 1))) {
      start++;
      continue;
    }
    return slice(line, 0, start);
  }
  return line;
}

/**
 * What of one stripped line apt interprets, with whether a `/* *\/` comment is still open after
 * it; `inComment`: one was open before it.
 */
export function fragmentOf(stripped: Mapped, inComment: boolean): { fragment: Mapped; inComment: boolean } {
  let line = stripped;
  const empty: Mapped = { text: "", at: [] };
  if (inComment) {
    const end = line.text.indexOf("*/");
    if (end < 0) return { fragment: empty, inComment: true };
    line = slice(line, end + 2);
  }
  line = dropLineComments(line);
  // the pieces kept between comments; quotes are counted from the start of each piece, and the
  // line is not copied per comment, so that many comments on one line cost linear time too
  const pieces: Mapped[] = [];
  const text = line.text;
  let from = 0;
  let quoted = quoteParity(text);
  let start = 0;
  let open = false;
  while ((start = text.indexOf("/*", start)) >= 0) {
    if (quoted(start)) {
      start += 2;
      continue;
    }
    pieces.push(slice(line, from, start));
    const end = text.indexOf("*/", start + 2);
    if (end < 0) {
      open = true;
      break;
    }
    from = start = end + 2;
    quoted = quoteParity(text, from);
  }
  if (!open) pieces.push(slice(line, from));
  return { fragment: { text: pieces.map((p) => p.text).join(""), at: pieces.flatMap((p) => p.at) }, inComment: open };
}

/** Blanks around `m` removed (as apt trims each piece between `{`, `;` and `}`). */
export function trimMapped(m: Mapped): Mapped {
  let from = 0;
  let to = m.text.length;
  while (from < to && isSpace(m.text[from])) from++;
  while (to > from && isSpace(m.text[to - 1])) to--;
  return slice(m, from, to);
}

/**
 * ParseQuoteWord: one word from `pos` (blanks skipped), `"..."` and `[...]` kept whole, quotes
 * dropped and `%xx` decoded; the position after it and the blanks that follow. Undefined: no
 * word, or a quote or bracket never closed.
 */
export function quoteWord(s: string, pos: number): { word: string; start: number; end: number; next: number } | undefined {
  let c = pos;
  while (c < s.length && s[c] === " ") c++;
  if (c >= s.length) return undefined;
  const start = c;
  for (; c < s.length && !isSpace(s[c]); c++) {
    if (s[c] === '"') {
      c = s.indexOf('"', c + 1);
      if (c < 0) return undefined;
    }
    if (s[c] === "[") {
      c = s.indexOf("]", c + 1);
      if (c < 0) return undefined;
    }
  }
  // `%xx` is a byte: `%C3%A9` is `é`, and a byte that is not UTF-8 reads as U+FFFD, as apt's own output does
  const bytes: number[] = [];
  for (let i = pos; i < c; i++) {
    if (s[i] === "%" && i + 2 < c && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (s.charCodeAt(i) < 0x80) {
      if (s[i] !== '"') bytes.push(s.charCodeAt(i));
    } else {
      // a character outside the BMP is two UTF-16 units: its bytes are those of both
      const wide = (s.codePointAt(i) ?? 0) > 0xffff && i + 1 < c;
      bytes.push(...Buffer.from(s.slice(i, wide ? i + 2 : i + 1)));
      if (wide) i++;
    }
  }
  const word = Buffer.from(bytes).toString("utf8");
  let next = c;
  while (next < s.length && isSpace(s[next])) next++;
  return { word, start, end: c, next };
}

/**
 * ParseCWord: the rest of `s` from `pos` as one value made only of `"..."` strings (a run of
 * blanks between them is one blank); undefined if anything else is there (apt then reads one
 * plain word instead).
 */
export function cWord(s: string, pos: number): { word: string; start: number } | undefined {
  let c = pos;
  while (c < s.length && s[c] === " ") c++;
  if (c >= s.length || Buffer.byteLength(s.slice(pos)) >= 1024) return undefined;
  const start = c;
  let word = "";
  for (; c < s.length; c++) {
    if (s[c] === '"') {
      const close = s.indexOf('"', c + 1);
      if (close < 0) return undefined;
      word += s.slice(c + 1, close);
      c = close;
      continue;
    }
    if (c !== pos && isSpace(s[c]) && isSpace(s[c - 1])) continue;
    if (!isSpace(s[c])) return undefined;
    word += " ";
  }
  return { word, start };
}
