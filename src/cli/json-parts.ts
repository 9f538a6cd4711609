// JSON written in pieces: the text of `JSON.stringify(value, replacer, 2)`, cut into chunks of
// about `size` characters that each end a line. A report of thousands of promises is then never
// one string of megabytes (nor its copy as bytes on its way to a pipe) at the end of a run that
// may have just told hundreds of messages (bench/notify): the containers near the top are walked
// here, and what lies below `SPLIT_DEPTH` is stringified whole.

type Replacer = (this: unknown, key: string, value: unknown) => unknown;

const INDENT = "  ";
/** Containers this deep or deeper are stringified at once (a promise's result is a few hundred bytes). */
const SPLIT_DEPTH = 4;

/** What JSON.stringify does to a value before writing it: toJSON, then the replacer. */
function prepared(holder: unknown, key: string, value: unknown, replacer: Replacer | undefined): unknown {
  let v = value;
  if (v !== null && typeof v === "object" && typeof (v as { toJSON?: unknown }).toJSON === "function") v = (v as { toJSON: (k: string) => unknown }).toJSON(key);
  return replacer ? replacer.call(holder, key, v) : v;
}

/** Whether JSON.stringify leaves the value out (in an object) or writes null (in an array). */
const unwritable = (v: unknown) => v === undefined || typeof v === "function" || typeof v === "symbol";

/** The pieces of one value at `depth`, its first line not indented (its key, if any, is already written). */
function* pieces(v: unknown, depth: number, replacer: Replacer | undefined): Generator<string> {
  if (v === null || typeof v !== "object" || depth >= SPLIT_DEPTH) {
    // the replacer already ran for this key; run again with "" by JSON.stringify, it must leave the value as it is
    yield (JSON.stringify(v, replacer as never, 2) ?? "null").replace(/\n/g, `\n${INDENT.repeat(depth)}`);
    return;
  }
  const inner = INDENT.repeat(depth + 1);
  if (Array.isArray(v)) {
    if (v.length === 0) return yield "[]";
    yield "[\n";
    for (let i = 0; i < v.length; i++) {
      const item = prepared(v, String(i), v[i], replacer);
      yield inner;
      if (unwritable(item)) yield "null";
      else yield* pieces(item, depth + 1, replacer);
      yield i < v.length - 1 ? ",\n" : "\n";
    }
    return yield `${INDENT.repeat(depth)}]`;
  }
  const entries = Object.keys(v)
    .map((k) => [k, prepared(v, k, (v as Record<string, unknown>)[k], replacer)] as const)
    .filter(([, item]) => !unwritable(item));
  if (entries.length === 0) return yield "{}";
  yield "{\n";
  for (let i = 0; i < entries.length; i++) {
    const [k, item] = entries[i]!;
    yield `${inner}${JSON.stringify(k)}: `;
    yield* pieces(item, depth + 1, replacer);
    yield i < entries.length - 1 ? ",\n" : "\n";
  }
  yield `${INDENT.repeat(depth)}}`;
}

/**
 * `JSON.stringify(value, replacer, 2)` and a line break, in chunks that each end a line: a chunk
 * is cut at the last line end once `size` characters have gathered (so it may be shorter or
 * longer than `size`). The replacer must leave a value as it is when called with the key ""
 * (JSON.stringify calls it so for the root of what is stringified whole).
 */
export function* jsonChunks(value: unknown, replacer?: Replacer, size = 64 * 1024): Generator<string> {
  const root = prepared({ "": value }, "", value, replacer);
  let buffer = "";
  for (const piece of unwritable(root) ? ["null"] : pieces(root, 0, replacer)) {
    buffer += piece;
    if (buffer.length >= size) {
      const end = buffer.lastIndexOf("\n") + 1;
      if (end > 0) {
        yield buffer.slice(0, end);
        buffer = buffer.slice(end);
      }
    }
  }
  yield `${buffer}\n`;
}
