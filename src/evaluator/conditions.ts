// Evaluates conditions (`context` definitions, `when`) against the host facts. The checker has
// already proved every condition well typed, so this only computes.
import type { CompareOp, Expr } from "../parser/ast.js";
import { globToRegExp } from "../checker/glob.js";
import type { FactValue } from "../facts/host.js";
import { Networks } from "./networks.js";
import { net } from "../native/builtins-on-use.js";

type Value = string | number | boolean | Value[];

export class Conditions {
  private readonly contextValues = new Map<string, boolean>();
  private readonly evaluating = new Set<string>();

  constructor(
    private readonly facts: ReadonlyMap<string, FactValue>,
    private readonly contexts: ReadonlyMap<string, Expr>,
    private readonly variables: ReadonlyMap<string, unknown>,
  ) {}

  holds(e: Expr): boolean {
    return this.value(e) === true;
  }

  /** The value of a context, computed once per run. */
  context(name: string): boolean {
    const known = this.contextValues.get(name);
    if (known !== undefined) return known;
    const expr = this.contexts.get(name);
    if (!expr || this.evaluating.has(name)) return false;
    this.evaluating.add(name);
    const v = this.holds(expr);
    this.evaluating.delete(name);
    this.contextValues.set(name, v);
    return v;
  }

  /** Every context's value now (for reports). */
  allContexts(): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    for (const name of this.contexts.keys()) {
      try {
        out[name] = this.context(name);
      } catch {
        // reported on the promises whose conditions use it
      }
    }
    return out;
  }

  private value(e: Expr): Value {
    switch (e.kind) {
      case "bool":
        return e.value;
      case "number":
      case "quantity":
        return e.value;
      case "date":
      case "address":
        return e.raw;
      case "string":
        return e.parts.map((p) => (typeof p === "string" ? p : String(this.variables.get(p.variable) ?? ""))).join("");
      case "list":
        return e.items.map((i) => this.value(i));
      case "paren":
        return this.value(e.inner);
      case "not":
        return !this.holds(e.operand);
      case "logical":
        return e.op === "and" ? e.operands.every((o) => this.holds(o)) : e.operands.some((o) => this.holds(o));
      case "ident":
        return this.ident(e.name);
      case "compare":
        return this.compare(e.op, e.left, e.right);
    }
  }

  private ident(name: string): Value {
    if (this.contexts.has(name)) return this.context(name);
    if (this.facts.has(name)) return this.facts.get(name)!;
    if (this.variables.has(name)) return this.variables.get(name) as Value;
    return name; // an enum value such as `friday`
  }

  private compare(op: CompareOp, l: Expr, r: Expr): boolean {
    const L = this.value(l);
    const R = this.value(r);
    switch (op) {
      case "==":
        return L === R;
      case "!=":
        return L !== R;
      case "<":
        return L < R;
      case "<=":
        return L <= R;
      case ">":
        return L > R;
      case ">=":
        return L >= R;
      case "~":
        return globToRegExp(String(R)).test(String(L));
      case "!~":
        return !globToRegExp(String(R)).test(String(L));
      case "=~":
        return new RegExp(String(R)).test(String(L));
      case "in": {
        const isAddressFact = l.kind === "ident" && this.facts.has(l.name) && Array.isArray(L);
        // the checker types an address literal, the `ip` fact and variables holding addresses as network tests
        const isAddressVariable = l.kind === "ident" && typeof L === "string" && isAddress(L.split("/")[0]!);
        const right = Array.isArray(R) ? R : [R];
        const allNetworks = right.every((n) => typeof n === "string" && isAddress(n.split("/")[0]!));
        if ((l.kind === "address" || isAddressFact || isAddressVariable) && allNetworks) {
          const nets = new Networks(right.map(String));
          return (Array.isArray(L) ? L : [L]).some((a) => nets.contains(String(a)));
        }
        return Array.isArray(R) && R.some((item) => item === L);
      }
    }
  }
}

/**
 * Whether `text` is an IP address (node:net's isIP), without loading node:net for text that cannot
 * be one (`os in ["debian", "ubuntu"]`): an IPv6 address has a `:`, an IPv4 one only digits and dots.
 */
function isAddress(text: string): boolean {
  return (text.includes(":") || /^[0-9.]+$/.test(text)) && net().isIP(text) !== 0;
}
