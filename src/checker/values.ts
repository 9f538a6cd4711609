// Checking one expression against one declared value type, following variables, and
// producing the typed value the evaluator will use. Errors found through a variable are
// reported where the variable is used, with a note pointing at its definition.
import { exprText, type Expr, type LetDecl, type Name } from "../parser/ast.js";
import { diagnostic, type Diagnostic, type DiagnosticCode, type Span } from "../parser/diagnostics.js";
import { allUnits, durationUnits, sizeUnits } from "../parser/literals.js";
import { describeType, type ValueType } from "../promise-types/schema.js";
import { facts } from "../facts/catalog.js";
import type { ConditionChecker } from "./conditions.js";
import type { Scope } from "./scope.js";
import { didYouMean } from "../parser/suggest.js";
import { cidrProblem } from "./networks.js";
import { modeProblem, pathProblem, regexProblem } from "./value-texts.js";
import { MAX_EXPANDED_SIZE } from "./bounds.js";
import { PlainString } from "../parser/ast-factory.js";

export const INVALID = Symbol("invalid");
export type Checked = unknown;

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

export class ValueChecker {
  conditions!: ConditionChecker;
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
    private readonly scope: Scope,
    private readonly diagnostics: Diagnostic[],
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
  private throughVariable<T>(ident: Expr & { kind: "ident" }, decl: LetDecl, inner: (e: Expr) => T, onCycle: T): T {
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

  /** Checks `e` against `type`; `subject` names what is being set, for messages. */
  check(e: Expr, type: ValueType, subject: string): Checked | typeof INVALID {
    // a quantity whose unit the parser reported as unknown (`10mb`): nothing more to say
    if (e.kind === "quantity" && !allUnits.includes(e.unit)) return INVALID;
    const isStakeholder = type.kind === "stakeholder" && e.kind === "ident" && this.scope.stakeholders.has(e.name);
    if (e.kind === "ident" && type.kind !== "condition" && !isStakeholder && !acceptsName(type, e.name)) {
      const decl = this.variableOf(e);
      if (decl) return this.throughVariable(e, decl, (v) => this.check(v, type, subject), INVALID);
    }
    switch (type.kind) {
      case "string":
        return this.stringValue(e, type, subject);
      case "integer":
      case "port":
        if (e.kind !== "number" || !Number.isInteger(e.value)) return this.wrongType(e, type, subject);
        return this.numberInRange(e, e.value, type, subject);
      case "number":
        if (e.kind !== "number") return this.wrongType(e, type, subject);
        return this.numberInRange(e, e.value, type, subject);
      case "boolean":
        if (e.kind === "ident" && type.or?.includes(e.name)) return e.name;
        if (e.kind !== "bool") return this.wrongType(e, type, subject);
        return e.value;
      case "duration":
        return this.durationValue(e, type, subject);
      case "size": {
        if (e.kind !== "quantity" || sizeUnits[e.unit] === undefined) return this.wrongType(e, type, subject);
        if (e.value < 0) return this.fail("E103", `${subject} cannot be negative`, e);
        return e.value * sizeUnits[e.unit]!;
      }
      case "percent":
        return this.percentValue(e, type, subject);
      case "sigma":
        if (e.kind !== "quantity" || e.unit !== "sigma") return this.wrongType(e, type, subject);
        if (e.value <= 0) return this.fail("E103", `${subject} must be more than 0 sigma`, e);
        return e.value;
      case "mode":
        return this.modeValue(e, type, subject);
      case "cidr":
        return this.cidrValue(e, type, subject);
      case "path":
        return this.pathValue(e, type, subject);
      case "regex":
        return this.regexValue(e, type, subject);
      case "date": {
        if (e.kind === "date") return e.raw;
        return this.wrongType(e, type, subject);
      }
      case "enum":
        return this.enumValue(e, type, subject);
      case "list": {
        if (e.kind !== "list") return this.wrongType(e, type, subject);
        if (type.nonEmpty && e.items.length === 0) return this.fail("E103", `${subject} must not be an empty list`, e);
        return this.items(e.items, type.of, subject);
      }
      case "oneOrMany":
        return this.listOrOne(e, type.of, subject);
      case "argv":
        return this.argvValue(e, type, subject);
      case "union":
        return this.unionValue(e, type, subject);
      case "stakeholder":
        if (e.kind !== "ident") return this.wrongType(e, type, subject);
        return this.stakeholder(e.name, e);
      case "condition":
        return this.conditions.checkCondition(e) ? e : INVALID;
    }
  }

  private stringValue(e: Expr, type: ValueType & { kind: "string" }, subject: string): Checked | typeof INVALID {
    const s = this.stringOf(e, type, subject);
    if (s === INVALID) return INVALID;
    if (type.nonEmpty && s === "") return this.fail("E103", `${subject} must not be empty`, e);
    if (type.pattern && !type.pattern.test(s)) return this.fail("E103", `\`${s}\` is not valid for ${subject}: expected ${type.patternHint}`, e);
    return s;
  }

  private durationValue(e: Expr, type: ValueType & { kind: "duration" }, subject: string): Checked | typeof INVALID {
    if (e.kind !== "quantity" || durationUnits[e.unit] === undefined) return this.wrongType(e, type, subject);
    const ms = e.value * durationUnits[e.unit]!;
    if (ms < 0) return this.fail("E103", `${subject} cannot be negative`, e);
    if (type.min !== undefined && ms < type.min) {
      const least = type.min % 1000 === 0 ? `${type.min / 1000}s` : `${type.min}ms`;
      return this.fail("E103", `${subject} must be at least \`${least}\`, got \`${e.raw}\``, e);
    }
    return ms;
  }

  private percentValue(e: Expr, type: ValueType & { kind: "percent" }, subject: string): Checked | typeof INVALID {
    // a bare number is not taken as a share: `10` next to `10%` and `10MB` is ambiguous
    const value = e.kind === "quantity" && e.unit === "%" ? e.value : undefined;
    if (value === undefined) return this.wrongType(e, type, subject);
    if (value < 0 || value > 100) return this.fail("E103", `${subject} must be between 0% and 100%, got \`${e.kind === "quantity" ? e.raw : value}\``, e);
    return value;
  }

  private modeValue(e: Expr, type: ValueType & { kind: "mode" }, subject: string): Checked | typeof INVALID {
    const raw = e.kind === "number" ? e.raw : e.kind === "string" ? this.stringOf(e, { kind: "string" }, subject) : undefined;
    if (raw === INVALID) return INVALID;
    if (raw === undefined) return this.wrongType(e, type, subject);
    const problem = modeProblem(raw);
    if (problem) return this.fail("E103", problem, e);
    return parseInt(raw, 8);
  }

  private cidrValue(e: Expr, type: ValueType & { kind: "cidr" }, subject: string): Checked | typeof INVALID {
    const raw = e.kind === "address" ? e.raw : e.kind === "string" ? this.stringOf(e, { kind: "string" }, subject) : undefined;
    if (raw === INVALID) return INVALID;
    if (raw === undefined) return this.wrongType(e, type, subject);
    const problem = cidrProblem(raw);
    if (problem) return this.fail("E103", `\`${raw}\` is not a valid address or network: ${problem}`, e);
    return raw;
  }

  private pathValue(e: Expr, type: ValueType & { kind: "path" }, subject: string): Checked | typeof INVALID {
    const s = this.stringOf(e, { kind: "string" }, subject);
    if (s === INVALID) return INVALID;
    const problem = pathProblem(s, type.glob, subject);
    return problem ? this.fail("E103", problem.message, e, problem.suggestion) : s;
  }

  private regexValue(e: Expr, type: ValueType & { kind: "regex" }, subject: string): Checked | typeof INVALID {
    const s = this.stringOf(e, { kind: "string" }, subject);
    if (s === INVALID) return INVALID;
    const problem = regexProblem(s, type.linear);
    return problem ? this.fail("E103", problem.message, e, problem.suggestion) : s;
  }

  private enumValue(e: Expr, type: ValueType & { kind: "enum" }, subject: string): Checked | typeof INVALID {
    if (e.kind === "ident") {
      if (type.values.includes(e.name)) return e.name;
      return this.fail("E103", `\`${e.name}\` is not a valid value for ${subject}: expected ${describeType(type)}`, e, didYouMean(e.name, type.values));
    }
    if (e.kind === "string") {
      const s = this.stringOf(e, { kind: "string" }, subject);
      if (s !== INVALID && type.values.includes(s)) return this.fail("E102", `${subject} takes a name, not a string`, e, `write \`${s}\` without quotes`);
    }
    return this.wrongType(e, type, subject);
  }

  private argvValue(e: Expr, type: ValueType & { kind: "argv" }, subject: string): Checked | typeof INVALID {
    const list = this.listOrOne(e, { kind: "string" }, subject);
    if (list === INVALID) return INVALID;
    const argv = list as string[];
    if (e.kind !== "list" && this.variableOf(e) === undefined) return this.wrongType(e, type, subject);
    if (argv.length === 0) return this.fail("E103", `${subject} needs at least the program to run`, e);
    if (!argv[0]!.startsWith("/")) return this.fail("E103", `the program \`${argv[0]}\` must be an absolute path: commands run without a shell or PATH search`, e);
    return argv;
  }

  private unionValue(e: Expr, type: ValueType & { kind: "union" }, subject: string): Checked | typeof INVALID {
    const saved = this.diagnostics.length;
    for (const t of type.of) {
      const v = this.check(e, t, subject);
      if (v !== INVALID) {
        this.diagnostics.length = saved;
        // tagged, so that the evaluator can tell `10%` from `10MB` (both numbers once checked)
        return { kind: t.kind, value: v };
      }
      this.diagnostics.length = saved;
    }
    return this.wrongType(e, type, subject);
  }

  /** A name after a promise's `->`: a stakeholder, or a variable holding one or a list of them. */
  headerStakeholder(name: Name): string[] | typeof INVALID {
    if (!this.scope.stakeholders.has(name.name) && this.scope.variables.has(name.name)) {
      const ident: Expr = { kind: "ident", name: name.name, file: name.file, start: name.start, end: name.end };
      const held = this.check(ident, { kind: "oneOrMany", of: { kind: "stakeholder" } }, "the promise's stakeholders");
      return held === INVALID ? INVALID : (held as string[]);
    }
    const one = this.stakeholder(name.name, name);
    return one === INVALID ? INVALID : [one];
  }

  stakeholder(name: string, span: Span): string | typeof INVALID {
    if (this.scope.stakeholders.has(name)) return name;
    if (this.scope.excusesName(name)) return INVALID; // its declaration's error says it all
    this.report(
      "E113",
      `unknown stakeholder \`${name}\``,
      span,
      didYouMean(name, [...this.scope.stakeholders.keys(), ...this.scope.variables.keys()]) ?? `declare it with \`stakeholder ${name}\``,
    );
    return INVALID;
  }

  private listOrOne(e: Expr, of: ValueType, subject: string): Checked[] | typeof INVALID {
    if (e.kind === "ident") {
      const decl = this.variableOf(e);
      if (decl) return this.throughVariable(e, decl, (v) => this.listOrOne(v, of, subject), INVALID);
    }
    if (e.kind === "list") return this.items(e.items, of, subject);
    const one = this.check(e, of, subject);
    return one === INVALID ? INVALID : [one];
  }

  private items(items: Expr[], of: ValueType, subject: string): Checked[] | typeof INVALID {
    const out: Checked[] = [];
    let ok = true;
    for (const item of items) {
      // `[app_servers, "10.1.0.0/16"]`: a variable holding a list is spliced into the list
      const decl = of.kind !== "list" && of.kind !== "argv" ? this.variableOf(item) : undefined;
      if (decl && this.holdsList(decl)) {
        const spliced = this.listOrOne(item, of, subject);
        if (spliced === INVALID) ok = false;
        else if (out.length + spliced.length > MAX_EXPANDED_SIZE) {
          // each variable is bounded, but a list may splice in many: the list itself is bounded too
          this.report("E124", `this list expands to more than the ${MAX_EXPANDED_SIZE.toLocaleString("en")} items a value may hold`, item, "splice fewer copies of its variables");
          return INVALID;
        } else for (const x of spliced) out.push(x); // not push(...spliced): its arguments would go on the stack
        continue;
      }
      const v = this.check(item, of, `an item of ${subject}`);
      if (v === INVALID) ok = false;
      else if (Array.isArray(v) && of.kind !== "list" && of.kind !== "argv") for (const x of v as Checked[]) out.push(x);
      else out.push(v);
    }
    return ok ? out : INVALID;
  }

  private holdsList(decl: LetDecl, seen = new Set<string>()): boolean {
    if (decl.value.kind === "list") return true;
    const next = this.variableOf(decl.value);
    if (!next || seen.has(next.name.name)) return false;
    seen.add(decl.name.name);
    return this.holdsList(next, seen);
  }

  private numberInRange(e: Expr, value: number, type: ValueType & { kind: "integer" | "port" | "number" }, subject: string): Checked {
    const [min, max] = type.kind === "port" ? [1, 65535] : [type.min, type.max];
    if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
      return this.fail("E103", `${subject} must be ${describeType(type)}, got \`${value}\``, e);
    }
    return value;
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

  private wrongType(e: Expr, type: ValueType, subject: string): typeof INVALID {
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

  private fail(code: DiagnosticCode, message: string, e: Expr, suggestion?: string): typeof INVALID {
    this.report(code, message, e, suggestion);
    return INVALID;
  }
}

/** Whether a bare name is a value of this type itself (an enum member), not a variable. */
function acceptsName(type: ValueType, name: string): boolean {
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

