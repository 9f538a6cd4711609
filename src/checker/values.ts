// Checking one expression against one declared value type, following variables, and
// producing the typed value the evaluator will use. Errors found through a variable are
// reported where the variable is used, with a note pointing at its definition (the variables,
// strings and messages every type shares are value-variables.ts's).
import type { Expr, LetDecl, Name } from "../parser/ast.js";
import type { Span } from "../parser/diagnostics.js";
import { allUnits, durationUnits, sizeUnits } from "../parser/literals.js";
import { describeType, type ValueType } from "../promise-types/schema.js";
import type { ConditionChecker } from "./conditions.js";
import { didYouMean } from "../parser/suggest.js";
import { cidrProblem } from "./networks.js";
import { modeProblem, pathProblem, regexProblem } from "./value-texts.js";
import { MAX_EXPANDED_SIZE } from "./bounds.js";
import { acceptsName, INVALID, ValueVariables } from "./value-variables.js";

export { INVALID } from "./value-variables.js";
export type Checked = unknown;

export class ValueChecker extends ValueVariables {
  conditions!: ConditionChecker;

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
}
