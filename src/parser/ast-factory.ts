// Builds AST nodes from tokens for the grammar's actions: literals (with their diagnostics),
// names, ranges, and the precedence of a flat run of operands and operators.
import type { IToken } from "chevrotain";
import type { Attribute, CompareOp, Expr, IncompleteDecl, Name } from "./ast.js";
import { diagnostic, pushBounded, type Counts, type Diagnostic, type Span } from "./diagnostics.js";
import { allUnits, decodeString, dedent, isValidDate, needsDecoding, splitQuantity } from "./literals.js";
import * as T from "./tokens.js";

export { PlainString } from "./plain-string.js";
import { PlainString } from "./plain-string.js";

/** A token really in the source: error recovery inserts tokens with no position. */
export function real(t: IToken | undefined): t is IToken {
  return t !== undefined && !Number.isNaN(t.startOffset);
}

export class AstFactory {
  /** problems found in literals (units, dates, escapes) and chained comparisons */
  readonly diagnostics: Diagnostic[] = [];
  /** declarations cut short whose names are known */
  readonly incomplete: IncompleteDecl[] = [];
  /** `source`: the file's text, which plain strings' texts are cut from */
  constructor(
    readonly file: string,
    private readonly source = "",
  ) {}
  /** diagnostics past MAX_DIAGNOSTICS: counted, not kept (a file of a million errors must not hold a million) */
  readonly dropped: Counts = { errors: 0, warnings: 0 };
  private report(d: Diagnostic): void {
    pushBounded(this.diagnostics, d, this.dropped);
  }

  // Offsets are stored as small integers, never NaN: one node with a NaN offset (a token
  // recovery inserted, or Chevrotain's stand-in token while it records the grammar) would make
  // V8 store the offsets of every node of its shape as boxed doubles, a heap object each.
  span(start: number, end: number): Span {
    return { file: this.file, start: start | 0, end: end | 0 };
  }
  name(t: IToken): Name {
    const start = t.startOffset | 0;
    return { name: t.image, file: this.file, start, end: (start + t.image.length) | 0 };
  }

  attribute(name: IToken, value: Expr): Attribute {
    return { kind: "attribute", name: name.image, value, file: this.file, start: name.startOffset | 0, end: value.end };
  }

  /** The value of a literal or name token; undefined for a token recovery inserted. */
  literal(t: IToken): Expr | undefined {
    if (Number.isNaN(t.startOffset)) return undefined;
    const file = this.file;
    const start = t.startOffset | 0;
    const end = (start + t.image.length) | 0;
    switch (t.tokenType) {
      case T.StringLiteral:
      case T.TextBlock:
      case T.UnterminatedTextBlock:
      case T.UnterminatedString:
        return this.stringLiteral(t);
      case T.Identifier:
        return { kind: "ident", name: t.image, file, start, end };
      case T.NumberLiteral:
        return { kind: "number", raw: t.image, value: Number(t.image), file, start, end };
      case T.Quantity:
        return this.quantity(t, start, end);
      case T.DateLiteral: {
        const date: Expr = { kind: "date", raw: t.image, file, start, end };
        if (!isValidDate(t.image)) this.report(diagnostic("E005", `\`${t.image}\` is not a valid date`, date, { suggestion: "dates are written YYYY-MM-DD" }));
        return date;
      }
      case T.AddressLiteral:
      case T.Ipv6Literal:
        return { kind: "address", raw: t.image, file, start, end };
      case T.True:
        return { kind: "bool", value: true, file, start, end };
      case T.False:
        return { kind: "bool", value: false, file, start, end };
      default:
        return undefined;
    }
  }

  private quantity(t: IToken, start: number, end: number): Expr {
    const { value, unit } = splitQuantity(t.image);
    const quantity: Expr = { kind: "quantity", raw: t.image, value, unit, file: this.file, start, end };
    if (unit !== "sigma" && /[ \t]/.test(t.image)) {
      const glued = `${t.image.slice(0, t.image.length - unit.length).trimEnd()}${unit}`;
      this.report(diagnostic("E005", `a unit is written right after its number: \`${t.image}\``, quantity, { suggestion: `write \`${glued}\`` }));
    } else if (!allUnits.includes(unit)) {
      const near = allUnits.find((u) => u.toLowerCase() === unit.toLowerCase());
      this.report(
        diagnostic("E005", `unknown unit \`${unit}\` in \`${t.image}\``, quantity, {
          suggestion: near ? `did you mean \`${t.image.slice(0, t.image.length - unit.length)}${near}\`?` : `units are ${allUnits.join(", ")}`,
        }),
      );
    }
    return quantity;
  }

  stringLiteral(t: IToken): Expr & { kind: "string" } {
    const raw = t.image;
    const start = t.startOffset | 0;
    const end = (start + raw.length) | 0;
    // the commonest literal of a large policy (a list of 100,000 names): kept as its text alone
    if (t.tokenType === T.StringLiteral && !needsDecoding(raw)) return new PlainString(this.source.slice(start + 1, end - 1), this.file, start, end);
    const quote = raw.startsWith('"""') ? 3 : 1;
    const closed = t.tokenType !== T.UnterminatedString && t.tokenType !== T.UnterminatedTextBlock;
    const body = raw.slice(quote, closed ? raw.length - quote : raw.length);
    let decoded;
    if (quote === 3) {
      const { text, origin } = dedent(body);
      decoded = decodeString(text, (i) => t.startOffset + quote + origin(i), this.file);
    } else decoded = decodeString(body, t.startOffset + quote, this.file);
    for (const p of decoded.problems) this.report(diagnostic("E005", p.message, this.span(p.start, p.end)));
    return { kind: "string", raw, parts: decoded.parts, file: this.file, start, end };
  }

  /**
   * Applies precedence to a flat run `operand (op operand)*` whose operands may be preceded by
   * `not`s: `not` binds looser than a comparison and tighter than `and`, which binds tighter
   * than `or`. The depth of the result is bounded by the number of precedence levels and
   * parentheses, never by the length of the input.
   */
  withPrecedence(operands: Expr[], ops: IToken[], notsBefore: (IToken[] | undefined)[]): Expr | undefined {
    const negate = (e: Expr, ts: IToken[] | undefined): Expr => {
      if (ts) for (let i = ts.length - 1; i >= 0; i--) e = { kind: "not", operand: e, file: this.file, start: ts[i]!.startOffset | 0, end: e.end };
      return e;
    };
    const orParts: Expr[] = [];
    let andParts: Expr[] = [];
    let i = 0;
    while (i < operands.length) {
      // one comparison unit: operand (cmp operand)?; nots before its first operand negate the unit
      const unitNots = notsBefore[i];
      let unit = operands[i]!;
      while (i < ops.length && ops[i]!.image !== "and" && ops[i]!.image !== "or") {
        const op = ops[i]!;
        const right = negate(operands[i + 1]!, notsBefore[i + 1]);
        if (unit.kind === "compare") {
          this.report(
            diagnostic("E003", `comparisons cannot be chained: \`${op.image}\` follows another comparison`, this.span(op.startOffset, op.startOffset + op.image.length), {
              suggestion: "join the two comparisons with `and`",
            }),
          );
        }
        // a chain (reported above) keeps its first comparison on the left, so that the tree stays
        // two levels deep however long the chain: `1 < 2 < 3 < …` must not nest 100,000 deep
        const left = unit.kind === "compare" && unit.left.kind === "compare" ? unit.left : unit;
        unit = { kind: "compare", op: op.image as CompareOp, left, right, file: this.file, start: unit.start, end: right.end };
        i++;
      }
      andParts.push(negate(unit, unitNots));
      const op = ops[i]?.image;
      i++;
      if (op !== "and") {
        orParts.push(this.logical("and", andParts)!);
        andParts = [];
      }
    }
    return this.logical("or", orParts);
  }

  private logical(op: "and" | "or", operands: Expr[]): Expr | undefined {
    if (operands.length === 0) return undefined;
    if (operands.length === 1) return operands[0];
    return { kind: "logical", op, operands, file: this.file, start: operands[0]!.start, end: operands.at(-1)!.end };
  }
}
