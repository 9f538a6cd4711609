// Two promises contradict when they name the same promiser (or one's glob covers the other's
// path), may apply at the same time (same conditions, or one of them unconditional), and set
// a comparable attribute to different values (lists compared as sets).
import { exprText } from "../parser/ast.js";
import { diagnostic, type Diagnostic } from "../parser/diagnostics.js";
import { attributesOf, promiseTypes } from "../evaluator/registry.js";
import type { ValueType } from "../evaluator/schema.js";
import type { CheckedAttributes } from "./attributes.js";
import { globToRegExp } from "./glob.js";
import type { CheckedControl, CheckedPromise } from "./policy.js";

export interface PromiseEntry {
  control: CheckedControl;
  promise: CheckedPromise;
  attributes: CheckedAttributes;
}

export function findContradictions(entries: PromiseEntry[], diagnostics: Diagnostic[]): void {
  // By type, then by promiser: only promises on the same thing can clash.
  const byType = new Map<string, { exact: Map<string, Keyed[]>; globs: { pattern: RegExp; key: string; entry: Keyed }[]; globbing: boolean; argv: boolean }>();
  for (const entry of entries) {
    const { promise, control } = entry;
    if (promise.promiser === undefined) continue;
    const condition = control.when === undefined && promise.when === undefined ? "" : [control.when, promise.when].filter((w) => w !== undefined).map((w) => exprText(w!)).join(" and ");
    let group = byType.get(promise.type);
    if (!group) {
      const spec = promiseTypes.get(promise.type)!;
      byType.set(promise.type, (group = { exact: new Map(), globs: [], globbing: isGlobType(spec.promiser?.type), argv: spec.promiser?.type.kind === "argv" }));
    }
    const globbing = group.globbing;
    const promisers = Array.isArray(promise.promiser) && !group.argv ? promise.promiser : [promise.promiser];
    for (const p of promisers) {
      const key = typeof p === "string" ? p : JSON.stringify(p);
      const keyed: Keyed = { entry, condition, promiser: p };
      const list = group.exact.get(key);
      if (list) list.push(keyed);
      else group.exact.set(key, [keyed]);
      if (globbing && typeof p === "string" && /[*?[]/.test(p)) {
        try {
          group.globs.push({ pattern: globToRegExp(p), key, entry: keyed });
        } catch {
          // an invalid glob was already reported by the value checker
        }
      }
    }
  }
  const reported = new Set<string>();
  for (const group of byType.values()) {
    for (const list of group.exact.values()) for (let i = 1; i < list.length; i++) for (let j = 0; j < i; j++) compare(list[j]!, list[i]!, diagnostics, reported);
    if (group.globs.length === 0) continue;
    for (const [path, list] of group.exact) {
      for (const g of group.globs) {
        if (g.key === path || !g.pattern.test(path)) continue;
        for (const e of list) compare(g.entry, e, diagnostics, reported);
      }
    }
  }
}

interface Keyed {
  entry: PromiseEntry;
  /** the conditions the promise applies under, as text ("" when always) */
  condition: string;
  /** the one promiser this entry stands for (a promise on several ports has one per port) */
  promiser: unknown;
}

function isGlobType(t: ValueType | undefined): boolean {
  if (!t) return false;
  if (t.kind === "path") return t.glob === true;
  return t.kind === "oneOrMany" || t.kind === "list" ? isGlobType(t.of) : false;
}

/** Values to compare: lists of names, networks or modes are sets, so their order does not matter. */
function comparable(value: unknown, type: ValueType | undefined): string {
  if (Array.isArray(value) && (type?.kind === "list" || type?.kind === "oneOrMany")) return JSON.stringify(value.map((v) => JSON.stringify(v)).sort());
  return JSON.stringify(value);
}

function compare(a: Keyed, b: Keyed, diagnostics: Diagnostic[], reported: Set<string>): void {
  const first = a.entry;
  const second = b.entry;
  if (first.promise === second.promise) return;
  // Promises that both have conditions, different ones, may never apply together.
  if (a.condition !== b.condition && a.condition !== "" && b.condition !== "") return;
  const specs = attributesOf(first.promise.type);
  if (!specs) return;
  for (const name in second.attributes.nodes) {
    const node = second.attributes.nodes[name]!;
    const spec = specs.get(name);
    if (spec?.comparable === false) continue;
    const other = first.attributes.nodes[name];
    if (!other || !(name in first.attributes.values) || !(name in second.attributes.values)) continue;
    if (comparable(first.attributes.values[name], spec?.type) === comparable(second.attributes.values[name], spec?.type)) continue;
    const key = `${node.file}:${node.start}:${other.file}:${other.start}`;
    if (reported.has(key)) continue;
    reported.add(key);
    diagnostics.push(
      diagnostic(
        "E111",
        `this promise contradicts another on \`${first.promise.type} ${JSON.stringify(b.promiser)}\`: \`${name} = ${exprText(node.value)}\` here, \`${name} = ${exprText(other.value)}\` in control "${first.control.id}"`,
        node,
        {
          related: [{ span: other, message: "the other promise sets it here" }],
          suggestion: "keep one value, or give the promises conditions that cannot hold together",
        },
      ),
    );
  }
}
