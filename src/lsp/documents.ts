// The documents the editor has open, kept from its edits (as vscode-languageserver's TextDocuments
// keeps them), and, for the one edit of a change, where it was: the parser then re-parses only
// the declarations it touched (incremental.ts) without comparing the two texts to find out.
import { TextDocument } from "vscode-languageserver-textdocument";
import { TextDocumentContentChangeEvent, type Connection } from "vscode-languageserver/node";
import type { TextEdit } from "./incremental.js";

export class OpenDocuments {
  private readonly docs = new Map<string, TextDocument>();

  get(uri: string): TextDocument | undefined {
    return this.docs.get(uri);
  }

  listen(connection: Connection, changed: (doc: TextDocument, edit?: TextEdit) => void, closed: (doc: TextDocument) => void): void {
    connection.onDidOpenTextDocument((p) => {
      const doc = TextDocument.create(p.textDocument.uri, p.textDocument.languageId, p.textDocument.version, p.textDocument.text);
      this.docs.set(doc.uri, doc);
      changed(doc);
    });
    connection.onDidChangeTextDocument((p) => {
      const doc = this.docs.get(p.textDocument.uri);
      if (!doc || p.contentChanges.length === 0) return;
      const before = doc.getText();
      const only = p.contentChanges.length === 1 ? p.contentChanges[0]! : undefined;
      let edit: TextEdit | undefined;
      if (only !== undefined && TextDocumentContentChangeEvent.isIncremental(only)) {
        const start = doc.offsetAt(only.range.start);
        edit = { before, start, oldEnd: doc.offsetAt(only.range.end), newEnd: start + only.text.length };
      }
      // updated in place: the same document, its text and version moved on
      TextDocument.update(doc, p.contentChanges, p.textDocument.version);
      changed(doc, edit);
    });
    connection.onDidCloseTextDocument((p) => {
      const doc = this.docs.get(p.textDocument.uri);
      if (!doc) return;
      this.docs.delete(p.textDocument.uri);
      closed(doc);
    });
  }
}
