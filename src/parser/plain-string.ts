// The AST node of a plain string literal, apart from the grammar: the policy cache
// (cli/policy-wire.ts) makes these again without loading the parser.
import type { StringPart } from "./ast.js";

/**
 * A string literal with no escape and no `${…}`: its text is its one part. It holds only that
 * text (cut from the source: a slice of a long text shares the source's characters); its raw
 * form and its parts are made when asked for. An object literal with `raw` and a `parts` array
 * took three objects per string, 150 bytes for `"x123"` (bench/README.md, input).
 */
export class PlainString {
  /** on the prototype, not on each of a million strings */
  declare readonly kind: "string";
  constructor(
    readonly text: string,
    readonly file: string,
    readonly start: number,
    readonly end: number,
  ) {}
  get raw(): string {
    return `"${this.text}"`;
  }
  get parts(): StringPart[] {
    return this.text === "" ? [] : [this.text];
  }
}
Object.defineProperty(PlainString.prototype, "kind", { value: "string", enumerable: true });
