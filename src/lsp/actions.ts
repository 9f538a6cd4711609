// Quick fixes from diagnostics' suggestions. A suggestion that names the exact text to write
// ("did you mean `mode`?", "add the closing `\"`", "remove it") becomes an edit; one that asks
// for a judgement ("give each control its own id", "add `owner = <stakeholder>`") has no edit
// to offer, and its advice stays under the diagnostic's message.
import { CodeActionKind, TextEdit, type CodeAction, type Diagnostic as LspDiagnostic, type Range } from "vscode-languageserver/node";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { Attribute, SourceFile, Statement } from "../parser/ast.js";
import { parseSource } from "../parser/parse.js";
import type { DiagnosticData } from "./convert.js";

export function quickFixes(doc: TextDocument, diagnostics: LspDiagnostic[]): CodeAction[] {
  const out: CodeAction[] = [];
  let parsed: SourceFile | undefined;
  const file = () => (parsed ??= parseSource(doc.uri, doc.getText()));
  for (const d of diagnostics) {
    const suggestion = d.source === "covenant" ? (d.data as DiagnosticData | undefined)?.suggestion : undefined;
    if (suggestion === undefined) continue;
    const fix = fixFor(doc, d, suggestion, file);
    if (!fix) continue;
    out.push({ title: fix.title, kind: CodeActionKind.QuickFix, diagnostics: [d], isPreferred: true, edit: { changes: { [doc.uri]: fix.edits } } });
  }
  return out;
}

interface Fix {
  title: string;
  edits: TextEdit[];
}

function fixFor(doc: TextDocument, d: LspDiagnostic, suggestion: string, file: () => SourceFile): Fix | undefined {
  const meant = /^did you mean `([^`]+)`\?$/.exec(suggestion);
  if (meant) {
    // a quoted name (a control id in a waiver) stays quoted
    const written = doc.getText(d.range);
    const word = written.startsWith('"') ? `"${meant[1]}"` : meant[1]!;
    return { title: `Change to \`${meant[1]}\``, edits: [TextEdit.replace(d.range, word)] };
  }
  if (suggestion === 'add the closing `"`') return { title: 'Add the closing `"`', edits: [TextEdit.insert(d.range.end, '"')] };
  const close = /^close it with `(\*\/|""")`$/.exec(suggestion);
  if (close) {
    const end = doc.positionAt(doc.getText().length);
    return { title: `Close it with \`${close[1]}\``, edits: [TextEdit.insert(end, close[1] === "*/" ? " */" : '"""')] };
  }
  const start = doc.offsetAt(d.range.start);
  if (suggestion.startsWith("remove it") && (d.code === "W201" || d.code === "W204")) {
    const decl = file().statements.find((s): s is Statement & { kind: "let" | "context" } => (s.kind === "let" || s.kind === "context") && s.name.start === start);
    if (decl) return { title: `Remove the unused ${decl.kind === "let" ? "variable" : "context"} \`${decl.name.name}\``, edits: [TextEdit.del(wholeLines(doc, decl))] };
  }
  if (suggestion.startsWith("remove it") && d.code === "W208") {
    const attribute = attributeAt(file(), start);
    if (attribute) return { title: "Remove `every`: the promise takes its control's", edits: [TextEdit.del(wholeLines(doc, attribute))] };
  }
  const context = /^use `context (\S+) = …` for a condition$/.exec(suggestion);
  if (context) {
    const decl = file().statements.find((s) => s.kind === "let" && s.start <= start && start < s.end);
    if (decl) return { title: `Make \`${context[1]}\` a context`, edits: [TextEdit.replace({ start: doc.positionAt(decl.start), end: doc.positionAt(decl.start + "let".length) }, "context")] };
  }
  return undefined;
}

/** The attribute of a control or promise that starts at `offset`. */
function attributeAt(file: SourceFile, offset: number): Attribute | undefined {
  for (const s of file.statements) {
    if (s.kind !== "control" || offset < s.start || offset >= s.end) continue;
    for (const item of s.items) {
      if (item.kind === "attribute" && item.start === offset) return item;
      if (item.kind === "promise") for (const a of item.attributes) if (a.start <= offset && offset < a.end) return a;
    }
  }
  return undefined;
}

/** The lines `node` fills, with their line break, when nothing else is on them; else the node alone. */
function wholeLines(doc: TextDocument, node: { start: number; end: number }): Range {
  const text = doc.getText();
  let from = node.start;
  while (from > 0 && (text[from - 1] === " " || text[from - 1] === "\t")) from--;
  let to = node.end;
  while (to < text.length && (text[to] === " " || text[to] === "\t")) to++;
  const alone = (from === 0 || text[from - 1] === "\n") && (to === text.length || text[to] === "\n" || text[to] === "\r");
  if (!alone) return { start: doc.positionAt(node.start), end: doc.positionAt(node.end) };
  if (text[to] === "\r") to++;
  if (text[to] === "\n") to++;
  return { start: doc.positionAt(from), end: doc.positionAt(to) };
}
