// The grammar: a Chevrotain parser with error recovery whose actions build the AST directly.
// Kept free of meaning: which attributes exist and what they accept is the checker's business.
//
// Why embedded actions and no CST: on a 20,000-promise policy, building the CST and then
// walking it into the AST cost more than scanning and parsing together (measured with
// callgrind, bench/README.md). The actions are written for error recovery: a declaration is
// recorded as soon as its head is parsed and filled in as its parts complete, so that after a
// syntax error the parts before it are still checked; a part that recovery could not complete
// (a missing value, an operand that is not there) is left out, and the syntax error explains it.
import type { IOrAlt, IToken, TokenType } from "chevrotain";
import type { Attribute, BlockItem, CalendarDecl, ControlDecl, Expr, IncompleteDecl, PromiseDecl, PromiseTypeDecl, StakeholderDecl, Statement, WaiverDecl } from "./ast.js";
import { AstFactory, real } from "./ast-factory.js";
import type { Span } from "./diagnostics.js";
import { messages } from "./syntax-messages.js";
import * as T from "./tokens.js";
import { WindowedParser, type TokenSource } from "./token-window.js";

export type { TokenSource };

/** Something with attributes between braces: a promise, a waiver, a stakeholder, the calendar. */
interface BlockOwner extends Span {
  kind: string;
  attributes: Attribute[];
}
type Stakeholders = NonNullable<PromiseDecl["stakeholders"]>;

/** What one `expression` has parsed so far: `not`s, operands and operators in source order. */
interface ExpressionFrame {
  nots: IToken[] | undefined;
  first: Expr | undefined;
  operands: (Expr | undefined)[] | undefined;
  ops: IToken[] | undefined;
  notsBefore: (IToken[] | undefined)[] | undefined;
  /** the `not`s after the operator being parsed */
  more: IToken[] | undefined;
}

// Every offset written into a node comes from a token that `real()` vouched for, or is forced
// to an integer with `| 0`: a NaN (a token recovery inserted) would box the offsets of every
// node of that shape (AstFactory.span).
export class PolicyParser extends WindowedParser {
  // What the actions build into. Fields rather than rule arguments: none of these constructs
  // nests inside itself, and a field costs nothing per call where ARGS allocate.
  private ast = new AstFactory("");
  private out: Statement[] = [];
  /** the control (or promise type: its body is read the same way) being parsed, until its `}` or the recovery that ends it */
  private control: ControlDecl | PromiseTypeDecl | undefined;
  /** the next attribute block's owner, and where it goes once its `{` is seen (undefined: nowhere) */
  private blockOwner: BlockOwner | undefined;
  private blockTarget: (Statement | BlockItem)[] | undefined;
  /** the stakeholder list being parsed: kept when recovery cuts it short */
  private partialStakeholders: Stakeholders | undefined;

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

  /** Parses the tokens of one or more declarations, appending their AST to `out`. */
  parseDeclarations(source: TokenSource, ast: AstFactory, out: Statement[]): void {
    this.readFrom(source);
    this.ast = ast;
    this.out = out;
    this.control = undefined;
    this.declaring = undefined;
    this.policy();
    this.finishControl();
    // a variable or context whose value could not be parsed (recovery may have left the rule
    // anywhere): its name is declared all the same
    if (this.declaring) ast.incomplete.push(this.declaring);
    this.declaring = undefined;
    this.letGoOfTokens();
  }

  /** the variable or context being declared, until its value is parsed */
  private declaring: IncompleteDecl | undefined;

  /** Lets go of the last file's tokens, AST and syntax errors: the parser lives as long as the process. */
  release(): void {
    this.input = [];
    this.out = [];
    this.ast = new AstFactory("");
    this.blockOwner = this.blockTarget = this.blockLive = this.partialStakeholders = undefined;
    this.promiser = this.promiseStakeholders = undefined;
    this.expressionFrames.length = 0;
    this.expressionDepth = -1;
  }

  private policy = this.RULE("policy", () => {
    this.MANY(() => this.SUBRULE(this.statement));
  });

  private statementAlts: IOrAlt<void>[] | undefined;
  private statement = this.RULE("statement", () => {
    this.OR(
      (this.statementAlts ??= [
        { ALT: () => this.SUBRULE(this.importDecl) },
        { ALT: () => this.SUBRULE(this.letDecl) },
        { ALT: () => this.SUBRULE(this.contextDecl) },
        { ALT: () => this.SUBRULE(this.controlDecl) },
        { ALT: () => this.SUBRULE(this.waiverDecl) },
        { ALT: () => this.SUBRULE(this.stakeholderDecl) },
        { ALT: () => this.SUBRULE(this.calendarDecl) },
        { ALT: () => this.SUBRULE(this.promiseTypeDecl) },
      ]),
    );
  });

  private importDecl = this.RULE("importDecl", () => {
    const kw = this.CONSUME(T.Import);
    const path = this.CONSUME(T.StringLiteral);
    if (this.RECORDING_PHASE || !real(kw) || !real(path)) return;
    const str = this.ast.stringLiteral(path);
    this.out.push({ kind: "import", path: str, file: this.ast.file, start: kw.startOffset, end: str.end });
  });

  private letDecl = this.RULE("letDecl", () => {
    const kw = this.CONSUME(T.Let);
    const id = this.CONSUME(T.Identifier);
    if (!this.RECORDING_PHASE && real(id)) this.declaring = { kind: "let", name: id.image };
    this.CONSUME(T.Equals);
    const value = this.SUBRULE(this.expression);
    if (this.RECORDING_PHASE || !value || !real(kw) || !real(id)) return;
    this.declaring = undefined;
    this.out.push({ kind: "let", name: this.ast.name(id), value, file: this.ast.file, start: kw.startOffset, end: value.end });
  });

  private contextDecl = this.RULE("contextDecl", () => {
    const kw = this.CONSUME(T.Context);
    const id = this.CONSUME(T.Identifier);
    if (!this.RECORDING_PHASE && real(id)) this.declaring = { kind: "context", name: id.image };
    this.CONSUME(T.Equals);
    const expr = this.SUBRULE(this.expression);
    if (this.RECORDING_PHASE || !expr || !real(kw) || !real(id)) return;
    this.declaring = undefined;
    this.out.push({ kind: "context", name: this.ast.name(id), expr, file: this.ast.file, start: kw.startOffset, end: expr.end });
  });

  private controlDecl = this.RULE("controlDecl", () => {
    const kw = this.CONSUME(T.Control);
    const id = this.CONSUME(T.StringLiteral);
    if (!this.RECORDING_PHASE && real(kw) && real(id)) {
      const idNode = this.ast.stringLiteral(id);
      this.control = { kind: "control", id: idNode, items: [], file: this.ast.file, start: kw.startOffset, end: idNode.end };
      this.out.push(this.control);
    }
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.blockItem));
    const close = this.CONSUME(T.RBrace);
    if (this.control && real(close)) this.control.end = close.startOffset + 1;
    this.finishControl();
  });

  private promiseTypeDecl = this.RULE("promiseTypeDecl", () => {
    const kw = this.CONSUME(T.PromiseType);
    const id = this.CONSUME(T.Identifier);
    if (!this.RECORDING_PHASE && real(kw) && real(id)) {
      const name = this.ast.name(id);
      this.control = { kind: "promise_type", name, items: [], file: this.ast.file, start: kw.startOffset, end: name.end };
      this.out.push(this.control);
    }
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.blockItem));
    const close = this.CONSUME(T.RBrace);
    if (this.control && real(close)) this.control.end = close.startOffset + 1;
    this.finishControl();
  });

  /** A control ends at its `}`; cut short, at its last item (or its id when it has none). */
  private finishControl() {
    const control = this.control;
    if (!control) return;
    this.control = undefined;
    const last = control.items.at(-1);
    if (last) control.end = Math.max(control.end, last.kind === "attribute" ? last.value.end : last.end);
    // an exact-size copy: the pushes reserved room for 17 items, and every control is kept
    if (control.items.length > 0) control.items = control.items.slice();
  }

  private waiverDecl = this.RULE("waiverDecl", () => {
    const kw = this.CONSUME(T.Waiver);
    const id = this.CONSUME(T.StringLiteral);
    const ok = !this.RECORDING_PHASE && real(kw) && real(id);
    // without its control id there is no waiver to fill: the block is parsed for its errors only
    const decl: WaiverDecl | undefined = ok ? { kind: "waiver", control: this.ast.stringLiteral(id), attributes: [], file: this.ast.file, start: kw.startOffset | 0, end: kw.startOffset | 0 } : undefined;
    this.blockOwner = decl;
    this.blockTarget = this.out;
    this.SUBRULE(this.attributeBlock);
  });

  private stakeholderDecl = this.RULE("stakeholderDecl", () => {
    const kw = this.CONSUME(T.Stakeholder);
    const id = this.CONSUME(T.Identifier);
    const ok = !this.RECORDING_PHASE && real(kw) && real(id);
    const name = this.ast.name(id);
    const decl: StakeholderDecl = { kind: "stakeholder", name, attributes: undefined, file: this.ast.file, start: kw.startOffset | 0, end: name.end };
    if (ok) this.out.push(decl);
    this.OPTION(() => {
      // The block fills the declaration already recorded, its range growing with the block.
      // Its `{` is certain here (it is what chose this option), so the attributes are
      // attached before the block is parsed: recovery may leave the block from anywhere.
      decl.attributes = [];
      this.blockOwner = decl as BlockOwner;
        this.blockTarget = undefined;
      this.SUBRULE(this.attributeBlock);
    });
  });

  private calendarDecl = this.RULE("calendarDecl", () => {
    const kw = this.CONSUME(T.Calendar);
    const decl: CalendarDecl = { kind: "calendar", attributes: [], file: this.ast.file, start: kw.startOffset | 0, end: kw.startOffset | 0 };
    this.blockOwner = decl;
    this.blockTarget = !this.RECORDING_PHASE && real(kw) ? this.out : undefined;
    this.SUBRULE(this.attributeBlock);
  });

  // The attributes are inlined rather than a sub-rule each: promise bodies hold most of a
  // large policy's attributes, and one rule call fewer per attribute is measurable there.
  private attributeBlock = this.RULE("attributeBlock", () => {
    const owner = this.blockOwner;
    const target = this.blockTarget;
    const open = this.CONSUME(T.LBrace);
    const live = !this.RECORDING_PHASE && owner !== undefined && real(open);
    if (live) {
      owner.end = open.startOffset + 1;
      target?.push(owner as Statement | BlockItem);
    }
    this.blockLive = live ? owner : undefined;
    this.MANY(this.attributeLoop);
    const close = this.CONSUME(T.RBrace);
    if (live && real(close)) {
      owner.end = close.startOffset + 1;
      // an exact-size copy: the pushes reserved room for 17 attributes, and a large policy
      // keeps every one of these arrays
      if (owner.attributes.length > 0) owner.attributes = owner.attributes.slice();
    }
  });

  /** the owner of the block being parsed, when its attributes are to be kept */
  private blockLive: BlockOwner | undefined;
  private readonly attributeInBlock = () => {
    const id = this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    const value = this.SUBRULE(this.expression);
    this.OPTION(this.optionalSemicolon);
    const owner = this.blockLive; // read after the value: no block nests in an expression
    if (owner && value && real(id)) {
      owner.attributes.push(this.ast.attribute(id, value));
      owner.end = value.end;
    }
  };
  private readonly optionalSemicolon = () => this.CONSUME(T.Semicolon);
  // A promise's head (`file "/b" {`, `load {`, `group g -> [x] {`) ends a block whose `}` is
  // missing, and the error says so; read as an attribute, it became `file = "/b"` with an `=`
  // made up by recovery, and three errors more. `mode 0640` stays an attribute missing its `=`.
  private readonly attributeLoop = {
    GATE: () => {
      // only a promise's block can be followed by a promise (blockOwner is the block's, as no block nests)
      if (this.blockOwner?.kind !== "promise") return true;
      const second = this.LA(2).tokenType;
      if (second === T.Equals) return true;
      // past the promiser: one token, or a bracketed list (`command ["/bin/x"] {`)
      let next = 3;
      if (second === T.LBracket || second === T.LParen) next = this.pastGroup(2);
      else if (second === T.LBrace || second === T.Arrow) return false;
      const after = this.LA(next).tokenType;
      return after !== T.LBrace && after !== T.Arrow;
    },
    DEF: this.attributeInBlock,
  };
  /** The lookahead index just past the bracketed group opening at LA(at) (bounded: it only picks an error message). */
  private pastGroup(at: number): number {
    let depth = 0;
    for (let k = at; k < at + 200; k++) {
      const t = this.LA(k).tokenType;
      if (t === T.LBracket || t === T.LParen) depth++;
      else if (t === T.RBracket || t === T.RParen) {
        if (--depth === 0) return k + 1;
      } else if (t === T.LBrace || t === T.RBrace || t.name === "EOF") return k;
    }
    return at + 200;
  }

  private blockItemAlts: IOrAlt<void>[] | undefined;
  private blockItem = this.RULE("blockItem", () => {
    this.OR(
      (this.blockItemAlts ??= [
        { ALT: () => this.SUBRULE(this.attribute) },
        { ALT: () => this.SUBRULE(this.promiseDecl) },
      ]),
    );
  });

  private attribute = this.RULE("attribute", () => {
    const id = this.CONSUME(T.Identifier);
    const eq = this.CONSUME(T.Equals);
    const value = this.SUBRULE(this.expression);
    this.OPTION(this.optionalSemicolon);
    if (this.RECORDING_PHASE || !this.control || !value || !real(id) || !real(eq)) return;
    this.control.items.push(this.ast.attribute(id, value));
  });

  private promiseDecl = this.RULE("promiseDecl", () => {
    const type = this.CONSUME(T.Identifier);
    this.promiser = this.promiseStakeholders = undefined;
    this.promiseComplete = true;
    this.OPTION(this.promiserPart);
    this.OPTION2(this.stakeholderPart);
    const { promiser, promiseStakeholders: stakeholders, promiseComplete: complete } = this;
    // Built whole, each variant in one literal: a property added afterwards would give every
    // promise a separate property store.
    const name = type.image;
    const file = this.ast.file;
    const start = type.startOffset | 0;
    const decl: PromiseDecl = promiser
      ? stakeholders
        ? { kind: "promise", type: name, promiser, stakeholders, attributes: [], file, start, end: start }
        : { kind: "promise", type: name, promiser, attributes: [], file, start, end: start }
      : stakeholders
        ? { kind: "promise", type: name, stakeholders, attributes: [], file, start, end: start }
        : { kind: "promise", type: name, attributes: [], file, start, end: start };
    this.blockOwner = decl;
    this.blockTarget = complete && real(type) && !this.RECORDING_PHASE ? this.control?.items : undefined;
    this.SUBRULE(this.attributeBlock);
  });

  // promiseDecl's optional parts, in fields rather than closures over its locals (no promise
  // nests in another): a closure and its context per promise were garbage of a large policy
  private promiser: Expr | undefined;
  private promiseStakeholders: Stakeholders | undefined;
  private promiseComplete = true;
  private readonly promiserPart = () => {
    this.promiser = this.SUBRULE(this.operand);
    if (!this.promiser) this.promiseComplete = false;
  };
  private readonly stakeholderPart = () => {
    this.CONSUME(T.Arrow);
    this.partialStakeholders = undefined;
    this.promiseStakeholders = this.SUBRULE(this.stakeholders) ?? this.partialStakeholders;
    if (!this.promiseStakeholders) this.promiseComplete = false;
  };

  private stakeholderAlts: IOrAlt<Stakeholders | undefined>[] | undefined;
  private stakeholders = this.RULE("stakeholders", (): Stakeholders | undefined => {
    return this.OR(
      (this.stakeholderAlts ??= [
        {
          ALT: () => {
            const open = this.CONSUME(T.LBracket);
            const list: Stakeholders | undefined = real(open) && !this.RECORDING_PHASE ? { names: [], bracketed: true, file: this.ast.file, start: open.startOffset, end: open.startOffset + 1 } : undefined;
            this.partialStakeholders = list;
            const add = (t: IToken) => {
              if (!list || !real(t)) return;
              const name = this.ast.name(t);
              list.names.push(name);
              list.end = name.end;
            };
            this.OPTION(() => {
              add(this.CONSUME(T.Identifier));
              this.MANY(() => {
                this.CONSUME(T.Comma);
                add(this.CONSUME2(T.Identifier));
              });
              this.OPTION2(() => this.CONSUME2(T.Comma));
            });
            const close = this.CONSUME(T.RBracket);
            if (list && real(close)) list.end = close.startOffset + 1;
            return list;
          },
        },
        {
          ALT: () => {
            const id = this.CONSUME3(T.Identifier);
            if (this.RECORDING_PHASE || !real(id)) return undefined;
            const name = this.ast.name(id);
            return { names: [name], bracketed: false, file: name.file, start: name.start, end: name.end };
          },
        },
      ]),
    );
  });

  // Flat on purpose: `not`s, operands and operators in source order, precedence applied by
  // the AST factory (not > comparison > and > or). A rule per precedence level would cost
  // several rule calls for every plain attribute value, the commonest thing in a policy.
  //
  // Its state lives in a frame per nesting depth, reused, and its loops are closures made once:
  // closures over its locals, made at every call, were a quarter of all a large policy's parse
  // allocated. Expressions nest (parentheses, lists), so each loop body finds its frame by the
  // current depth, which the rule restores however it is left.
  private expression = this.RULE("expression", (): Expr | undefined => {
    const depth = ++this.expressionDepth;
    const f = (this.expressionFrames[depth] ??= { nots: undefined, first: undefined, operands: undefined, ops: undefined, notsBefore: undefined, more: undefined });
    f.nots = f.first = f.operands = f.ops = f.notsBefore = undefined;
    try {
      this.MANY(this.leadingNot);
      f.first = this.OR(this.operandAlts(0));
      this.MANY2(this.operatorAndOperand);
      if (this.RECORDING_PHASE) return undefined;
      if (!f.operands && !f.nots) return f.first; // the common `name = value`
      const all = f.operands ?? [f.first];
      if (all.includes(undefined)) return undefined;
      return this.ast.withPrecedence(all as Expr[], f.ops ?? [], f.notsBefore ?? [f.nots]);
    } finally {
      this.expressionDepth = depth - 1;
    }
  });
  private expressionDepth = -1;
  private readonly expressionFrames: ExpressionFrame[] = [];
  private readonly leadingNot = () => {
    const f = this.expressionFrames[this.expressionDepth]!;
    (f.nots ??= []).push(this.CONSUME(T.Not));
  };
  private readonly operatorAndOperand = () => {
    const f = this.expressionFrames[this.expressionDepth]!;
    (f.ops ??= []).push(this.CONSUME(T.BinaryOperator));
    f.more = undefined;
    this.MANY3(this.notAfterOperator);
    (f.notsBefore ??= [f.nots]).push(f.more);
    const operand = this.OR2(this.operandAlts(1)); // may nest: a deeper frame, then this one again
    (f.operands ??= [f.first]).push(operand);
  };
  private readonly notAfterOperator = () => {
    const f = this.expressionFrames[this.expressionDepth]!;
    (f.more ??= []).push(this.CONSUME2(T.Not));
  };

  private operandAltsCache: [IOrAlt<Expr | undefined>[], IOrAlt<Expr | undefined>[]] | undefined;
  /** One operand's alternatives (idx keeps Chevrotain's occurrence indexes distinct). */
  private operandAlts(idx: 0 | 1): IOrAlt<Expr | undefined>[] {
    this.operandAltsCache ??= [this.makeOperandAlts(0), this.makeOperandAlts(1)];
    return this.operandAltsCache[idx];
  }
  private makeOperandAlts(idx: 0 | 1): IOrAlt<Expr | undefined>[] {
    // `this.CONSUME` is looked up at each call, never bound once: Chevrotain swaps in
    // recording versions of its DSL methods while it analyses the grammar.
    const consume = idx === 0 ? (type: TokenType) => this.CONSUME(type) : (type: TokenType) => this.CONSUME2(type);
    const literal = (type: TokenType) => ({ ALT: () => this.ast.literal(consume(type)) });
    return [
      literal(T.StringLiteral),
      literal(T.Identifier),
      literal(T.NumberLiteral),
      literal(T.Quantity),
      literal(T.DateLiteral),
      literal(T.AddressLiteral),
      literal(T.True),
      literal(T.False),
      { ALT: () => (idx === 0 ? this.SUBRULE(this.list) : this.SUBRULE2(this.list)) },
      { ALT: () => (idx === 0 ? this.SUBRULE(this.parenthesized) : this.SUBRULE2(this.parenthesized)) },
    ];
  }

  private parenthesized = this.RULE("parenthesized", (): Expr | undefined => {
    const open = this.CONSUME(T.LParen);
    const inner = this.SUBRULE(this.expression);
    const close = this.CONSUME(T.RParen);
    if (this.RECORDING_PHASE || !inner || !real(open) || !real(close)) return undefined;
    return { kind: "paren", inner, file: this.ast.file, start: open.startOffset, end: close.startOffset + 1 };
  });

  /** A promiser: a single operand, no operators. */
  private operand = this.RULE("operand", (): Expr | undefined => this.OR(this.operandAlts(0)));

  private list = this.RULE("list", (): Expr | undefined => {
    const open = this.CONSUME(T.LBracket);
    const items: (Expr | undefined)[] = [];
    this.OPTION(() => {
      items.push(this.SUBRULE(this.expression));
      this.MANY(() => {
        this.CONSUME(T.Comma);
        items.push(this.SUBRULE2(this.expression));
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    const close = this.CONSUME(T.RBracket);
    if (this.RECORDING_PHASE || !real(open) || !real(close) || items.includes(undefined)) return undefined;
    return { kind: "list", items: items as Expr[], file: this.ast.file, start: open.startOffset, end: close.startOffset + 1 };
  });
}
