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
    case "in":
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
  // the fact on the left: `n op fact` reads as `fact op' n`
  const range = leftRange ?? rightRange;
  if (!range || (leftRange && rightRange)) return [];
  const other = leftRange ? right : left;
  const factOp = leftRange ? op : (mirrored[op] ?? op);
  const numbers = other.kind === "list" ? other.items : [other];
  const out: Diagnostic[] = [];
  for (const e of numbers) {
    if (e.kind !== "number") continue;
    const truth = constantTruth(factOp, e.value, range);
    if (truth === undefined) continue;
    out.push(
      diagnostic("E103", `\`${range.fact}\` is ${range.min} to ${range.max}, never ${e.raw}: the comparison is ${truth ? "always true" : "never true"}`, e, {
        suggestion: `use a number from ${range.min} to ${range.max}`,
      }),
    );
  }
  return out;
}
