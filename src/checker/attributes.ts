// Checking a block's attributes against its declared specs: unknown, duplicate, missing,
// wrongly typed, and the cross-attribute constraints.
import { nameSpan, type Attribute } from "../parser/ast.js";
import { diagnostic, type Diagnostic, type Span } from "../parser/diagnostics.js";
import type { AttributeSpec, Constraint } from "../promise-types/schema.js";
import { didYouMean } from "../parser/suggest.js";
import { INVALID, type ValueChecker } from "./values.js";

export interface CheckedAttributes {
  values: Record<string, unknown>;
  /**
   * The attribute nodes by name, for positions in later diagnostics. A record, not a Map (a
   * Map per promise was a sixth of what a large check allocated): its keys are only ever
   * attribute names from a schema, which no Object.prototype member shares (a test holds them
   * to it), so a plain lookup is exact.
   */
  nodes: Record<string, Attribute | undefined>;
  /** attributes present but invalid: constraints skip them to avoid a second error */
  invalid: ReadonlySet<string>;
}

const noneInvalid: ReadonlySet<string> = new Set();

// "`name`", built once per attribute name rather than once per use: it is only read on errors.
const subjects = new Map<string, string>();
function subjectOf(name: string): string {
  let s = subjects.get(name);
  if (s === undefined) subjects.set(name, (s = `\`${name}\``));
  return s;
}

export function checkAttributes(
  attributes: Attribute[],
  specs: ReadonlyMap<string, AttributeSpec>,
  where: { what: string; head: Span },
  checker: ValueChecker,
  diagnostics: Diagnostic[],
): CheckedAttributes {
  const nodes: Record<string, Attribute | undefined> = {};
  const values: Record<string, unknown> = {};
  let invalid: Set<string> | undefined;
  for (const attr of attributes) {
    const name = attr.name;
    const spec = specs.get(name);
    if (!spec) {
      diagnostics.push(
        diagnostic("E101", `unknown attribute \`${name}\` for ${where.what}`, nameSpan(attr), {
          suggestion: didYouMean(name, specs.keys()) ?? `known attributes: ${[...specs.keys()].join(", ")}`,
        }),
      );
      continue;
    }
    const first = nodes[name];
    if (first) {
      diagnostics.push(
        diagnostic("E105", `attribute \`${name}\` is set twice`, nameSpan(attr), { related: [{ span: nameSpan(first), message: "first set here" }] }),
      );
      continue;
    }
    nodes[name] = attr;
    const v = checker.check(attr.value, spec.type, subjectOf(name));
    if (v === INVALID) (invalid ??= new Set()).add(name);
    else values[name] = v;
  }
  for (const spec of requiredOf(specs)) {
    if (nodes[spec.name] === undefined) {
      diagnostics.push(
        diagnostic("E104", `${where.what} needs \`${spec.name}\``, where.head, { suggestion: `add \`${spec.name} = …\`: ${spec.description}` }),
      );
    }
  }
  return { values, nodes, invalid: invalid ?? noneInvalid };
}

const requiredCache = new WeakMap<ReadonlyMap<string, AttributeSpec>, AttributeSpec[]>();
function requiredOf(specs: ReadonlyMap<string, AttributeSpec>): AttributeSpec[] {
  let r = requiredCache.get(specs);
  if (!r) requiredCache.set(specs, (r = [...specs.values()].filter((s) => s.required)));
  return r;
}

export function checkConstraints(constraints: Constraint[] | undefined, a: CheckedAttributes, where: { what: string; head: Span }, diagnostics: Diagnostic[]): void {
  // Nothing is allocated unless a constraint is broken: this runs for every promise.
  if (constraints === undefined) return;
  for (const c of constraints) {
    switch (c.kind) {
      case "lessOrEqual": {
        if (!(c.lower in a.values) || !(c.upper in a.values)) break;
        const lo = a.values[c.lower] as number;
        const hi = a.values[c.upper] as number;
        if (lo > hi) {
          diagnostics.push(
            diagnostic("E119", `\`${c.lower}\` (${lo}) is greater than \`${c.upper}\` (${hi}): the promise can never be kept`, a.nodes[c.lower]!, {
              related: [{ span: a.nodes[c.upper]!, message: `\`${c.upper}\` set here` }],
            }),
          );
        }
        break;
      }
      case "atLeastOne":
        if (countSet(a, c.attributes) === 0) {
          diagnostics.push(
            diagnostic("E104", `${where.what} promises nothing: set at least one of ${c.attributes.map((x) => `\`${x}\``).join(", ")}`, where.head),
          );
        }
        break;
      case "exclusive": {
        if (countSet(a, c.attributes) > 1) {
          const present = c.attributes.filter((n) => a.nodes[n] !== undefined);
          diagnostics.push(
            diagnostic("E119", `\`${present[1]}\` and \`${present[0]}\` cannot both be set`, nameSpan(a.nodes[present[1]!]!), {
              related: [{ span: nameSpan(a.nodes[present[0]!]!), message: `\`${present[0]}\` set here` }],
              suggestion: "keep one of them",
            }),
          );
        }
        break;
      }
      case "requires": {
        const v = a.values[c.whenAttribute];
        const holds = Array.isArray(v) ? v.includes(c.hasValue) : v === c.hasValue;
        if (holds && a.nodes[c.attribute] === undefined) {
          diagnostics.push(
            diagnostic("E104", `\`${c.whenAttribute} = ${c.hasValue}\` needs \`${c.attribute}\``, a.nodes[c.whenAttribute]!, {
              suggestion: `add \`${c.attribute} = …\``,
            }),
          );
        }
        break;
      }
    }
  }
}

function countSet(a: CheckedAttributes, names: readonly string[]): number {
  let n = 0;
  for (const name of names) if (a.nodes[name] !== undefined) n++;
  return n;
}
