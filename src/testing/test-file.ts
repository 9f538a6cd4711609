// A policy test file (`*.test.yaml`), decoded: the policy it tests, and its tests, each with a
// fixture (a sandbox.json, named or written inline), an optional change between two runs, and
// the outcomes it expects per control and per promise. Every problem is reported at once, at the
// line and column of the key or value at fault, with a stable code (E400–E411), as `covenant
// check` reports a policy's. Nothing here reads a file or the host: the fixture is checked later
// (fixtures.ts), against the sandbox's own rules.
import { isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Pair, type YAMLMap } from "yaml";
import { outcomeOrder, type Outcome } from "../evaluator/outcomes.js";
import { diagnostic, LineIndex, type Diagnostic, type DiagnosticCode, type Span } from "../parser/diagnostics.js";
import { closest } from "../parser/suggest.js";

/** What a test expects of a control (its verdict) or of a promise (its outcome). */
export interface Expectation {
  /** any of these passes */
  outcomes: Outcome[];
  /** a text the reason of one of its promises found so must contain (the promise meant to catch it, not another) */
  reason?: string;
  /** where it is written: the control id's or promise key's key */
  span: Span;
}

export interface Fixture {
  /** a sandbox.json named relative to the test file */
  path?: string;
  /** a sandbox.json written in the test (its `extends` relative to the test file) */
  inline?: unknown;
  span: Span;
}

/** A file the test changes between a first run (which approves integrity baselines) and the run it judges. */
export interface ChangedFile {
  path: unknown;
  content: string;
  mode?: string;
  span: Span;
}

export interface PolicyTest {
  name: string;
  span: Span;
  fixture: Fixture;
  /** written after a first run; the expectations are judged on the second */
  changes?: ChangedFile[];
  controls: Map<string, Expectation>;
  promises: Map<string, Expectation>;
  /** every control the test does not name */
  others?: Expectation;
}

export interface TestFile {
  path: string;
  /** policy paths as written, relative to the test file; none: its directory */
  policy: { path: string; span: Span }[];
  tests: PolicyTest[];
}

const FILE_KEYS = ["policy", "tests"];
const TEST_KEYS = ["name", "fixture", "changes", "expect"];
const EXPECT_KEYS = ["controls", "promises", "others"];
const OUTCOME_KEYS = ["outcome", "reason"];
const CHANGE_KEYS = ["path", "content", "mode"];

class Decoder {
  readonly diagnostics: Diagnostic[] = [];
  private lines: LineIndex | undefined;
  doc: Document | undefined;
  constructor(
    readonly file: string,
    readonly text: string,
  ) {}

  lineOf(span: Span): number {
    this.lines ??= new LineIndex(this.text);
    return this.lines.position(span.start).line;
  }

  span(node: Node | Pair | null | undefined): Span {
    const r = (node as Node | undefined)?.range;
    return { file: this.file, start: r?.[0] ?? 0, end: r?.[1] ?? r?.[0] ?? 0 };
  }

  error(code: DiagnosticCode, message: string, node: Node | null | undefined | Span, suggestion?: string): undefined {
    const given = node !== null && node !== undefined && "file" in node ? node : this.span(node);
    // yaml may place an error past the end of the text (an unclosed `{`): kept inside it
    const end = Math.min(given.end, this.text.length);
    const span = { file: given.file, start: Math.min(given.start, end), end };
    this.diagnostics.push(diagnostic(code, message, span, suggestion !== undefined ? { suggestion } : {}));
    return undefined;
  }

  /** A mapping's pairs by key, its unknown keys reported (with the closest known one). */
  pairs(map: YAMLMap, known: string[], where: string): Map<string, Pair> {
    const out = new Map<string, Pair>();
    for (const p of map.items) {
      const key = isScalar(p.key) ? String(p.key.value) : undefined;
      if (key === undefined || !known.includes(key)) {
        const shown = key ?? "a key that is not a plain name";
        const near = key !== undefined ? closest(key, known) : undefined;
        this.error("E402", `\`${shown}\` is not a key of ${where} (${known.join(", ")})`, p.key as Node, near !== undefined ? `did you mean \`${near}\`?` : undefined);
        continue;
      }
      out.set(key, p);
    }
    return out;
  }

  map(node: unknown, what: string): YAMLMap | undefined {
    if (isMap(node)) return node;
    return this.error("E404", `${what} must be a mapping`, node as Node);
  }

  string(node: unknown, what: string, at: Node | Span): string | undefined {
    if (isScalar(node) && typeof node.value === "string") return node.value;
    return this.error("E404", `${what} must be a string`, (node as Node | null) ?? at);
  }

  /** `drift`, `[drift, repaired]`, or `{ outcome: ..., reason: "..." }`. */
  expectation(node: unknown, keyNode: Node, what: string): Expectation | undefined {
    const span = this.span(keyNode);
    if (isMap(node)) {
      const p = this.pairs(node, OUTCOME_KEYS, what);
      const outcome = p.get("outcome");
      if (!outcome) return this.error("E403", `${what} needs \`outcome\``, node);
      const outcomes = this.outcomes(outcome.value, what);
      const reasonPair = p.get("reason");
      const reason = reasonPair ? this.string(reasonPair.value, `the \`reason\` of ${what}`, this.span(reasonPair.key as Node)) : undefined;
      if (outcomes === undefined || (reasonPair && reason === undefined)) return undefined;
      if (reason === "") return this.error("E404", `the \`reason\` of ${what} is empty: it would match any reason`, reasonPair!.value as Node);
      return reason !== undefined ? { outcomes, reason, span } : { outcomes, span };
    }
    const outcomes = this.outcomes(node, what);
    return outcomes && { outcomes, span };
  }

  outcomes(node: unknown, what: string): Outcome[] | undefined {
    const items = isSeq(node) ? node.items : [node];
    if (isSeq(node) && items.length === 0) return this.error("E404", `the outcomes of ${what} are an empty list: nothing would pass`, node);
    const out: Outcome[] = [];
    let bad = false;
    for (const item of items) {
      if (!isScalar(item) || typeof item.value !== "string") {
        bad = true;
        this.error("E404", `the outcome of ${what} must be an outcome such as \`kept\` or \`drift\`, or a list of them`, (item as Node | null) ?? (node as Node));
      } else if (!(outcomeOrder as readonly string[]).includes(item.value)) {
        bad = true;
        const near = closest(item.value, [...outcomeOrder]);
        this.error("E405", `\`${item.value}\` is not an outcome (${outcomeOrder.join(", ")})`, item, near !== undefined ? `did you mean \`${near}\`?` : undefined);
      } else if (!out.includes(item.value as Outcome)) out.push(item.value as Outcome);
    }
    return bad ? undefined : out;
  }

  /** `controls:` or `promises:`: id or key → expectation. */
  expectations(node: unknown, kind: "control" | "promise"): Map<string, Expectation> {
    const out = new Map<string, Expectation>();
    const map = this.map(node, `\`${kind}s\``);
    if (!map) return out;
    for (const p of map.items) {
      const id = isScalar(p.key) ? String(p.key.value) : undefined;
      if (id === undefined || id === "") {
        this.error("E404", `a ${kind} must be named by its ${kind === "control" ? "id" : "key (control/type:promiser)"}`, p.key as Node);
        continue;
      }
      const e = this.expectation(p.value, p.key as Node, `the ${kind} \`${id}\``);
      if (e) out.set(id, e);
    }
    return out;
  }

  fixture(node: unknown, keyNode: Node): Fixture | undefined {
    const span = this.span((node as Node | null) ?? keyNode);
    if (isScalar(node) && typeof node.value === "string") {
      if (node.value === "" || node.value.includes("\0")) return this.error("E411", "`fixture` must name a sandbox.json, relative to the test file", node);
      return { path: node.value, span };
    }
    if (isMap(node)) {
      try {
        return { inline: node.toJS(this.doc!, { maxAliasCount: 100 }) as unknown, span };
      } catch (err) {
        return this.error("E400", `YAML: ${(err as Error).message.split("\n", 1)[0]}`, node);
      }
    }
    return this.error("E404", "`fixture` must name a sandbox.json (relative to the test file) or be one, written as a mapping", (node as Node | null) ?? keyNode);
  }

  changes(node: unknown, keyNode: Node): ChangedFile[] | undefined {
    if (!isSeq(node) || node.items.length === 0) return this.error("E404", "`changes` must be a list of files, each with `path` and `content` (and `mode`)", (node as Node | null) ?? keyNode);
    const out: ChangedFile[] = [];
    node.items.forEach((item, i) => {
      const map = this.map(item, `changes[${i}]`);
      if (!map) return;
      const p = this.pairs(map, CHANGE_KEYS, `changes[${i}]`);
      const path = p.get("path");
      const content = p.get("content");
      if (!path) this.error("E403", `changes[${i}] needs \`path\``, map);
      if (!content) this.error("E403", `changes[${i}] needs \`content\``, map);
      const text = content ? this.string(content.value, `changes[${i}].content`, this.span(content.key as Node)) : undefined;
      const pathText = path ? this.string(path.value, `changes[${i}].path`, this.span(path.key as Node)) : undefined;
      const modePair = p.get("mode");
      const mode = modePair ? this.string(modePair.value, `changes[${i}].mode (an octal mode in quotes, such as "0640")`, this.span(modePair.key as Node)) : undefined;
      if (mode !== undefined && !/^0?[0-7]{3,4}$/.test(mode)) this.error("E404", `changes[${i}].mode must be an octal mode in quotes, such as "0640"`, modePair!.value as Node);
      if (pathText === undefined || text === undefined) return;
      out.push({ path: pathText, content: text, ...(mode !== undefined ? { mode } : {}), span: this.span(path!.value as Node) });
    });
    return out;
  }

  test(node: unknown, index: number, names: Map<string, Span>): PolicyTest | undefined {
    const map = this.map(node, `tests[${index}]`);
    if (!map) return undefined;
    const p = this.pairs(map, TEST_KEYS, "a test");
    const namePair = p.get("name");
    const name = namePair ? this.string(namePair.value, "a test's `name`", this.span(namePair.key as Node)) : this.error("E403", `tests[${index}] needs a \`name\``, map);
    if (name !== undefined) {
      const first = names.get(name);
      if (first !== undefined) this.error("E406", `two tests are named \`${name}\` (the first on line ${this.lineOf(first)}): results and JUnit cases are told apart by name`, namePair!.value as Node);
      else names.set(name, this.span(namePair!.value as Node));
    }
    const f = p.get("fixture");
    const fixture = f ? this.fixture(f.value, f.key as Node) : this.error("E403", `the test ${name !== undefined ? `\`${name}\`` : `tests[${index}]`} needs a \`fixture\` (a sandbox.json, docs/sandbox.md)`, map);
    const c = p.get("changes");
    const changes = c ? this.changes(c.value, c.key as Node) : undefined;
    const e = p.get("expect");
    if (!e) return this.error("E403", `the test ${name !== undefined ? `\`${name}\`` : `tests[${index}]`} needs \`expect\` (controls, promises, others): a test that expects nothing cannot fail`, map);
    const expect = this.map(e.value, "`expect`");
    if (!expect) return undefined;
    const ep = this.pairs(expect, EXPECT_KEYS, "`expect`");
    const controls = ep.has("controls") ? this.expectations(ep.get("controls")!.value, "control") : new Map<string, Expectation>();
    const promises = ep.has("promises") ? this.expectations(ep.get("promises")!.value, "promise") : new Map<string, Expectation>();
    const o = ep.get("others");
    const others = o ? this.expectation(o.value, o.key as Node, "`others` (every control not named)") : undefined;
    if (ep.size === 0) this.error("E403", "`expect` names no control, no promise and no `others`: a test that expects nothing cannot fail", e.key as Node);
    if (name === undefined || fixture === undefined || (c && changes === undefined)) return undefined;
    return { name, span: this.span(namePair!.value as Node), fixture, ...(changes ? { changes } : {}), controls, promises, ...(others ? { others } : {}) };
  }
}

/** Reports yaml's own errors (syntax, a key given twice); true when the tree is still worth reading. */
function syntax(doc: Document, d: Decoder): boolean {
  for (const e of doc.errors) {
    const first = e.message.split("\n", 1)[0]!.replace(/ at line \d+, column \d+:?$/, "");
    const message = /call stack/i.test(first) ? "nested too deep to be read" : first;
    const span = { file: d.file, start: e.pos[0], end: Math.max(e.pos[0], e.pos[1]) };
    if (e.code === "DUPLICATE_KEY") d.error("E401", "a key is given twice in one mapping: YAML keeps one, and which one was meant is unclear", span, "keep one of them");
    else d.error("E400", `YAML: ${message}`, span);
  }
  return !d.diagnostics.some((x) => x.code === "E400");
}

/**
 * The test file's tests and what is wrong with it: with diagnostics, `file` holds the tests that
 * could be read (to be checked further, never run), or is undefined when nothing could be.
 */
export function decodeTestFile(text: string, path: string): { file?: TestFile; diagnostics: Diagnostic[] } {
  const d = new Decoder(path, text);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, strict: true, version: "1.2" });
  d.doc = doc;
  if (!syntax(doc, d)) return { diagnostics: d.diagnostics };
  const top = d.map(doc.contents, "a test file (policy:, tests:)");
  if (!top) return { diagnostics: d.diagnostics };
  const p = d.pairs(top, FILE_KEYS, "a test file");
  const policy: TestFile["policy"] = [];
  const pp = p.get("policy");
  if (pp) {
    const items = isSeq(pp.value) ? pp.value.items : [pp.value];
    for (const item of items) {
      const s = d.string(item, "`policy` (a path, or a list of paths, relative to the test file)", d.span(pp.key as Node));
      if (s === "" || s?.includes("\0")) d.error("E411", "a `policy` path must name a .promise file or a directory", item as Node);
      else if (s !== undefined) policy.push({ path: s, span: d.span(item as Node) });
    }
  }
  const t = p.get("tests");
  if (!t) d.error("E403", "a test file needs `tests`, a list of tests", top);
  else if (!isSeq(t.value) || t.value.items.length === 0) d.error("E404", "`tests` must be a list of at least one test", (t.value as Node | null) ?? (t.key as Node));
  const names = new Map<string, Span>();
  const tests = t && isSeq(t.value) ? t.value.items.map((item, i) => d.test(item, i, names)) : [];
  // the tests that could be read go on to be checked against their policy and fixtures, so that
  // every problem is said at once; with any diagnostic, none is run
  return { file: { path, policy, tests: tests.filter((x) => x !== undefined) }, diagnostics: d.diagnostics };
}

/** Test files are named so: `access.test.yaml` beside `access.promise`. */
export const isTestFile = (name: string): boolean => name.endsWith(".test.yaml") || name.endsWith(".test.yml");
