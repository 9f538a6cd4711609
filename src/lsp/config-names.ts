// Where covenant.yaml names a stakeholder of the policy (docs/configuration.md): the key under
// `stakeholders:`, and in the routing tree each route's `receivers`, its escalations' `to`, and
// its `match`'s `stakeholder` and `owner` lists, at every depth of `routes:`. A rename of a
// stakeholder in the policy renames these too, or the configuration would no longer reach it (E313,
// E314, W300). Only these places are read: a channel or a person that happens to share the name is
// not the stakeholder, and is left as it is. Only exact names are renamed, never a glob that
// matches one. A name written through an anchor (`&x` ... `*x`) is not renamed: the edit would reach
// every place the alias stands, or miss the one it stands in; the rename is refused, said.
// A new name YAML would read as another type (`True`, `NULL`) is written quoted.
import { isAlias, isMap, isScalar, isSeq, parse, parseDocument, visit, type Node, type Scalar } from "yaml";
import type { Span } from "../parser/diagnostics.js";

/** A scalar's place in the text and the text to put there (quoted as it was). */
export interface ConfigEdit {
  span: Span;
  newText: string;
}

/**
 * The edits renaming `name` to `newName`, whether `newName` is a stakeholder the file already
 * configures (the two would be one), and whether the name is written through an anchor (an edit
 * would reach, or miss, another place: refused).
 */
export function stakeholderEditsInConfig(file: string, text: string, name: string, newName: string): { edits: ConfigEdit[]; taken: boolean; aliased: boolean } {
  const doc = parseDocument(text, { version: "1.2" });
  if (doc.errors.length > 0) return { edits: [], taken: false, aliased: false };
  const edits: ConfigEdit[] = [];
  let aliased = false;
  const take = (node: unknown) => {
    if (isAlias(node)) {
      // a stakeholder's place that stands for another node: the name there cannot be renamed alone
      if (JSON.stringify(node.resolve(doc)?.toJSON() ?? null).includes(JSON.stringify(name))) aliased = true;
      return;
    }
    if (!isScalar(node) || node.value !== name || !node.range) return;
    edits.push({ span: { file, start: node.range[0], end: node.range[1] }, newText: quoted(node, newName) });
  };
  const each = (node: unknown, f: (n: unknown) => void) => {
    if (isAlias(node)) f(node);
    else if (isSeq(node)) for (const item of node.items) f(item);
    else f(node);
  };
  const stakeholders = doc.get("stakeholders", true);
  let taken = false;
  if (isMap(stakeholders)) {
    for (const pair of stakeholders.items) {
      take(pair.key);
      if (isScalar(pair.key) && pair.key.value === newName) taken = true;
    }
  }
  const route = (node: Node | unknown) => {
    if (!isMap(node)) return;
    each(node.get("receivers", true), take);
    each(node.get("escalate", true), (step) => {
      if (isMap(step)) each(step.get("to", true), take);
    });
    const match = node.get("match", true);
    if (isMap(match)) for (const key of ["stakeholder", "owner"]) each(match.get(key, true), take);
    each(node.get("routes", true), route);
  };
  route(doc.get("route", true));
  // an edit inside a node an alias repeats elsewhere would change that place too
  visit(doc, {
    Alias(_, alias) {
      const range = alias.resolve(doc)?.range;
      if (range && edits.some((e) => e.span.start >= range[0] && e.span.end <= range[1])) aliased = true;
    },
  });
  return { edits: edits.sort((a, b) => a.span.start - b.span.start), taken, aliased };
}

function quoted(node: Scalar, text: string): string {
  if (node.type === "QUOTE_DOUBLE") return `"${text}"`;
  if (node.type === "QUOTE_SINGLE") return `'${text}'`;
  // plain, unless YAML would read it as another type (true, null) rather than the name
  return parse(text, { version: "1.2" }) === text ? text : `"${text}"`;
}
