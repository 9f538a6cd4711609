// What checking a value does whatever its declared type (values.ts checks each type on top of
// it): a variable followed to the expression it holds, each use charged for what it expands to
// (bounds.ts) and a definition in terms of itself reported; an error found through a variable
// reported where the variable is used, with a note pointing at its definition; the text of a
// string with `${var}` interpolated, each variable's text found once; and what is said of a value
// of the wrong type or a name that is not defined.
import { exprText, type Expr, type LetDecl } from "../parser/ast.js";
import { diagnostic, type Diagnostic, type DiagnosticCode, type Span } from "../parser/diagnostics.js";
import { describeType, type ValueType } from "../promise-types/schema.js";
import { facts } from "../facts/catalog.js";
import type { Scope } from "./scope.js";
import { didYouMean } from "../parser/suggest.js";
import { MAX_EXPANDED_SIZE } from "./bounds.js";
import { PlainString } from "../parser/ast-factory.js";

/** What a value that failed its check is, once its error is reported. */
export const INVALID = Symbol("invalid");

const exprKindWords: Record<Expr["kind"], string> = {
  string: "a string",
  number: "a number",
  quantity: "a quantity",
  date: "a date",
  address: "an address",
  bool: "a boolean",
  ident: "a name",
  list: "a list",
  paren: "an expression",
  not: "a condition",
  logical: "a condition",
  compare: "a comparison",
};

interface Redirect {
  use: Span;
  variable: string;
}

/** The variables, strings and messages of value checking; ValueChecker (values.ts) is the checker itself. */
export abstract class ValueVariables {
  private readonly redirects: Redirect[] = [];
  private readonly resolving = new Set<string>();
  /**
   * The text of each variable put in a string, once found: every use then shares one string
   * (built once, and flattened once by whatever reads it) instead of building its own copy.
   * Only successes are kept: a failure is reported at each use, through its own chain. With each,
   * the other variables its text went through (`${base}` in it), when there are any: a use of a
   * known text uses them too, so that a control's uses are its own whichever control put the
   * variable in a string first (CheckMemo takes each control's uses again on their own).
   */
  private readonly texts = new Map<string, { text: string; through?: string[] }>();

  constructor(
    protected readonly scope: Scope,
    protected readonly diagnostics: Diagnostic[],
  ) {}

  report(code: DiagnosticCode, message: string, span: Span, suggestion?: string): void {
    const outer = this.redirects[0];
    if (!outer) {
      this.diagnostics.push(diagnostic(code, message, span, { suggestion }));
      return;
    }
    const chain = this.redirects.map((r) => `\`${r.variable}\``).join(" → ");
    this.diagnostics.push(
      diagnostic(code, `through variable ${chain}: ${message}`, outer.use, {
        suggestion,
        related: [{ span, message: "the value comes from here" }],
      }),
    );
  }

  /** Follows `ident` through variables, calling `inner` on the final expression. */
  protected throughVariable<T>(ident: Expr & { kind: "ident" }, decl: LetDecl, inner: (e: Expr) => T, onCycle: T): T {
    this.scope.usedVariables.add(decl.name.name);
    // each use from outside a variable pays for what it expands to (bounds.ts)
    if (this.redirects.length === 0 && !this.scope.chargeUse(decl.name.name, ident)) return onCycle;
    if (this.resolving.has(decl.name.name)) {
      this.report("E115", `variable \`${decl.name.name}\` is defined in terms of itself`, ident);
      return onCycle;
    }
    this.resolving.add(decl.name.name);
    this.redirects.push({ use: ident, variable: decl.name.name });
    try {
      return inner(decl.value);
    } finally {
      this.redirects.pop();
      this.resolving.delete(decl.name.name);
    }
  }

  variableOf(e: Expr): LetDecl | undefined {
    return e.kind === "ident" ? this.scope.variables.get(e.name) : undefined;
  }

  /** The text of a string literal with `${var}` interpolated. */
  stringOf(e: Expr, type: ValueType, subject: string): string | typeof INVALID {
    if (e.kind === "ident") {
      const decl = this.variableOf(e);
      if (decl) return this.throughVariable(e, decl, (v) => this.stringOf(v, type, subject), INVALID);
    }
    if (e.kind !== "string") return this.wrongType(e, type, subject) as typeof INVALID;
    if (e instanceof PlainString) return e.text; // the commonest case, without making its parts
    const only = e.parts.length === 1 ? e.parts[0] : undefined;
    if (typeof only === "string") return only; // the common case: plain text
    // every part is checked, so that each undefined variable of the string is reported, once
    let out = "";
    let failed = false;
    const seen = new Map<string, string | typeof INVALID>();
    for (const part of e.parts) {
      if (typeof part === "string") {
        out += part;
        continue;
      }
      const name = part.variable;
      let text = seen.get(name);
      if (text === undefined) {
        text = this.interpolated(part, subject);
        seen.set(name, text);
      }
      if (text === INVALID) failed = true;
      else if (!failed && out.length + text.length > MAX_EXPANDED_SIZE) {
        // each variable is bounded, but a string may use many: the string itself is bounded too
        this.report("E124", `this string expands to more than the ${MAX_EXPANDED_SIZE.toLocaleString("en")} characters a value may hold`, e, "build it from fewer copies of its variables");
        failed = true;
      } else out += text;
    }
    return failed ? INVALID : out;
  }

  /** The text of one `${name}` of a string, reported when there is none. */
  private interpolated(part: Span & { variable: string }, subject: string): string | typeof INVALID {
    const name = part.variable;
    const decl = this.scope.variables.get(name);
    if (!decl) {
      const isFact = facts.has(name);
      if (!this.scope.excusesName(name)) {
        this.report(
          "E106",
          isFact ? `\`${name}\` is a host fact: facts can be tested in contexts, not put in strings` : `undefined variable \`${name}\``,
          part,
          isFact ? undefined : didYouMean(name, this.scope.variables.keys()),
        );
      }
      return INVALID;
    }
    const known = this.texts.get(name);
    if (known !== undefined) {
      this.scope.usedVariables.add(name);
      if (known.through) for (const n of known.through) this.scope.usedVariables.add(n);
      return known.text;
    }
    const ident: Expr & { kind: "ident" } = { kind: "ident", name, file: part.file, start: part.start, end: part.end };
    const { result: text, variables } = this.scope.usesOf(() => this.throughVariable(ident, decl, (v) => this.scalarText(v, subject), INVALID as string | typeof INVALID));
    if (text !== INVALID) {
      variables.delete(name);
      this.texts.set(name, variables.size === 0 ? { text } : { text, through: [...variables] });
    }
    return text;
  }

  private scalarText(e: Expr, subject: string): string | typeof INVALID {
    switch (e.kind) {
      case "string":
        return this.stringOf(e, { kind: "string" }, subject);
      case "number":
      case "quantity":
      case "date":
      case "address":
      case "bool":
        return exprText(e);
      case "ident": {
        const decl = this.variableOf(e);
        if (decl) return this.throughVariable(e, decl, (v) => this.scalarText(v, subject), INVALID as string | typeof INVALID);
        return this.unknownName(e, { kind: "string" }, subject) as typeof INVALID;
      }
      default:
        this.report("E102", `only a single value can be put in a string, not ${exprKindWords[e.kind]}`, e);
        return INVALID;
    }
  }

  private unknownName(e: Expr & { kind: "ident" }, type: ValueType, subject: string): typeof INVALID {
    if (this.scope.excusesName(e.name)) return INVALID; // its declaration's error says it all
    const candidates = [...this.scope.variables.keys()];
    if (facts.has(e.name) || this.scope.contexts.has(e.name)) {
      this.report("E102", `\`${e.name}\` is a ${facts.has(e.name) ? "host fact" : "context"}, but ${subject} expects ${describeType(type)}`, e);
      return INVALID;
    }
    this.report("E106", `undefined variable \`${e.name}\` (${subject} expects ${describeType(type)})`, e, didYouMean(e.name, candidates) ?? quoteHint(type, e.name));
    return INVALID;
  }

  protected wrongType(e: Expr, type: ValueType, subject: string): typeof INVALID {
    if (e.kind === "ident" && !acceptsName(type, e.name)) return this.unknownName(e, type, subject);
    let hint: string | undefined;
    if (type.kind === "duration" && e.kind === "number") hint = `add a unit, such as \`${e.raw}s\` or \`${e.raw}m\``;
    else if (type.kind === "size" && e.kind === "number") hint = `add a unit, such as \`${e.raw}MB\``;
    else if (type.kind === "percent" && e.kind === "number") hint = `write \`${e.raw}%\``;
    else if (type.kind === "boolean" && e.kind === "string") hint = `write ${describeType(type)} without quotes`;
    else if (type.kind === "date" && e.kind === "string") hint = "write the date without quotes, such as `2026-12-31`";
    else if ((type.kind === "integer" || type.kind === "number" || type.kind === "port") && e.kind === "string" && /^"-?\d+(\.\d+)?"$/.test(e.raw))
      hint = `write ${e.raw.slice(1, -1)} without quotes`;
    else if (type.kind === "argv" && e.kind === "string") hint = "write the command as a list: each argument its own string";
    return this.fail("E102", `${subject} expects ${describeType(type)}, got ${exprKindWords[e.kind]} \`${shortText(e)}\``, e, hint);
  }

  protected fail(code: DiagnosticCode, message: string, e: Expr, suggestion?: string): typeof INVALID {
    this.report(code, message, e, suggestion);
    return INVALID;
  }
}

/** Whether a bare name is a value of this type itself (an enum member), not a variable. */
export function acceptsName(type: ValueType, name: string): boolean {
  switch (type.kind) {
    case "enum":
      return type.values.includes(name);
    case "boolean":
      return type.or?.includes(name) ?? false;
    case "list":
    case "oneOrMany":
      return acceptsName(type.of, name);
    case "union":
      return type.of.some((t) => acceptsName(t, name));
    default:
      return false;
  }
}

function quoteHint(type: ValueType, name: string): string | undefined {
  if (type.kind === "string" || type.kind === "path" || type.kind === "regex") return `to write text, quote it: \`"${name}"\``;
  return undefined;
}

function shortText(e: Expr): string {
  const t = e.kind === "string" ? e.raw : e.kind === "list" ? "[…]" : e.kind === "ident" ? e.name : "raw" in e ? e.raw : "…";
  return t.length > 40 ? `${t.slice(0, 40)}…` : t;
}
