// The syntax errors' wording: what the parser expected, in the language's own terms, and what
// it found instead.
import { type IParserErrorMessageProvider, type IToken, type TokenType, tokenLabel } from "chevrotain";

function describe(token: IToken): string {
  if (token.tokenType.name === "EOF") return "end of file";
  const image = token.image.length > 40 ? `${token.image.slice(0, 40)}…` : token.image;
  return `\`${image}\``;
}

function alternatives(paths: TokenType[][]): string {
  const firsts = [...new Set(paths.map((p) => (p[0] ? tokenLabel(p[0]) : "")).filter(Boolean))];
  if (firsts.length <= 1) return firsts[0] ?? "something else";
  return `${firsts.slice(0, -1).join(", ")} or ${firsts[firsts.length - 1]}`;
}

const ruleWhat: Record<string, string> = {
  statement: "a declaration (`control`, `let`, `context`, `import`, `waiver`, `stakeholder` or `calendar`)",
  blockItem: "an attribute (`name = value`) or a promise (`type \"promiser\" { ... }`)",
  operand: "a value",
  expression: "a value",
  stakeholders: "a stakeholder name or a list of them",
};

export const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual }) {
    if (expected.name === "EOF") return `unexpected ${describe(actual)}: expected a declaration`;
    return `expected ${tokenLabel(expected)} but found ${describe(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `unexpected ${describe(firstRedundant)}: expected a declaration`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const what = ruleWhat[ruleName] ?? alternatives(expectedPathsPerAlt.flat());
    return `expected ${what} but found ${describe(actual[0]!)}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual }) {
    return `expected ${alternatives(expectedIterationPaths)} but found ${describe(actual[0]!)}`;
  },
};
