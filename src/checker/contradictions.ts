// Two promises contradict when they name the same promiser (or one's glob covers the other's
// path), apply under the same conditions, and set a comparable attribute to different values.
import { attributeSpan, exprText } from "../parser/ast.js";
import { diagnostic, type Diagnostic } from "../parser/diagnostics.js";
import { attributesOf } from "../evaluator/registry.js";
import type { CheckedAttributes } from "./attributes.js";
import type { CheckedControl, CheckedPromise } from "./policy.js";

export interface PromiseEntry {
  control: CheckedControl;
  promise: CheckedPromise;
  attributes: CheckedAttributes;
}

export function findContradictions(entries: PromiseEntry[], diagnostics: Diagnostic[]): void {
  // Keyed by type and condition, then by promiser: only promises that apply together can clash.
  const groups = new Map<string, { exact: Map<string, PromiseEntry[]>; globs: { pattern: RegExp; key: string; entry: PromiseEntry }[] }>();
  for (const entry of entries) {
    const { promise, control } = entry;
    if (promise.promiser === undefined) continue;
    const condition = control.when === undefined && promise.when === undefined ? "" : [control.when, promise.when].filter((w) => w !== undefined).map((w) => exprText(w!)).join(" and ");
    const groupKey = `${promise.type}\u0000${condition}`;
    let group = groups.get(groupKey);
    if (!group) groups.set(groupKey, (group = { exact: new Map(), globs: [] }));
    const promisers = Array.isArray(promise.promiser) && promise.type !== "command" ? promise.promiser : [promise.promiser];
    for (const p of promisers) {
      const key = typeof p === "string" ? p : JSON.stringify(p);
      const list = group.exact.get(key);
      if (list) list.push(entry);
      else group.exact.set(key, [entry]);
      if (typeof p === "string" && /[*?[]/.test(p)) group.globs.push({ pattern: globToRegExp(p), key, entry });
    }
  }
  const reported = new Set<string>();
  for (const group of groups.values()) {
    for (const list of group.exact.values()) for (let i = 1; i < list.length; i++) for (let j = 0; j < i; j++) compare(list[j]!, list[i]!, diagnostics, reported);
    if (group.globs.length === 0) continue;
    for (const [key, list] of group.exact) {
      const path = key;
      if (path[0] !== "/") continue;
      for (const g of group.globs) {
        if (g.key === key || !g.pattern.test(path)) continue;
        for (const e of list) compare(g.entry, e, diagnostics, reported);
      }
    }
  }
}

function compare(first: PromiseEntry, second: PromiseEntry, diagnostics: Diagnostic[], reported: Set<string>): void {
  if (first === second) return;
  const specs = attributesOf(first.promise.type);
  if (!specs) return;
  for (const [name, node] of second.attributes.nodes) {
    if (specs.get(name)?.comparable === false) continue;
    const other = first.attributes.nodes.get(name);
    if (!other || !(name in first.attributes.values) || !(name in second.attributes.values)) continue;
    if (JSON.stringify(first.attributes.values[name]) === JSON.stringify(second.attributes.values[name])) continue;
    const here = attributeSpan(node);
    const there = attributeSpan(other);
    const key = `${here.file}:${here.start}:${there.file}:${there.start}`;
    if (reported.has(key)) continue;
    reported.add(key);
    diagnostics.push(
      diagnostic(
        "E111",
        `this promise contradicts another on \`${first.promise.type} ${describe(second.promise.promiser)}\`: \`${name} = ${exprText(node.value)}\` here, \`${name} = ${exprText(other.value)}\` in control "${first.control.id}"`,
        here,
        {
          related: [{ span: there, message: "the other promise sets it here" }],
          suggestion: "keep one value, or give the promises conditions that cannot hold together",
        },
      ),
    );
  }
}

function describe(promiser: unknown): string {
  return Array.isArray(promiser) ? `[${promiser.map((p) => JSON.stringify(p)).join(", ")}]` : JSON.stringify(promiser);
}

/** Shell-style glob to a regular expression: `*` and `?` do not cross `/`, `**` does. */
export function globToRegExp(glob: string): RegExp {
  let re = "^";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        re += ".*";
        i++;
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end === -1) re += "\\[";
      else {
        let body = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
        if (body.startsWith("!")) body = `^${body.slice(1)}`;
        re += `[${body}]`;
        i = end;
      }
    } else if (c === "\\" && i + 1 < glob.length) {
      re += `\\${glob[++i]}`;
    } else re += c.replace(/[.+^${}()|\]\\/]/g, "\\$&");
  }
  return new RegExp(`${re}$`);
}
