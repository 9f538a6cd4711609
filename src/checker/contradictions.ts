// Two promises contradict when they name the same promiser (or one's glob covers the other's
// path), may apply at the same time (same conditions, or one of them unconditional), and set
// a comparable attribute to different values (lists compared as sets).
import { exprText } from "../parser/ast.js";
import { diagnostic, type Diagnostic } from "../parser/diagnostics.js";
import { attributesOf, promiseTypes } from "../promise-types/registry.js";
import type { ValueType } from "../promise-types/schema.js";
import type { Attribute, PromiseDecl } from "../parser/ast.js";
import { globToRegExp } from "./glob.js";
import type { CheckedControl, CheckedPromise } from "./policy.js";

/**
 * A checked promise with its control and every valid attribute's value (`when`, `handle` and
 * `depends_on` too). The attributes' nodes are found in its declaration when needed: a record
 * of them kept for every promise until the end of a check was a tenth of its peak memory.
 */
export interface PromiseEntry {
  control: CheckedControl;
  promise: CheckedPromise;
  values: Record<string, unknown>;
}

/** The first attribute of the promise named `name` (a second is an error, E105). */
export function attributeNode(entry: PromiseEntry, name: string): Attribute | undefined {
  return (entry.promise.span as PromiseDecl).attributes.find((a) => a.name === name);
}

export function findContradictions(entries: PromiseEntry[], diagnostics: Diagnostic[]): void {
  // By type, then by promiser: only promises on the same thing can clash.
  // a promiser held by one promise (nearly all) maps to its entry alone, not to a list of one
  const byType = new Map<string, { exact: Map<string, Keyed | Keyed[]>; globs: { pattern: RegExp; key: string; entry: Keyed }[] }>();
  for (const entry of entries) {
    const keyed = keyedOf(entry);
    if (keyed === undefined) continue;
    let group = byType.get(entry.promise.type);
    if (!group) byType.set(entry.promise.type, (group = { exact: new Map(), globs: [] }));
    for (const k of keyed) {
      const known = group.exact.get(k.key);
      if (known === undefined) group.exact.set(k.key, k);
      else if (Array.isArray(known)) known.push(k);
      else group.exact.set(k.key, [known, k]);
      if (k.pattern) group.globs.push({ pattern: k.pattern, key: k.key, entry: k });
    }
  }
  const reported = new Set<string>();
  for (const group of byType.values()) {
    for (const list of group.exact.values()) {
      if (Array.isArray(list)) for (let i = 1; i < list.length; i++) for (let j = 0; j < i; j++) compare(list[j]!, list[i]!, diagnostics, reported);
    }
    if (group.globs.length === 0) continue;
    for (const [path, known] of group.exact) {
      const list = Array.isArray(known) ? known : [known];
      for (const g of group.globs) {
        if (g.key === path || !g.pattern.test(path)) continue;
        for (const e of list) compare(g.entry, e, diagnostics, reported);
      }
    }
  }
}

/**
 * What a promise is compared on: one record for each thing it names (a promise on several
 * ports has one per port), under the conditions it applies, with the glob of a promiser that is
 * one; undefined for a promise never compared (no promiser, a site's own type).
 */
export function keyedOf(entry: PromiseEntry): Keyed[] | undefined {
  const { promise, control } = entry;
  if (promise.promiser === undefined) return undefined;
  // a site's own type (`promise_type`): what its attributes mean is the plugin's, so two values need not clash
  const spec = promiseTypes.get(promise.type);
  if (spec === undefined) return undefined;
  const condition = control.when === undefined && promise.when === undefined ? "" : [control.when, promise.when].filter((w) => w !== undefined).map((w) => exprText(w!)).join(" and ");
  const globbing = isGlobType(spec.promiser?.type);
  const promisers = Array.isArray(promise.promiser) && spec.promiser?.type.kind !== "argv" ? promise.promiser : [promise.promiser];
  return promisers.map((p: unknown, index: number) => {
    const keyed: Keyed = { entry, condition, promiser: p, key: typeof p === "string" ? p : JSON.stringify(p), index };
    if (globbing && typeof p === "string" && /[*?[]/.test(p)) {
      try {
        keyed.pattern = globToRegExp(p);
      } catch {
        // an invalid glob was already reported by the value checker
      }
    }
    return keyed;
  });
}

export interface Keyed {
  entry: PromiseEntry;
  /** the conditions the promise applies under, as text ("" when always) */
  condition: string;
  /** the one promiser this entry stands for (a promise on several ports has one per port) */
  promiser: unknown;
  /** the promiser as a key: itself when a string, else its JSON */
  key: string;
  /** which of the promise's promisers it is */
  index: number;
  /** the promiser's glob, when it is one */
  pattern?: RegExp;
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

export function compare(a: Keyed, b: Keyed, diagnostics: Diagnostic[], reported: Set<string>): void {
  const first = a.entry;
  const second = b.entry;
  if (first.promise === second.promise) return;
  // Promises that both have conditions, different ones, may never apply together.
  if (a.condition !== b.condition && a.condition !== "" && b.condition !== "") return;
  const specs = attributesOf(first.promise.type);
  if (!specs) return;
  for (const s of specs.values()) if (s.selects && comparable(first.values[s.name], s.type) !== comparable(second.values[s.name], s.type)) return;
  for (const node of (second.promise.span as PromiseDecl).attributes) {
    const name = node.name;
    const spec = specs.get(name);
    if (spec?.comparable === false) continue;
    if (attributeNode(second, name) !== node) continue; // a second one of the name: reported as such
    const other = attributeNode(first, name);
    if (!other || !(name in first.values) || !(name in second.values)) continue;
    if (comparable(first.values[name], spec?.type) === comparable(second.values[name], spec?.type)) continue;
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
