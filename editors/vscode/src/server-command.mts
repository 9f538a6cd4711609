// Which program the extension starts as the language server, from the user's settings. Kept
// free of the VS Code API so that the project's own tests can run it (test/editors/).
//
// The result is an argv for child_process.spawn without a shell: nothing in a setting is ever
// read by a shell, whatever characters it holds.
import { isAbsolute, join } from "node:path";

export interface ServerSettings {
  /** `covenant.server.path`: a name on PATH, an absolute path, or a path relative to the workspace */
  path: string;
  /** `covenant.server.args`: after `covenant lsp` */
  args: readonly string[];
}

export type ServerCommand = { command: string; args: string[] } | { error: string };

/**
 * The command and arguments that start `covenant lsp`. `${workspaceFolder}` and `${userHome}`
 * are replaced; a relative path with a `/` is taken from the first workspace folder (a bare name
 * is left for PATH, as a shell would look it up, and never taken from the workspace: a file in
 * an untrusted checkout must not run because it is named like the command).
 */
export function serverCommand(settings: ServerSettings, workspaceFolder: string | undefined, userHome: string): ServerCommand {
  const raw = settings.path.trim() === "" ? "covenant" : settings.path.trim();
  if (raw.includes("${workspaceFolder}") && workspaceFolder === undefined) {
    return { error: "covenant.server.path names ${workspaceFolder}, but no folder is open" };
  }
  const command = raw.replaceAll("${workspaceFolder}", workspaceFolder ?? "").replaceAll("${userHome}", userHome);
  const args = ["lsp", ...settings.args];
  if (isAbsolute(command) || !command.includes("/")) return { command, args };
  if (workspaceFolder === undefined) return { error: `covenant.server.path is the relative path ${command}, but no folder is open to find it in` };
  return { command: join(workspaceFolder, command), args };
}
