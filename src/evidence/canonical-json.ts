// Whether a text of JSON is exactly what JSON.stringify writes for the value JSON.parse reads
// from it, decided in one pass over its characters: the extract splices such a body into its
// line as it is stored (manifest.ts writeExtractLine), and serializing each of a year's 325,000
// bodies again only to compare the text cost ~0.7 s and ~150 MB of garbage. It answers true only
// when it is sure; false means "not known", and the caller compares the slow way.
//
// The text must be JSON that JSON.parse read (the caller has parsed it). JSON.stringify writes a
// value back the same when, outside strings, there is no whitespace; each string has no escape
// but \" \\ \b \f \n \r \t (\uXXXX and \/ are left to the slow way) and no lone surrogate; each
// number is written as String(number) writes it; and no object has a key twice (the last one
// would win, once) or a key of digits only (V8 puts those first, in numeric order).

/** Past this many keys in one object, or this depth, the slow way is asked (their duplicates are compared pairwise). */
const MAX_KEYS = 64;
const MAX_DEPTH = 64;

// the keys of the objects open, as [start, end) in the text: reused from one call to the next
const keyStarts: number[] = [];
const keyEnds: number[] = [];
/** where each open object's keys begin in keyStarts, or -1 for an open array */
const opened: number[] = [];

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const SURROGATE = /[\ud800-\udfff]/;

/**
 * The text being read: whether it holds a surrogate, and where its next backslash is. Most
 * strings hold neither: they are passed over to their closing quote at once (indexOf), and only
 * the others a character at a time (a year's bodies are ~150 MB of text).
 */
let surrogates = false;
let nextBackslash = -1;

/** The end of the string whose opening quote is at `at` (the index after its closing quote), or -1 when it is not written as JSON.stringify writes it. */
function stringEnd(text: string, at: number): number {
  const close = text.indexOf('"', at + 1);
  if (!surrogates && close !== -1 && (nextBackslash === -1 || nextBackslash > close)) return close + 1;
  const end = stringEndSlowly(text, at);
  if (end !== -1 && nextBackslash !== -1 && nextBackslash < end) nextBackslash = text.indexOf("\\", end);
  return end;
}

/** stringEnd a character at a time: escapes and surrogates looked at. */
function stringEndSlowly(text: string, at: number): number {
  for (let i = at + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      const e = text.charCodeAt(++i);
      // \" \\ \b \f \n \r \t are JSON.stringify's own; \uXXXX and \/ are not known here
      if (e !== QUOTE && e !== BACKSLASH && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return -1;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // a surrogate is written as it is only as the first half of a pair, then its second half
      if (c >= 0xdc00) return -1;
      const low = text.charCodeAt(i + 1);
      if (!(low >= 0xdc00 && low <= 0xdfff)) return -1;
      i++;
    }
  }
  return -1;
}

/** The end of the number at `at`, or -1 when String(number) would not write it so. */
function numberEnd(text: string, at: number): number {
  let i = at;
  let plain = true; // digits only (after a minus): an integer written as String writes it, unless noted below
  if (text.charCodeAt(i) === 0x2d) i++;
  const digits = i;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) continue;
    if (c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d) plain = false;
    else break;
  }
  // up to 15 digits is exact in a double; JSON forbids leading zeros, but "-0" is read as 0
  if (plain && i - digits <= 15 && !(text.charCodeAt(at) === 0x2d && text.charCodeAt(digits) === 0x30)) return i;
  const written = text.slice(at, i);
  return String(Number(written)) === written ? i : -1;
}

/** Whether the key [start, end) is one of the open object's keys before it, or is one V8 orders first (digits only). */
function keyRefused(text: string, start: number, end: number, from: number): boolean {
  let digitsOnly = end - start > 2;
  for (let i = start + 1; i < end - 1 && digitsOnly; i++) {
    const c = text.charCodeAt(i);
    digitsOnly = c >= 0x30 && c <= 0x39;
  }
  if (digitsOnly || keyStarts.length - from >= MAX_KEYS) return true;
  const length = end - start;
  for (let k = from; k < keyStarts.length; k++) {
    const s = keyStarts[k]!;
    if (keyEnds[k]! - s !== length) continue;
    let same = true;
    for (let i = 1; i < length - 1 && same; i++) same = text.charCodeAt(s + i) === text.charCodeAt(start + i);
    if (same) return true;
  }
  return false;
}

/** Whether JSON.stringify(JSON.parse(text)) === text, for a text JSON.parse reads: true only when sure. */
export function isCanonicalJson(text: string): boolean {
  keyStarts.length = 0;
  keyEnds.length = 0;
  opened.length = 0;
  surrogates = SURROGATE.test(text);
  nextBackslash = text.indexOf("\\");
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end === -1) return false;
      // a key: the string just after `{` or `,` in an object, followed by `:`
      if (text.charCodeAt(end) === 0x3a) {
        const from = opened.length > 0 ? opened[opened.length - 1]! : -1;
        if (from < 0 || keyRefused(text, i, end, from)) return false;
        keyStarts.push(i);
        keyEnds.push(end);
        i = end + 1;
      } else i = end;
    } else if (c === 0x7b || c === 0x5b) {
      if (opened.length >= MAX_DEPTH) return false;
      opened.push(c === 0x7b ? keyStarts.length : -1);
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      const from = opened.pop()!;
      if (from >= 0) {
        keyStarts.length = from;
        keyEnds.length = from;
      }
      i++;
    } else if (c === 0x2c) i++;
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const end = numberEnd(text, i);
      if (end === -1) return false;
      i = end;
    } else if (c === 0x74 || c === 0x6e) i += 4; // true, null
    else if (c === 0x66) i += 5; // false
    else return false; // whitespace, which JSON.stringify never writes outside strings
  }
  return true;
}
