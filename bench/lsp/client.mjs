// A real Language Server Protocol client for `covenant lsp`, on vscode-jsonrpc over the child's
// stdio: what the benchmark drives and the tests (test/lsp/) talk to. It keeps the last
// diagnostics published for each URI and lets a caller wait for the next publication of one.
import { spawn } from "node:child_process";
import { clearTimeout, setTimeout } from "node:timers";
import { pathToFileURL } from "node:url";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";

export const fileUri = (path) => pathToFileURL(path).href;

/**
 * Starts `bin lsp --stdio` in `cwd` and initializes it with `cwd` as the workspace folder.
 * Returns the client; `close()` shuts the server down and resolves with its exit code.
 */
export async function startClient({ bin, cwd, initializationOptions = {}, env = process.env, args = [] }) {
  const child = spawn(bin, ["lsp", "--stdio", ...args], { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c) => (stderr += c));
  const exited = new Promise((resolve) => child.on("close", (code) => resolve(code)));
  const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const published = new Map();
  let waiters = [];
  connection.onNotification("textDocument/publishDiagnostics", (p) => {
    published.set(p.uri, p);
    const ready = waiters.filter((w) => w.uri === p.uri && w.accept(p));
    waiters = waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve({ params: p, at: performance.now() });
  });
  connection.onRequest("client/registerCapability", () => null);
  connection.onRequest("workspace/configuration", (p) => p.items.map(() => null));
  connection.onNotification("window/logMessage", () => undefined);
  connection.listen();
  const init = await connection.sendRequest("initialize", {
    processId: process.pid,
    rootUri: fileUri(cwd),
    workspaceFolders: [{ uri: fileUri(cwd), name: "policy" }],
    capabilities: { workspace: { didChangeWatchedFiles: { dynamicRegistration: true }, workspaceFolders: true }, textDocument: { publishDiagnostics: { relatedInformation: true, versionSupport: true } } },
    initializationOptions,
  });
  await connection.sendNotification("initialized", {});
  const versions = new Map();
  return {
    connection,
    child,
    capabilities: init.capabilities,
    published,
    stderr: () => stderr,
    /** Resolves with the next publication for `uri` that `accept` takes (by default any), and when it arrived. */
    next(uri, accept = () => true, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri} within ${timeoutMs} ms; server stderr: ${stderr}`)), timeoutMs);
        waiters.push({ uri, accept, resolve: (v) => (clearTimeout(timer), resolve(v)) });
      });
    },
    open(uri, text, languageId = "covenant") {
      versions.set(uri, 1);
      return connection.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId, version: 1, text } });
    },
    /** Sends edits (full text or ranges) and returns the version they make. */
    change(uri, contentChanges) {
      const version = (versions.get(uri) ?? 0) + 1;
      versions.set(uri, version);
      void connection.sendNotification("textDocument/didChange", { textDocument: { uri, version }, contentChanges });
      return version;
    },
    closeDocument(uri) {
      return connection.sendNotification("textDocument/didClose", { textDocument: { uri } });
    },
    request(method, params) {
      return connection.sendRequest(method, params);
    },
    /**
     * Waits until every publication of the check that answered `version` of `uri` has arrived:
     * the server sends a check's publications together, before it reads the next message, so
     * a request answered after them comes after all of them.
     */
    async settled(uri, version) {
      await this.next(uri, (p) => p.version === version || (version === undefined && true));
      await connection.sendRequest("textDocument/documentSymbol", { textDocument: { uri } });
    },
    async close() {
      await connection.sendRequest("shutdown");
      await connection.sendNotification("exit");
      const code = await exited;
      connection.dispose();
      return code;
    },
  };
}
