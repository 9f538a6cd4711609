// Comparisons of a bounded fact with a number outside its bounds (`month == 13`, `hour > 24`,
// `day_of_month in [0, 1]`): always true or never true, so almost certainly a mistake.
import type { CompareOp, Expr } from "../parser/ast.js";
import { diagnostic, type Diagnostic } from "../parser/diagnostics.js";

export interface FactRange {
  fact: string;
  min: number;
  max: number;
}

const mirrored: Partial<Record<CompareOp, CompareOp>> = { "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

/** What `fact op n` always is when `n` lies outside the fact's range (undefined: it depends). */
function constantTruth(op: CompareOp, n: number, r: FactRange): boolean | undefined {
  if (n >= r.min && n <= r.max) return undefined;
  const below = n < r.min; // else above
  switch (op) {
    case "==":
      return false;
    case "!=":
      return true;
    case "<":
    case "<=":
      return !below;
    case ">":
    case ">=":
      return below;
    default:
      return undefined;
  }
}

/** The diagnostics for `left op right` where either side may be a bounded fact. */
export function rangeProblems(op: CompareOp, left: Expr, right: Expr, leftRange: FactRange | undefined, rightRange: FactRange | undefined): Diagnostic[] {
  const outside = (r: FactRange, e: Expr): e is Expr & { kind: "number" } => e.kind === "number" && (e.value < r.min || e.value > r.max);
  const suggestion = (r: FactRange) => ({ suggestion: `use a number from ${r.min} to ${r.max}` });
  if (op === "in") {
    // `quarter in [4, 5]`: the items the fact can never equal; the test as a whole may hold
    if (!leftRange || right.kind !== "list") return [];
    return right.items.filter((e) => outside(leftRange, e)).map((e) => diagnostic("E103", `\`${leftRange.fact}\` is ${leftRange.min} to ${leftRange.max}: \`${e.raw}\` never matches`, e, suggestion(leftRange)));
  }
  if (leftRange && rightRange) return [];
  const range = leftRange ?? rightRange;
  const other = leftRange ? right : left;
  if (!range || !outside(range, other)) return [];
  // the fact on the left: `n op fact` reads as `fact op' n`
  const truth = constantTruth(leftRange ? op : (mirrored[op] ?? op), other.value, range);
  if (truth === undefined) return [];
  return [diagnostic("E103", `\`${range.fact}\` is ${range.min} to ${range.max}, never ${other.raw}: the comparison is ${truth ? "always true" : "never true"}`, other, suggestion(range))];
}
