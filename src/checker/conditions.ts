// Type checking of conditions (`context` definitions and `when`): every name resolves to a
// host fact, a context or a variable, and every operator gets operands it can compare.
import type { CompareOp, ContextDecl, Expr } from "../parser/ast.js";
import { exprText } from "../parser/ast.js";
import { diagnostic, type Diagnostic, type Span } from "../parser/diagnostics.js";
import { rangeProblems, type FactRange } from "./fact-ranges.js";
import { facts, weekdays } from "../facts/catalog.js";
import type { Scope } from "./scope.js";
import { didYouMean } from "../parser/suggest.js";
import { type ValueChecker, INVALID } from "./values.js";

/** The type of a condition operand. `name` is a bare word that may be an enum value. */
type CType =
  | { t: "boolean" }
  | { t: "string" }
  | { t: "number"; range?: FactRange }
  | { t: "date" }
  | { t: "address" }
  | { t: "addresses" }
  | { t: "enum"; values: readonly string[]; fact: string }
  | { t: "name"; name: string; span: Span }
  | { t: "list"; items: CType[] }
  | { t: "quantity" };

const words: Record<CType["t"], string> = {
  boolean: "a condition",
  string: "a string",
  number: "a number",
  date: "a date",
  address: "an address",
  addresses: "a list of addresses",
  enum: "a named value",
  name: "a name",
  list: "a list",
  quantity: "a quantity",
};

export class ConditionChecker {
  /** contexts each context refers to, for cycle detection */
  private readonly edges = new Map<string, { name: string; span: Span }[]>();
  private current: string | undefined;
  /** variables being followed, to stop at `let a = b` / `let b = a` */
  private readonly resolving = new Set<string>();

  constructor(
    private readonly scope: Scope,
    private readonly values: ValueChecker,
    private readonly diagnostics: Diagnostic[],
  ) {}

  checkContexts(): void {
    for (const decl of this.scope.contexts.values()) {
      this.current = decl.name.name;
      this.edges.set(this.current, []);
      this.checkCondition(decl.expr);
    }
    this.current = undefined;
    this.findCycles();
  }

  /** Checks that `e` is a well-typed boolean condition; reports and returns false otherwise. */
  checkCondition(e: Expr): boolean {
    const before = this.diagnostics.length;
    this.requireBoolean(e, this.infer(e));
    return this.diagnostics.length === before;
  }

  private requireBoolean(e: Expr, t: CType | undefined) {
    if (!t) return;
    const n = this.named(t);
    if (n.t !== "boolean") this.notBoolean(e, n);
  }

  private notBoolean(e: Expr, t: CType) {
    const text = exprText(e);
    let hint: string | undefined;
    if (t.t === "number") hint = `compare it, such as \`${text} >= 1\``;
    else if (t.t === "string") hint = `compare it, such as \`${text} ~ "pattern*"\``;
    else if (t.t === "enum") hint = `compare it, such as \`${text} == ${t.values[0]}\``;
    this.diagnostics.push(diagnostic("E116", `\`${text}\` is ${words[t.t]}, not a condition`, e, { suggestion: hint }));
  }

  private infer(e: Expr): CType | undefined {
    switch (e.kind) {
      case "bool":
        return { t: "boolean" };
      case "string":
        return this.values.stringOf(e, { kind: "string" }, "the condition") === INVALID ? undefined : { t: "string" };
      case "number":
        return { t: "number" };
      case "date":
        return { t: "date" };
      case "address":
        return { t: "address" };
      case "quantity":
        return { t: "quantity" };
      case "paren":
        return this.infer(e.inner);
      case "list": {
        const items: CType[] = [];
        for (const item of e.items) {
          const t = this.infer(item);
          if (!t) return undefined;
          items.push(t);
        }
        return { t: "list", items };
      }
      case "not": {
        this.requireBoolean(e.operand, this.infer(e.operand));
        return { t: "boolean" };
      }
      case "logical": {
        for (const o of e.operands) this.requireBoolean(o, this.infer(o));
        return { t: "boolean" };
      }
      case "compare":
        return this.compare(e.op, e.left, e.right, e);
      case "ident":
        return this.ident(e);
    }
  }

  private ident(e: Expr & { kind: "ident" }): CType | undefined {
    const ctx = this.scope.contexts.get(e.name);
    if (ctx) {
      this.scope.usedContexts.add(e.name);
      if (this.current !== undefined) this.edges.get(this.current)?.push({ name: e.name, span: e });
      return { t: "boolean" };
    }
    const fact = facts.get(e.name);
    if (fact) {
      const ft = fact.type;
      if (ft.kind === "integer") return { t: "number", range: { fact: fact.name, min: ft.min, max: ft.max } };
      if (ft.kind === "enum") return { t: "enum", values: ft.values, fact: fact.name };
      return { t: ft.kind };
    }
    const decl = this.scope.variables.get(e.name);
    if (decl) {
      this.scope.usedVariables.add(e.name);
      // a use from outside a variable pays for what it expands to (bounds.ts)
      if (this.resolving.size === 0 && !this.scope.chargeUse(e.name, e)) return undefined;
      if (this.resolving.has(e.name)) {
        this.diagnostics.push(diagnostic("E115", `variable \`${e.name}\` is defined in terms of itself`, e));
        return undefined;
      }
      this.resolving.add(e.name);
      try {
        return this.infer(decl.value);
      } finally {
        this.resolving.delete(e.name);
      }
    }
    // declared by a declaration a syntax error cut short: of no known type, and no error more
    if (this.scope.excusesName(e.name)) return undefined;
    return { t: "name", name: e.name, span: e };
  }

  /** A bare word that is not an enum value in its position is an undefined name. */
  private named(t: CType): CType {
    if (t.t !== "name") return t;
    const candidates = [...facts.keys(), ...this.scope.contexts.keys(), ...this.scope.variables.keys()];
    this.diagnostics.push(
      diagnostic("E107", `\`${t.name}\` is not a host fact, context or variable`, t.span, {
        suggestion: didYouMean(t.name, candidates) ?? (weekdays.includes(t.name as never) ? `compare it with the fact: \`weekday == ${t.name}\`` : undefined),
      }),
    );
    return { t: "boolean" };
  }

  private compare(op: CompareOp, leftE: Expr, rightE: Expr, span: Span): CType {
    const l = this.infer(leftE);
    const r = this.infer(rightE);
    // `1 < hour < 5`: the parser reported the chain; comparing its halves would only add noise
    if (!l || !r || leftE.kind === "compare") return { t: "boolean" };
    const mismatch = (why: string, hint?: string) => {
      this.diagnostics.push(diagnostic("E116", why, span, { suggestion: hint }));
      return { t: "boolean" } as CType;
    };
    // Enum facts compare with bare names: `weekday == friday`.
    const enumSide = l.t === "enum" ? l : r.t === "enum" ? r : undefined;
    if (enumSide && op !== "==" && op !== "!=" && op !== "in") {
      return mismatch(`\`${enumSide.fact}\` can only be tested with \`==\`, \`!=\` or \`in\`, not \`${op}\``, `list the values: \`${enumSide.fact} in [${enumSide.values.slice(0, 2).join(", ")}]\``);
    }
    if (enumSide) {
      const other = enumSide === l ? r : l;
      const otherE = enumSide === l ? rightE : leftE;
      const names = other.t === "list" ? other.items : [other];
      for (const n of names) {
        if (n.t === "name" && !enumSide.values.includes(n.name)) {
          this.diagnostics.push(
            diagnostic("E103", `\`${n.name}\` is not a value of \`${enumSide.fact}\``, n.span, {
              suggestion: didYouMean(n.name, enumSide.values) ?? `values are ${enumSide.values.join(", ")}`,
            }),
          );
        } else if (n.t !== "name" && n.t !== "enum") {
          return mismatch(`\`${enumSide.fact}\` is compared with ${words[n.t]} \`${exprText(otherE)}\``, `write one of ${enumSide.values.slice(0, 3).join(", ")}, …`);
        }
      }
      return { t: "boolean" };
    }
    const L = this.named(l);
    const R = op === "in" && r.t === "list" ? { t: "list" as const, items: r.items.map((i) => this.named(i)) } : this.named(r);
    // an unknown name was just reported (E107): its type is unknown, so is whether it compares
    if (l.t === "name" || r.t === "name" || (op === "in" && r.t === "list" && r.items.some((i) => i.t === "name"))) return { t: "boolean" };
    this.diagnostics.push(...rangeProblems(op, leftE, rightE, L.t === "number" ? L.range : undefined, R.t === "number" ? R.range : undefined));
    switch (op) {
      case "==":
      case "!=":
        if (L.t !== R.t || L.t === "list") return mismatch(`cannot compare ${words[L.t]} with ${words[R.t]} using \`${op}\``);
        return { t: "boolean" };
      case "<":
      case "<=":
      case ">":
      case ">=":
        if (L.t !== R.t || (L.t !== "number" && L.t !== "date"))
          return mismatch(`\`${op}\` compares two numbers or two dates, not ${words[L.t]} and ${words[R.t]}`);
        return { t: "boolean" };
      case "~":
      case "!~":
        if (L.t !== "string" || R.t !== "string") return mismatch(`\`${op}\` matches a string against a glob pattern in a string, not ${words[L.t]} and ${words[R.t]}`);
        return { t: "boolean" };
      case "=~": {
        if (L.t !== "string" || R.t !== "string") return mismatch(`\`=~\` matches a string against a regular expression in a string, not ${words[L.t]} and ${words[R.t]}`);
        const pattern = this.values.stringOf(rightE, { kind: "string" }, "the pattern");
        if (pattern !== INVALID) {
          try {
            new RegExp(pattern);
          } catch (err) {
            this.diagnostics.push(diagnostic("E103", `not a valid regular expression: ${(err as Error).message}`, rightE));
          }
        }
        return { t: "boolean" };
      }
      case "in":
        return this.membership(L, R, leftE, rightE, mismatch);
    }
  }

  private membership(L: CType, R: CType, leftE: Expr, rightE: Expr, mismatch: (why: string, hint?: string) => CType): CType {
    const isNetworkSide = L.t === "address" || L.t === "addresses";
    if (isNetworkSide) {
      const networks = R.t === "list" ? R.items : [R];
      for (const n of networks) if (n.t !== "string" && n.t !== "address") return mismatch(`\`in\` tests addresses against networks, not ${words[n.t]}`);
      this.values.check(rightE, { kind: "oneOrMany", of: { kind: "cidr" } }, "the networks of `in`");
      return { t: "boolean" };
    }
    if (R.t !== "list") return mismatch(`\`in\` needs a list on its right, not ${words[R.t]}`, `write \`${exprText(leftE)} in [${exprText(rightE)}]\``);
    for (const item of R.items) if (item.t !== L.t) return mismatch(`\`in\` compares ${words[L.t]} with a list holding ${words[item.t]}`);
    return { t: "boolean" };
  }

  /**
   * Reports each cycle of contexts once. Iterative, with the path kept as one stack: a context
   * graph is as long as the policy makes it (E123 bounds only how deep a definition is).
   */
  private findCycles(): void {
    const state = new Map<string, "active" | "done">();
    const reported = new Set<string>();
    const onPath = new Map<string, number>();
    for (const root of this.edges.keys()) {
      if (state.has(root)) continue;
      const path: string[] = [root];
      const next: number[] = [0];
      state.set(root, "active");
      onPath.set(root, 0);
      while (path.length > 0) {
        const top = path.length - 1;
        const name = path[top]!;
        const edge = this.edges.get(name)?.[next[top]!];
        if (edge === undefined) {
          state.set(name, "done");
          onPath.delete(name);
          path.pop();
          next.pop();
          continue;
        }
        next[top]!++;
        const s = state.get(edge.name);
        if (s === "active") {
          const cycle = [...path.slice(onPath.get(edge.name)), edge.name];
          const key = [...cycle].sort().join(",");
          if (!reported.has(key)) {
            reported.add(key);
            this.diagnostics.push(diagnostic("E115", `context \`${edge.name}\` is defined in terms of itself: ${cycle.join(" → ")}`, edge.span));
          }
        } else if (s === undefined) {
          state.set(edge.name, "active");
          onPath.set(edge.name, path.length);
          path.push(edge.name);
          next.push(0);
        }
      }
    }
  }
}

export type { ContextDecl };
