// The outline of a policy file: its declarations, each control with its promises.
import { SymbolKind, type DocumentSymbol } from "vscode-languageserver/node";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { exprText, literalText, typeSpan, type PromiseDecl, type SourceFile, type Statement } from "../parser/ast.js";
import type { Span } from "../parser/diagnostics.js";

const rangeOf = (doc: TextDocument, s: { start: number; end: number }) => ({ start: doc.positionAt(s.start), end: doc.positionAt(s.end) });

function symbol(doc: TextDocument, name: string, kind: SymbolKind, whole: Span, selection: Span, detail?: string, children?: DocumentSymbol[]): DocumentSymbol {
  const s: DocumentSymbol = { name: name === "" ? "(unnamed)" : name, kind, range: rangeOf(doc, whole), selectionRange: rangeOf(doc, selection) };
  if (detail !== undefined) s.detail = detail;
  if (children !== undefined) s.children = children;
  return s;
}

/** A promise as the outline names it: its type and promiser, as written. */
export function promiseLabel(p: PromiseDecl): string {
  return p.promiser ? `${p.type} ${exprText(p.promiser)}` : p.type;
}

function statementSymbol(doc: TextDocument, s: Statement): DocumentSymbol {
  switch (s.kind) {
    case "control": {
      const promises = s.items.filter((i): i is PromiseDecl => i.kind === "promise").map((p) => symbol(doc, promiseLabel(p), SymbolKind.Object, p, typeSpan(p), "promise"));
      const title = s.items.find((i) => i.kind === "attribute" && i.name === "title");
      const detail = title && title.kind === "attribute" && title.value.kind === "string" ? literalText(title.value) : "control";
      return symbol(doc, literalText(s.id), SymbolKind.Class, s, s.id, detail, promises);
    }
    case "let":
      return symbol(doc, s.name.name, SymbolKind.Variable, s, s.name, "variable");
    case "context":
      return symbol(doc, s.name.name, SymbolKind.Boolean, s, s.name, "context");
    case "stakeholder":
      return symbol(doc, s.name.name, SymbolKind.Constant, s, s.name, "stakeholder");
    case "waiver":
      return symbol(doc, `waiver ${literalText(s.control)}`, SymbolKind.Event, s, s.control, "waiver");
    case "calendar":
      return symbol(doc, "calendar", SymbolKind.Namespace, s, { file: s.file, start: s.start, end: s.start + "calendar".length });
    case "promise_type":
      return symbol(doc, s.name.name, SymbolKind.Interface, s, s.name, "promise type");
    case "import":
      return symbol(doc, literalText(s.path), SymbolKind.File, s, s.path, "import");
  }
}

export function documentSymbols(file: SourceFile, doc: TextDocument): DocumentSymbol[] {
  return file.statements.map((s) => statementSymbol(doc, s));
}
