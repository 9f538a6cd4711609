// apt.conf(5) as apt's ReadConfigFile reads it (apt-pkg/contrib/configuration.cc): statements
// end at `;`, `{` opens a scope and `}` closes it, so `APT { Get { AllowUnauthenticated "1"; }; };`
// sets `APT::Get::AllowUnauthenticated`, as `APT::Get::AllowUnauthenticated "1";` does. Keys
// are compared in any case (apt's lookups ignore it); a value is one quoted string or several
// (joined by one blank), or one plain word; a word without a value is a list item (`Foo { "a";
// "b"; };` sets `Foo::` twice). `#clear A::B;` forgets what was set at or below `A::B`;
// `#include FILE;` reads a file in place, `#include DIR/;` the files of a directory as apt does.
// A statement apt refuses stops the reading there, with what was read before kept (apt itself
// refuses to run). Only a top-level statement alone on one line is edited by a repair.
import { cWord, expandAndStrip, fragmentOf, quoteWord, trimMapped, type Mapped } from "./apt-lexer.js";
import { splitLines, type ConfigSetting, type ParsedConfig } from "./setting.js";

/** The text of one statement so far: where it starts, and its offsets while it is on one line. */
interface Statement {
  text: string;
  at: number[];
  line: number;
  multi: boolean;
}

interface Reader {
  path: string;
  out: ParsedConfig;
  stack: string[];
  parent: string;
  statement: Statement;
  /** terminators (`;`, `{`, `}`) on each line: a line with more than one is not edited */
  terminators: Map<number, number>;
  /** lines in or next to text of other lines (a comment or statement carried over): never taken out */
  entangled: Set<number>;
}

class AptSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const none = (line: number): Statement => ({ text: "", at: [], line, multi: false });

export function parse(text: string, path: string): ParsedConfig {
  const r: Reader = { path, out: { settings: [], includes: [], skipped: [] }, stack: [], parent: "", statement: none(0), terminators: new Map(), entangled: new Set() };
  const lines = splitLines(text);
  let inComment = false;
  try {
    lines.forEach((raw, i) => {
      const n = i + 1;
      const was = inComment;
      const { fragment, inComment: open } = fragmentOf(expandAndStrip(raw), inComment);
      inComment = open;
      if (was || open) r.entangled.add(n);
      if (fragment.text !== "") statementsOf(r, fragment, n);
    });
    // apt counts the empty line after a last newline too
    if (r.statement.text !== "") throw new AptSyntaxError("Extra junk at end of file", lines.length);
  } catch (err) {
    if (!(err instanceof AptSyntaxError)) throw err;
    r.out.skipped.push({ path, line: err.line, reason: `syntax error: ${err.message} (apt stops reading here and refuses to run)` });
  }
  for (const s of r.out.settings) if (!s.fixed && ((r.terminators.get(s.line) ?? 0) > 1 || r.entangled.has(s.line))) s.fixed = true;
  return r.out;
}

/** The statements a line's fragment ends, and what it leaves for the next line. */
function statementsOf(r: Reader, fragment: Mapped, n: number): void {
  let inQuote = false;
  let start = 0;
  for (let i = 0; i < fragment.text.length; i++) {
    const c = fragment.text[i]!;
    if (c === '"') inQuote = !inQuote;
    if (inQuote || (c !== "{" && c !== ";" && c !== "}")) continue;
    addPiece(r, trimMapped({ text: fragment.text.slice(start, i), at: fragment.at.slice(start, i) }), n);
    start = i + 1;
    r.terminators.set(n, (r.terminators.get(n) ?? 0) + 1);
    const statement = r.statement;
    r.statement = none(n);
    endStatement(r, statement, c, n);
  }
  const rest = trimMapped({ text: fragment.text.slice(start), at: fragment.at.slice(start) });
  if (rest.text === "") return;
  addPiece(r, rest, n);
  r.entangled.add(n);
}

function addPiece(r: Reader, piece: Mapped, n: number): void {
  if (piece.text === "") return;
  if (r.statement.text === "") r.statement = { text: piece.text, at: piece.at, line: n, multi: false };
  else r.statement = { ...r.statement, text: `${r.statement.text} ${piece.text}`, at: [], multi: true };
}

function leaveScope(r: Reader): void {
  r.parent = r.stack.pop() ?? "";
}

/** One statement ended by `term`: a setting, a scope opened, or a directive. */
function endStatement(r: Reader, st: Statement, term: string, n: number): void {
  if (term === "{" && st.text === "") throw new AptSyntaxError("Block starts with no name.", n);
  if (st.text === "") {
    if (term === "}") leaveScope(r);
    return;
  }
  const tag = quoteWord(st.text, 0);
  if (!tag) throw new AptSyntaxError("Malformed tag", n);
  let name = tag.word;
  let pos = tag.next;
  let word: string | undefined;
  let valueAt: number | undefined;
  const c = cWord(st.text, pos);
  const q = c ? undefined : quoteWord(st.text, pos);
  if (c) [word, valueAt, pos] = [c.word, c.start, st.text.length];
  else if (q) [word, valueAt, pos] = [q.word, q.start, q.next];
  else if (term !== "{") [word, name] = [name, ""];
  if (pos < st.text.length) throw new AptSyntaxError("Extra junk after value", n);
  const topLevel = r.parent === "";
  if (term === "{") {
    r.stack.push(r.parent);
    r.parent = r.parent === "" ? name : `${r.parent}::${name}`;
    name = "";
  }
  const item = r.parent === "" ? name : term !== "{" || name !== "" ? `${r.parent}::${name}` : r.parent;
  if (name.startsWith("#")) directive(r, name.slice(1), word ?? "", n);
  else if (name === "" && word === "#clear") throw new AptSyntaxError("clear directive requires an option tree as argument", n);
  else if (word !== undefined) {
    const s: ConfigSetting = { key: item.toLowerCase(), written: item, value: word, line: st.line, valueStart: 0, valueEnd: 0 };
    // a repair edits only `A::B "v";` written alone at the top level, on one line
    if (!st.multi && topLevel && term === ";" && name !== "" && valueAt !== undefined) {
      s.valueStart = st.at[valueAt]!;
      s.valueEnd = st.at[st.text.length - 1]! + 1;
    } else s.fixed = true;
    r.out.settings.push(s);
  }
  if (term === "}") leaveScope(r);
}

function directive(r: Reader, name: string, word: string, n: number): void {
  if (r.parent !== "") throw new AptSyntaxError("Directives can only be done at the top level", n);
  if (name === "clear") {
    // apt looks the name up without creating it: `A::` (a new list item) names nothing
    if (word === "" || word.endsWith("::")) return;
    const k = word.toLowerCase();
    r.out.settings = r.out.settings.filter((s) => s.key !== k && !s.key.startsWith(`${k}::`));
  } else if (name === "include") {
    if (!word.startsWith("/")) {
      // apt opens it from its working directory, which is not the file's
      r.out.skipped.push({ path: r.path, line: n, reason: `#include ${word} is relative: apt reads it from its working directory, so it is not read here` });
      return;
    }
    r.out.includes.push({ line: n, patterns: [word], ...(word.length > 2 && word.endsWith("/") ? { directory: "apt" as const } : {}) });
  } else if (name !== "x-apt-configure-index") throw new AptSyntaxError(`Unsupported directive '${name}'`, n);
}

/** A value as apt reads it back: in quotes (apt has no escape for a `"` inside; such a value does not read back, and is not written). */
export function renderValue(value: string): string {
  return `"${value}"`;
}

export function render(key: string, value: string): string {
  return `${key} ${renderValue(value)};`;
}
