// Bounds on what variables and contexts may expand to, checked before anything follows them.
//
// The parser bounds the nesting of one expression (MAX_NESTING), but names multiply it: a
// chain of 5,000 contexts each defined from the one before is 5,000 levels deep to anything
// that follows it (the checker, the evaluator), and 28 variables each doubling the one before
// (`let a1 = "${a0}${a0}"`) hold 2^28 characters from 300 bytes of policy. Both are measured
// here on the graph of definitions, iteratively and once per name, and a name past a bound is
// reported where it crosses it and is then treated as declared but unusable (like a
// declaration cut short by a syntax error), so that nothing follows it any further.
import type { ContextDecl, Expr, LetDecl } from "../parser/ast.js";
import { diagnostic, type Diagnostic, type Span } from "../parser/diagnostics.js";

/**
 * Deepest a definition may be, counted in expression levels with the definitions it uses
 * counted in: `context b = a and x` is two levels deeper than `a`. Generous for any real
 * policy (a chain of 128 such contexts), and small enough that following it recursively
 * (checker, evaluator) stays far from the stack's limit.
 */
export const MAX_DEFINITION_DEPTH = 256;

/**
 * Most a variable may expand to, with the variables it uses expanded: characters of a string,
 * items of a list (16 Mi, the default cap on a policy file's size).
 */
export const MAX_EXPANDED_SIZE = 16 * 1024 * 1024;

/** A use of a name inside a definition: the name, where it is written, how deep in the expression. */
interface Reference {
  name: string;
  span: Span;
  level: number;
}

interface Shape {
  /** the expression's own height and size, without what its names expand to */
  height: number;
  size: number;
  refs: Reference[];
}

type Decl = LetDecl | ContextDecl;
const valueOf = (d: Decl): Expr => (d.kind === "let" ? d.value : d.expr);

/** The names an expression uses (identifiers and `${…}`), with its height and literal size. */
function shapeOf(root: Expr): Shape {
  const refs: Reference[] = [];
  // depth-first with an explicit stack: an expression is at most MAX_NESTING deep, but this
  // costs nothing and keeps the function independent of that bound
  const stack: [Expr, number][] = [[root, 1]];
  let height = 0;
  let size = 0;
  while (stack.length > 0) {
    const [e, level] = stack.pop()!;
    height = Math.max(height, level);
    switch (e.kind) {
      case "ident":
        refs.push({ name: e.name, span: e, level });
        size += 1;
        break;
      case "string":
        for (const p of e.parts) {
          if (typeof p === "string") size += p.length;
          else {
            refs.push({ name: p.variable, span: p, level: level + 1 });
            size += 1;
          }
        }
        break;
      case "list":
        size += 1;
        for (const item of e.items) stack.push([item, level + 1]);
        break;
      case "paren":
        stack.push([e.inner, level + 1]);
        break;
      case "not":
        stack.push([e.operand, level + 1]);
        break;
      case "logical":
        for (const o of e.operands) stack.push([o, level + 1]);
        break;
      case "compare":
        stack.push([e.left, level + 1], [e.right, level + 1]);
        break;
      default:
        size += 1;
    }
  }
  return { height, size, refs };
}

interface Measure {
  depth: number;
  size: number;
  /** past a bound: reported here or at a name it uses */
  over: boolean;
}

export interface Measured {
  /** names past a bound, reported or built on one that is: the checker must not follow them */
  over: Set<string>;
  /** what each name that uses names, or is used by one, expands to (the others: literalSize) */
  sizes: Map<string, number>;
  /** the names the definitions past a bound use, directly or not: used, though the checker will not follow them there */
  usedByOver: Set<string>;
}

/**
 * Measures every variable and context; reports each that crosses a bound (E123 too deep,
 * E124 too large) where it does.
 */
export function measureDefinitions(maps: readonly ReadonlyMap<string, Decl>[], diagnostics: Diagnostic[]): Measured {
  const lookUp = (name: string): Decl | undefined => {
    for (const m of maps) {
      const d = m.get(name);
      if (d) return d;
    }
    return undefined;
  };
  const measured = new Map<string, Measure>();
  const active = new Set<string>();
  const over = new Set<string>();
  const refsOf = new Map<string, Reference[]>();
  type Frame = { name: string; decl: Decl; shape: Shape; next: number };
  const enter = (name: string, decl: Decl): Frame => {
    active.add(name);
    return { name, decl, shape: shapeOf(valueOf(decl)), next: 0 };
  };
  for (const decls of maps) for (const rootDecl of decls.values()) {
    const rootName = rootDecl.name.name;
    if (measured.has(rootName)) continue;
    const stack: Frame[] = [enter(rootName, rootDecl)];
    while (stack.length > 0) {
      const f = stack.at(-1)!;
      // descend into the next name not yet measured (a name being measured is a cycle, which
      // E115 reports: it adds nothing here)
      const ref = f.shape.refs[f.next];
      if (ref !== undefined) {
        f.next++;
        const target = lookUp(ref.name);
        if (target && !measured.has(ref.name) && !active.has(ref.name)) stack.push(enter(ref.name, target));
        continue;
      }
      stack.pop();
      active.delete(f.name);
      // A definition that uses no name is within bounds (the parser bounds its nesting) and is
      // measured again if another uses it; kept only then: most of a large policy's variables
      // are literals nothing else uses, and a record of each was 250 bytes a variable.
      if (f.shape.refs.length === 0 && stack.length === 0) continue;
      const m = finish(f.decl, f.shape, measured, diagnostics);
      measured.set(f.name, m);
      if (f.shape.refs.length > 0) refsOf.set(f.name, f.shape.refs);
      if (m.over) over.add(f.name);
    }
  }
  // what the names past a bound use, all the way down (iteratively: a chain may be long)
  const usedByOver = new Set<string>();
  const pending = [...over];
  while (pending.length > 0) {
    for (const r of refsOf.get(pending.pop()!) ?? []) {
      if (usedByOver.has(r.name)) continue;
      usedByOver.add(r.name);
      pending.push(r.name);
    }
  }
  const sizes = new Map<string, number>();
  for (const [name, m] of measured) sizes.set(name, m.size);
  return { over, sizes, usedByOver };
}

/** What a definition that uses no name expands to: its literal size. */
export function literalSize(value: Expr): number {
  return shapeOf(value).size;
}

/** A definition's measure once every name it uses is measured; reports it if it crosses a bound. */
function finish(decl: Decl, shape: Shape, measured: ReadonlyMap<string, Measure>, diagnostics: Diagnostic[]): Measure {
  let depth = shape.height;
  let size = shape.size;
  let deepest: Reference | undefined;
  let inherited = false;
  for (const ref of shape.refs) {
    const m = measured.get(ref.name);
    if (!m) continue; // a fact, an unknown name, or a cycle
    if (m.over) inherited = true;
    if (ref.level + m.depth > depth) {
      depth = ref.level + m.depth;
      deepest = ref;
    }
    // a variable's value is copied where it is used; a context is only tested
    if (decl.kind === "let") size += m.size - 1;
  }
  const tooDeep = depth > MAX_DEFINITION_DEPTH;
  const tooLarge = size > MAX_EXPANDED_SIZE;
  if (inherited || (!tooDeep && !tooLarge)) return { depth, size, over: inherited };
  const what = `${decl.kind === "let" ? "variable" : "context"} \`${decl.name.name}\``;
  if (tooDeep) {
    diagnostics.push(
      diagnostic("E123", `${what} is defined through more than ${MAX_DEFINITION_DEPTH} levels of expressions and the names they use`, deepest?.span ?? valueOf(decl), {
        suggestion: "define it from fewer intermediate contexts or variables",
      }),
    );
  } else {
    diagnostics.push(
      diagnostic("E124", `${what} expands to ${size.toLocaleString("en")} characters or items, more than the ${MAX_EXPANDED_SIZE.toLocaleString("en")} a value may hold`, valueOf(decl), {
        suggestion: "a value built from variables may not grow past that: build it from fewer copies",
      }),
    );
  }
  return { depth, size, over: true };
}

/** What following variables from uses may still produce in all, shared by the checkers. */
export class ExpansionBudget {
  private left: number;
  private reported = false;
  /** Room for every use to copy its variable a few times over the size of the policy itself. */
  constructor(sourceChars: number) {
    this.left = 4 * MAX_EXPANDED_SIZE + 4 * sourceChars;
  }
  /** What is left: below zero once spent. */
  get remaining(): number {
    return this.left;
  }
  /**
   * Takes again what a check made before took (CheckMemo), when that leaves the budget unspent,
   * as it did then: false, and nothing taken, when it would not (the check is then made again).
   */
  retake(size: number): boolean {
    if (size === 0) return true;
    if (this.left - size < 0) return false;
    this.left -= size;
    return true;
  }
  /** Takes `size` from the budget; false (and one E124, the first time) once it is spent. */
  take(size: number, use: Span, diagnostics: Diagnostic[]): boolean {
    this.left -= size;
    if (this.left >= 0) return true;
    if (!this.reported) {
      this.reported = true;
      diagnostics.push(
        diagnostic("E124", "the policy's uses of variables expand to more values in all than a check may build", use, {
          suggestion: "use large variables in fewer places",
        }),
      );
    }
    return false;
  }
}
