// The Covenant extension: highlighting comes from the grammar alone; everything else (diagnostics
// as `covenant check` gives them, hover, completion, navigation, formatting, quick fixes) from
// `covenant lsp`, started over stdio with the command the settings name.
import { homedir } from "node:os";
import * as vscode from "vscode";
import { LanguageClient, type LanguageClientOptions, type ServerOptions } from "vscode-languageclient/node";
import { serverCommand } from "./server-command.mjs";

let client: LanguageClient | undefined;
let output: vscode.LogOutputChannel | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Covenant", { log: true });
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand("covenant.restartServer", restart),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("covenant.server")) void restart();
    }),
    // trusting the workspace makes its own covenant.server.* settings count
    vscode.workspace.onDidGrantWorkspaceTrust(() => void restart()),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}

async function restart(): Promise<void> {
  await stop();
  await start();
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) await running.stop().catch(() => undefined);
}

async function start(): Promise<void> {
  const config = vscode.workspace.getConfiguration("covenant");
  if (!config.get<boolean>("server.enable", true)) return;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const resolved = serverCommand(
    { path: config.get<string>("server.path", "covenant"), args: config.get<string[]>("server.args", []) },
    folder?.scheme === "file" ? folder.fsPath : undefined,
    homedir(),
  );
  if ("error" in resolved) {
    void vscode.window.showErrorMessage(`Covenant: ${resolved.error}.`);
    return;
  }
  const run = { command: resolved.command, args: resolved.args, options: { cwd: folder?.scheme === "file" ? folder.fsPath : undefined } };
  const serverOptions: ServerOptions = { run, debug: run };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "covenant" },
      { scheme: "untitled", language: "covenant" },
      { scheme: "file", pattern: "**/covenant.yaml" },
    ],
    // imported files and covenant.yaml change on disk too (a branch switched, a file generated)
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/{*.promise,covenant.yaml}") },
    outputChannel: output,
  };
  const started = new LanguageClient("covenant", "Covenant language server", serverOptions, clientOptions);
  client = started;
  try {
    await started.start();
  } catch (e) {
    client = undefined;
    const message = e instanceof Error ? e.message : String(e);
    const choice = await vscode.window.showErrorMessage(
      `Covenant: could not start \`${[resolved.command, ...resolved.args].join(" ")}\` (${message}). Highlighting still works; set covenant.server.path to the covenant command.`,
      "Open Settings",
    );
    if (choice === "Open Settings") await vscode.commands.executeCommand("workbench.action.openSettings", "covenant.server");
  }
}
