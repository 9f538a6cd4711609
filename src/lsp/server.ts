// `covenant lsp`: the language server, over stdio, on vscode-languageserver. Diagnostics are
// `covenant check`'s (workspace.ts); the other features read the last check's parses.
import type { TextDocument } from "vscode-languageserver-textdocument";
import {
  createConnection,
  DidChangeWatchedFilesNotification,
  ProposedFeatures,
  TextDocumentSyncKind,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type InitializeParams,
  type InitializeResult,
  type WorkspaceFoldersChangeEvent,
} from "vscode-languageserver/node";
import { pathOf, toLsp, uriOf } from "./convert.js";
import { OpenDocuments } from "./documents.js";
import { registerFeatures } from "./features.js";
import type { TextEdit } from "./incremental.js";
import { isPolicyPath, Workspace, type FolderCheck, type ServerOptions } from "./workspace.js";

export interface Streams {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

/** Starts the server on `streams`; the library ends the process when the client says `exit` or the input closes. */
export function startServer(streams: Streams, defaults: Partial<ServerOptions> = {}): Connection {
  const connection = createConnection(ProposedFeatures.all, streams.input, streams.output);
  const server = new LanguageServer(connection, new OpenDocuments(), defaults);
  server.listen();
  return connection;
}

export class LanguageServer {
  workspace = new Workspace([], { include: [] });
  /** folders with a check to run, and documents edited since their diagnostics were last published */
  private readonly pending = new Set<string>();
  private readonly edited = new Set<string>();
  private scheduled = false;
  /** what was last published for each URI, as JSON: only what changed is sent again */
  private readonly published = new Map<string, string>();
  /** the URIs each folder's last check said something of */
  private readonly saidBy = new Map<string, Set<string>>();
  private dynamicWatch = false;
  private folderEvents = false;

  constructor(
    readonly connection: Connection,
    readonly documents: OpenDocuments,
    private readonly defaults: Partial<ServerOptions>,
  ) {}

  listen(): void {
    const { connection, documents } = this;
    connection.onInitialize((p) => this.initialize(p));
    connection.onInitialized(() => {
      if (this.dynamicWatch) {
        void connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: "**/*.promise" }, { globPattern: "**/covenant.yaml" }] });
      }
      // folders added and removed while open: only a client that says it sends these may be asked for them
      if (this.folderEvents) connection.workspace.onDidChangeWorkspaceFolders((e) => this.foldersChanged(e));
      for (const f of this.workspace.folders) this.schedule(f);
    });
    documents.listen(
      connection,
      (doc, edit) => this.changed(doc, edit),
      (doc) => {
        const path = pathOf(doc.uri);
        if (path === undefined || !isPolicyPath(path)) return;
        this.workspace.close(path);
        this.schedule(this.workspace.folderOf(path));
      },
    );
    // a file saved, created or removed outside the editor: the folders holding it are checked again
    connection.onDidChangeWatchedFiles((e) => {
      for (const c of e.changes) {
        const path = pathOf(c.uri);
        if (path !== undefined && isPolicyPath(path)) this.schedule(this.workspace.folderOf(path));
      }
    });
    registerFeatures(this);
    connection.listen();
  }

  private initialize(p: InitializeParams): InitializeResult {
    const given = (p.initializationOptions ?? {}) as Partial<ServerOptions>;
    const options: ServerOptions = { include: [], ...this.defaults };
    if (typeof given.config === "string") options.config = given.config;
    if (Array.isArray(given.include)) options.include = given.include.filter((d): d is string => typeof d === "string");
    if (typeof given.maxFileSize === "number") options.maxFileSize = given.maxFileSize;
    if (typeof given.today === "string") options.today = given.today;
    const folders = (p.workspaceFolders ?? []).map((f) => pathOf(f.uri)).filter((f): f is string => f !== undefined);
    const root = p.rootUri ? pathOf(p.rootUri) : undefined;
    if (folders.length === 0 && root !== undefined) folders.push(root);
    // one folder: stand in it, as an author runs `covenant check` there, so that the paths in
    // messages (an import cycle's chain, the directories an import may not leave) read the same
    if (folders.length === 1) {
      try {
        process.chdir(folders[0]!);
      } catch {
        // a folder that cannot be entered: paths are shown from where the server was started
      }
    }
    this.workspace = new Workspace(folders, options);
    this.dynamicWatch = p.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
    this.folderEvents = p.capabilities.workspace?.workspaceFolders === true;
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        codeActionProvider: { codeActionKinds: ["quickfix"] },
        documentFormattingProvider: true,
        documentSymbolProvider: true,
        hoverProvider: true,
        completionProvider: { triggerCharacters: ['"', " ", "=", "/", "$", "{", "."] },
        definitionProvider: true,
        referencesProvider: true,
        renameProvider: { prepareProvider: true },
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: "covenant" },
    };
  }

  private foldersChanged(e: WorkspaceFoldersChangeEvent): void {
    const removed = new Set(e.removed.map((f) => pathOf(f.uri)));
    this.workspace.folders = this.workspace.folders.filter((f) => !removed.has(f));
    for (const f of removed) if (f !== undefined) this.workspace.memos.delete(f);
    for (const f of e.added) {
      const path = pathOf(f.uri);
      if (path === undefined) continue;
      this.workspace.folders.push(path);
      this.schedule(path);
    }
  }

  private changed(doc: TextDocument, edit?: TextEdit): void {
    const path = pathOf(doc.uri);
    if (path === undefined || !isPolicyPath(path)) return;
    this.workspace.open(path, doc.getText(), edit);
    this.edited.add(doc.uri);
    this.schedule(this.workspace.folderOf(path));
  }

  /** Checks `folder` once the messages already received are handled: a burst of edits is one check. */
  schedule(folder: string): void {
    this.pending.add(folder);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const folders = [...this.pending];
      this.pending.clear();
      for (const f of folders) this.checkAndPublish(f);
    });
  }

  /** The folder's check, made now if none was made yet (a request may come before the first check). */
  checkOf(path: string): FolderCheck {
    const folder = this.workspace.folderOf(path);
    // an edit not yet checked (its check waits for the messages before it): checked now, so
    // that the request is answered on the text it was made on
    if (this.pending.delete(folder)) return this.checkAndPublish(folder);
    return this.workspace.checks.get(folder) ?? this.checkAndPublish(folder);
  }

  private checkAndPublish(folder: string): FolderCheck {
    const check = this.workspace.check(folder);
    const byUri = new Map<string, LspDiagnostic[]>();
    for (const d of check.diagnostics) {
      const uri = uriOf(d.span.file);
      let list = byUri.get(uri);
      if (!list) byUri.set(uri, (list = []));
      list.push(toLsp(d, check.map));
    }
    // every file of the folder is published (the problems panel lists them all); a file whose
    // diagnostics did not change is sent again only when it was edited, which the client waits for
    for (const f of check.files) if (!byUri.has(uriOf(f.path))) byUri.set(uriOf(f.path), []);
    // what this folder's last check said of a file and this one does not (a file removed, a
    // covenant.yaml outside the folder) is taken back
    for (const uri of this.saidBy.get(folder) ?? []) if (!byUri.has(uri)) byUri.set(uri, []);
    this.saidBy.set(folder, new Set([...byUri].filter(([, list]) => list.length > 0).map(([uri]) => uri)));
    for (const [uri, diagnostics] of byUri) {
      const json = JSON.stringify(diagnostics);
      if (this.published.get(uri) === json && !this.edited.has(uri)) continue;
      this.published.set(uri, json);
      const doc = this.documents.get(uri);
      void this.connection.sendDiagnostics({ uri, diagnostics, ...(doc ? { version: doc.version } : {}) });
    }
    for (const uri of byUri.keys()) this.edited.delete(uri);
    return check;
  }
}
