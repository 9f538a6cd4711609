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
  const byType = new Map<string, { exact: Map<string, Keyed | Keyed[]>; globs: { pattern: RegExp; key: string; entry: Keyed }[]; globbing: boolean; argv: boolean }>();
  for (const entry of entries) {
    const { promise, control } = entry;
    if (promise.promiser === undefined) continue;
    // a site's own type (`promise_type`): what its attributes mean is the plugin's, so two values need not clash
    if (!promiseTypes.has(promise.type)) continue;
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
      const known = group.exact.get(key);
      if (known === undefined) group.exact.set(key, keyed);
      else if (Array.isArray(known)) known.push(keyed);
      else group.exact.set(key, [known, keyed]);
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
