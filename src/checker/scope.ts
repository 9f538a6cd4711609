// The policy's global names: variables, contexts, stakeholders, controls and handles, collected
// from every file before anything is checked, so that order of declaration never matters.
import { leadingSpan, literalText, type ContextDecl, type ControlDecl, type LetDecl, type SourceFile, type StakeholderDecl, type CalendarDecl, type PromiseTypeDecl, type WaiverDecl, type Name, type StringPart } from "../parser/ast.js";
import { diagnostic, type Diagnostic, type Span } from "../parser/diagnostics.js";
import { facts } from "../facts/catalog.js";
import { ExpansionBudget, literalSize, measureDefinitions } from "./bounds.js";

export class Scope {
  readonly variables = new Map<string, LetDecl>();
  readonly contexts = new Map<string, ContextDecl>();
  readonly stakeholders = new Map<string, StakeholderDecl>();
  readonly controls: ControlDecl[] = [];
  readonly controlIds = new Map<string, ControlDecl>();
  readonly waivers: WaiverDecl[] = [];
  readonly calendars: CalendarDecl[] = [];
  /** the site's own promise types (`promise_type`), in order */
  readonly promiseTypes: PromiseTypeDecl[] = [];
  usedVariables = new Set<string>();
  usedContexts = new Set<string>();
  /**
   * Names of variables, contexts and stakeholders, and ids of controls, whose declarations a
   * syntax error cut short: declared, so that their uses are not reported as unknown too.
   */
  readonly incompleteNames = new Set<string>();
  readonly incompleteControls = new Set<string>();
  /** what each variable expands to (bounds.ts), for the budget below */
  private readonly sizes: Map<string, number>;
  /** what following variables from their uses may still produce in all */
  readonly budget: ExpansionBudget;

  /**
   * @param someFileUnread a policy file (named or imported) could not be read or was refused: any
   * name the policy uses but does not declare may be declared there, so its use is no error of
   * its own (the file's error says what to fix; once it is read, what is still unknown is told).
   */
  constructor(
    readonly files: SourceFile[],
    private readonly diagnostics: Diagnostic[],
    readonly someFileUnread = false,
  ) {
    for (const file of files) {
      for (const d of file.incomplete) (d.kind === "control" ? this.incompleteControls : this.incompleteNames).add(d.name);
      for (const s of file.statements) {
        switch (s.kind) {
          case "let":
            this.define(this.variables, s.name, s, "variable");
            break;
          case "context":
            this.define(this.contexts, s.name, s, "context");
            break;
          case "stakeholder":
            this.define(this.stakeholders, s.name, s, "stakeholder");
            break;
          case "control": {
            this.controls.push(s);
            literalOnly(s.id, "control ids", diagnostics);
            const id = literalText(s.id);
            const first = this.controlIds.get(id);
            if (first) {
              diagnostics.push(
                diagnostic("E108", `control id \`${id}\` is already used`, s.id, {
                  related: [{ span: first.id, message: "first used here" }],
                  suggestion: "give each control its own id",
                }),
              );
            } else this.controlIds.set(id, s);
            break;
          }
          case "waiver":
            this.waivers.push(s);
            literalOnly(s.control, "waivers' control ids", diagnostics);
            break;
          case "calendar":
            if (this.calendars.length > 0) {
              diagnostics.push(
                diagnostic("E114", "a policy has one `calendar`", leadingSpan(s, "calendar"), {
                  related: [{ span: this.calendars[0]!, message: "first defined here" }],
                  suggestion: "merge the two calendars",
                }),
              );
            }
            this.calendars.push(s);
            break;
          case "promise_type":
            this.promiseTypes.push(s);
            break;
          case "import":
            break;
        }
      }
    }
    // A definition too deep or too large to follow is reported once, where it crosses the
    // bound; then it is declared but not followed, as one a syntax error cut short.
    // (the two maps as they are, not merged into a third: a policy may hold 400,000 variables)
    const measured = measureDefinitions([this.variables, this.contexts], diagnostics);
    for (const name of measured.over) {
      this.variables.delete(name);
      this.contexts.delete(name);
      this.incompleteNames.add(name);
    }
    for (const name of measured.usedByOver) {
      if (this.variables.has(name)) this.usedVariables.add(name);
      if (this.contexts.has(name)) this.usedContexts.add(name);
    }
    this.sizes = measured.sizes;
    this.budget = new ExpansionBudget(files.reduce((n, f) => n + f.text.length, 0));
  }

  /** Charges one use of variable `name` to the budget; false once the budget is spent (reported once). */
  chargeUse(name: string, use: Span): boolean {
    let size = this.sizes.get(name);
    if (size === undefined) {
      // a literal no definition uses: measured at its first use (small ones each time: cheap)
      const decl = this.variables.get(name);
      size = decl ? literalSize(decl.value) : 1;
      if (size > 64) this.sizes.set(name, size);
    }
    return this.budget.take(size, use, this.diagnostics);
  }

  /** Runs `check` with the names it uses collected apart (then added to the policy's): what one declaration's check used. */
  usesOf<T>(check: () => T): { result: T; variables: Set<string>; contexts: Set<string> } {
    const [variables, contexts] = [this.usedVariables, this.usedContexts];
    const own = { variables: new Set<string>(), contexts: new Set<string>() };
    this.usedVariables = own.variables;
    this.usedContexts = own.contexts;
    try {
      return { result: check(), ...own };
    } finally {
      this.usedVariables = variables;
      this.usedContexts = contexts;
      for (const n of own.variables) variables.add(n);
      for (const n of own.contexts) contexts.add(n);
    }
  }

  /** Whether an undeclared name is excused: a declaration cut short by a syntax error, or a file not read, may hold it. */
  excusesName(name: string): boolean {
    return this.someFileUnread || this.incompleteNames.has(name);
  }

  /** Whether an unknown control id is excused, as excusesName for names. */
  excusesControl(id: string): boolean {
    return this.someFileUnread || this.incompleteControls.has(id);
  }
  private define<T extends { name: Name }>(map: Map<string, T>, name: Name, decl: T, what: string) {
    if ((what === "variable" || what === "context") && facts.has(name.name)) {
      // conditions read host facts first: a variable or context of the same name would be ignored
      this.diagnostics.push(diagnostic("E114", `\`${name.name}\` is a host fact and cannot be redefined as a ${what}`, name, { suggestion: "choose another name" }));
      return;
    }
    const first = map.get(name.name);
    if (first) {
      this.diagnostics.push(
        diagnostic("E114", `${what} \`${name.name}\` is already defined`, name, {
          related: [{ span: first.name, message: "first defined here" }],
        }),
      );
      return;
    }
    // One namespace for variables and contexts: a name must say which it is.
    const other = what === "variable" ? this.contexts.get(name.name) : what === "context" ? this.variables.get(name.name) : undefined;
    if (other) {
      this.diagnostics.push(
        diagnostic("E114", `\`${name.name}\` is already defined as a ${what === "variable" ? "context" : "variable"}`, name, {
          related: [{ span: other.name, message: "defined here" }],
        }),
      );
      return;
    }
    map.set(name.name, decl);
  }
}

/** Ids and import paths are read before any variable is known: they must be written out. */
export function literalOnly(s: { parts: StringPart[] } & Span, what: string, diagnostics: Diagnostic[]): void {
  if (s.parts.some((p) => typeof p !== "string")) {
    diagnostics.push(diagnostic("E102", `${what} cannot contain \`\${…}\``, s, { suggestion: "write the text out in full" }));
  }
}
