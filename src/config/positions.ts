// From a path in the parsed value (ajv's instancePath, or keys the semantic checks walk) back to
// where it is written in the YAML text, so that every diagnostic names the line and column of
// the key or value at fault. Aliases are followed to the node they stand for.
import { isAlias, isMap, isScalar, isSeq, type Document, type Node, type Pair } from "yaml";

type Range = readonly [number, number];

export interface Located {
  /** the value at the path, or the deepest node found on the way */
  node: Node | undefined;
  /** the key of the pair holding it, when it is a mapping's value */
  key: Node | undefined;
  /** whether the whole path was found */
  found: boolean;
}

/** A JSON Pointer (RFC 6901), as ajv's instancePath, split into keys. */
export function pointerKeys(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((k) => k.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function resolved(doc: Document, node: unknown): unknown {
  let n = node;
  // an alias of an alias is resolved to its end (yaml refuses loops when it parses)
  for (let hops = 0; isAlias(n) && hops < 100; hops++) n = n.resolve(doc);
  return n;
}

/** The pair of `map` whose key reads `key` (the last one: YAML's later key wins where duplicates are tolerated). */
function pairOf(map: unknown, key: string): Pair | undefined {
  if (!isMap(map)) return undefined;
  let found: Pair | undefined;
  for (const p of map.items) if (keyText(p.key) === key) found = p;
  return found;
}

export function locate(doc: Document, keys: readonly string[]): Located {
  let node: unknown = resolved(doc, doc.contents);
  let key: Node | undefined;
  for (const k of keys) {
    if (isMap(node)) {
      const pair = pairOf(node, k);
      if (!pair) return { node: node as Node, key, found: false };
      key = pair.key as Node;
      // `a:` with nothing after it: the key is where the value is missing
      node = pair.value === null ? undefined : resolved(doc, pair.value);
      if (node === undefined) return { node: key, key, found: false };
    } else if (isSeq(node)) {
      const item = node.items[Number(k)];
      if (item === undefined) return { node: node as Node, key, found: false };
      key = undefined;
      node = resolved(doc, item);
    } else return { node: node as Node | undefined, key, found: false };
  }
  return { node: node as Node | undefined, key, found: true };
}

/** Where a node is written: its start to the end of its value (comments after it excluded). */
export function rangeOf(node: Node | undefined | null): Range | undefined {
  const r = node?.range;
  return r ? [r[0], r[1]] : undefined;
}

/** The range of the value at `keys`, else of its key, else of the deepest node on the way, else the file's start. */
export function valueRange(doc: Document, keys: readonly string[]): Range {
  const at = locate(doc, keys);
  return rangeOf(at.node) ?? rangeOf(at.key) ?? [0, 0];
}

/** The range of the key at the end of `keys` (for "unknown key" and the like), else of its value. */
export function keyRange(doc: Document, keys: readonly string[]): Range {
  const at = locate(doc, keys);
  if (at.found && at.key) return rangeOf(at.key) ?? [0, 0];
  return rangeOf(at.node) ?? [0, 0];
}
