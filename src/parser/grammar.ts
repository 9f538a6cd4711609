// The concrete grammar (Chevrotain CST parser with error recovery). Kept free of meaning:
// which attributes exist and what they accept is the checker's business.
import { CstParser, type CstNode, type IParserErrorMessageProvider, type IToken, type TokenType, tokenLabel } from "chevrotain";
import * as T from "./tokens.js";

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

const messages: IParserErrorMessageProvider = {
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

export class PolicyParser extends CstParser {
  /** `validate` runs Chevrotain's grammar checks (ambiguity, left recursion): tests do; the CLI need not pay for it. */
  constructor(options: { validate?: boolean } = {}) {
    super(T.allTokens, {
      recoveryEnabled: true,
      maxLookahead: 3,
      errorMessageProvider: messages,
      skipValidations: !options.validate,
    });
    this.performSelfAnalysis();
  }

  public policy = this.RULE("policy", () => {
    this.MANY(() => this.SUBRULE(this.statement));
  });

  private statement = this.RULE("statement", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.importDecl) },
      { ALT: () => this.SUBRULE(this.letDecl) },
      { ALT: () => this.SUBRULE(this.contextDecl) },
      { ALT: () => this.SUBRULE(this.controlDecl) },
      { ALT: () => this.SUBRULE(this.waiverDecl) },
      { ALT: () => this.SUBRULE(this.stakeholderDecl) },
      { ALT: () => this.SUBRULE(this.calendarDecl) },
    ]);
  });

  private importDecl = this.RULE("importDecl", () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.StringLiteral);
  });

  private letDecl = this.RULE("letDecl", () => {
    this.CONSUME(T.Let);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  private contextDecl = this.RULE("contextDecl", () => {
    this.CONSUME(T.Context);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  private controlDecl = this.RULE("controlDecl", () => {
    this.CONSUME(T.Control);
    this.CONSUME(T.StringLiteral);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.blockItem));
    this.CONSUME(T.RBrace);
  });

  private waiverDecl = this.RULE("waiverDecl", () => {
    this.CONSUME(T.Waiver);
    this.CONSUME(T.StringLiteral);
    this.SUBRULE(this.attributeBlock);
  });

  private stakeholderDecl = this.RULE("stakeholderDecl", () => {
    this.CONSUME(T.Stakeholder);
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.SUBRULE(this.attributeBlock));
  });

  private calendarDecl = this.RULE("calendarDecl", () => {
    this.CONSUME(T.Calendar);
    this.SUBRULE(this.attributeBlock);
  });

  // The attributes are inlined rather than a sub-rule each: promise bodies hold most of a
  // large policy's attributes, and one CST node fewer per attribute is measurable there.
  private attributeBlock = this.RULE("attributeBlock", () => {
    this.CONSUME(T.LBrace);
    this.MANY(() => {
      this.CONSUME(T.Identifier);
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expression);
      this.OPTION(() => this.CONSUME(T.Semicolon));
    });
    this.CONSUME(T.RBrace);
  });

  private blockItem = this.RULE("blockItem", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.attribute) },
      { ALT: () => this.SUBRULE(this.promiseDecl) },
    ]);
  });

  private attribute = this.RULE("attribute", () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
    this.OPTION(() => this.CONSUME(T.Semicolon));
  });

  private promiseDecl = this.RULE("promiseDecl", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.SUBRULE(this.operand));
    this.OPTION2(() => {
      this.CONSUME(T.Arrow);
      this.SUBRULE(this.stakeholders);
    });
    this.SUBRULE(this.attributeBlock);
  });

  private stakeholders = this.RULE("stakeholders", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.LBracket);
          this.OPTION(() => {
            this.CONSUME(T.Identifier);
            this.MANY(() => {
              this.CONSUME(T.Comma);
              this.CONSUME2(T.Identifier);
            });
            this.OPTION2(() => this.CONSUME2(T.Comma));
          });
          this.CONSUME(T.RBracket);
        },
      },
      { ALT: () => this.CONSUME3(T.Identifier) },
    ]);
  });

  // Flat on purpose: `not`s, operands and operators in source order; the AST builder applies
  // precedence (not > comparison > and > or) and rebuilds the order from token offsets.
  // A rule per precedence level, or even per operand, would cost several CST nodes for
  // every plain attribute value, and CST nodes are what a large policy spends its time on.
  private expression = this.RULE("expression", () => {
    this.MANY(() => this.CONSUME(T.Not));
    this.operandAlternatives(0);
    this.MANY2(() => {
      this.CONSUME(T.BinaryOperator);
      this.MANY3(() => this.CONSUME2(T.Not));
      this.operandAlternatives(1);
    });
  });

  /** One operand, inlined in `expression` (idx keeps Chevrotain's occurrence indexes distinct). */
  private operandAlternatives(idx: 0 | 1) {
    const or = idx === 0 ? this.OR.bind(this) : this.OR2.bind(this);
    const consume = idx === 0 ? this.CONSUME.bind(this) : this.CONSUME2.bind(this);
    const subrule = idx === 0 ? this.SUBRULE.bind(this) : this.SUBRULE2.bind(this);
    or([
      { ALT: () => consume(T.StringLiteral) },
      { ALT: () => consume(T.Identifier) },
      { ALT: () => consume(T.NumberLiteral) },
      { ALT: () => consume(T.Quantity) },
      { ALT: () => consume(T.DateLiteral) },
      { ALT: () => consume(T.AddressLiteral) },
      { ALT: () => consume(T.True) },
      { ALT: () => consume(T.False) },
      { ALT: () => subrule(this.list) },
      { ALT: () => subrule(this.parenthesized) },
    ]);
  }

  private parenthesized = this.RULE("parenthesized", () => {
    this.CONSUME(T.LParen);
    this.SUBRULE(this.expression);
    this.CONSUME(T.RParen);
  });

  /** A promiser: a single operand, no operators. */
  private operand = this.RULE("operand", () => {
    this.operandAlternatives(0);
  });

  private list = this.RULE("list", () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expression);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expression);
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RBracket);
  });
}

export type { CstNode };
