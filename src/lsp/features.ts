// The requests besides diagnostics, wired to the modules that answer them.
import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import { TextEdit, type Connection } from "vscode-languageserver/node";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { format } from "../formatter/format.js";
import { displayPath } from "../checker/load.js";
import { parseSource } from "../parser/parse.js";
import { quickFixes } from "./actions.js";
import { pathOf, uriOf } from "./convert.js";
import { completions } from "./completion.js";
import { hover } from "./hover.js";
import { definition, prepareRename, references, rename } from "./navigation.js";
import type { LanguageServer } from "./server.js";
import { documentSymbols } from "./symbols.js";
import type { FolderCheck } from "./workspace.js";

/** What a request about a position in an open policy document needs: its text, its folder's last check, and the file in it. */
export interface At {
  doc: TextDocument;
  offset: number;
  check: FolderCheck;
  /** the path the check shows the file under */
  shown: string;
}

export function registerFeatures(server: LanguageServer): void {
  const c: Connection = server.connection;
  const docOf = (uri: string) => {
    const doc = server.documents.get(uri);
    const path = pathOf(uri);
    return doc && path !== undefined && path.endsWith(".promise") ? { doc, path } : undefined;
  };
  const at = (uri: string, position: { line: number; character: number }): At | undefined => {
    const d = docOf(uri);
    if (!d) return undefined;
    return { doc: d.doc, offset: d.doc.offsetAt(position), check: server.checkOf(d.path), shown: displayPath(d.path) };
  };
  /** The parse of an open document: the last check's when it was made of this text (after any pending edit is checked), else made now. */
  const parsed = (d: { doc: TextDocument; path: string }) => {
    const text = d.doc.getText();
    const shown = displayPath(d.path);
    const held = server.checkOf(d.path).files.find((f) => f.path === shown);
    return held !== undefined && held.text === text ? held : parseSource(shown, text);
  };
  c.onDocumentFormatting((p) => {
    const d = docOf(p.textDocument.uri);
    if (!d) return null;
    const text = d.doc.getText();
    const file = parsed(d);
    // as `covenant fmt`: a file that does not parse is never rewritten (a byte of meaning could be lost)
    if (file.diagnostics.some((x) => x.severity === "error")) return null;
    const formatted = format(file);
    if (formatted === text) return [];
    return [TextEdit.replace({ start: { line: 0, character: 0 }, end: d.doc.positionAt(text.length) }, formatted)];
  });
  c.onDocumentSymbol((p) => {
    const d = docOf(p.textDocument.uri);
    return d ? documentSymbols(parsed(d), d.doc) : null;
  });
  c.onCodeAction((p) => {
    const d = server.documents.get(p.textDocument.uri);
    return d ? quickFixes(d, p.context.diagnostics) : null;
  });
  c.onHover((p) => {
    const a = at(p.textDocument.uri, p.position);
    return a ? hover(a) : null;
  });
  c.onCompletion((p) => {
    const a = at(p.textDocument.uri, p.position);
    return a ? completions(a) : null;
  });
  c.onDefinition((p) => {
    const a = at(p.textDocument.uri, p.position);
    return a ? definition(a) : null;
  });
  c.onReferences((p) => {
    const a = at(p.textDocument.uri, p.position);
    return a ? references(a, p.context.includeDeclaration) : null;
  });
  c.onPrepareRename((p) => {
    const a = at(p.textDocument.uri, p.position);
    return a ? prepareRename(a) : null;
  });
  c.onRenameRequest((p) => {
    const a = at(p.textDocument.uri, p.position);
    return a ? rename(a, p.newName, (path) => server.documents.get(uriOf(path))?.getText() ?? readText(path)) : null;
  });
}

/** A file's text, or undefined when it cannot be read (never through a link's last part). */
function readText(path: string): string | undefined {
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      return fstatSync(fd).isFile() ? readFileSync(fd, "utf8") : undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}
