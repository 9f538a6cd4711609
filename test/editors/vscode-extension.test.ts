// The VS Code extension's package (editors/vscode): what it contributes exists and agrees with
// itself, the covenant.yaml schema it packs is the project's own, its language configuration
// indents and closes as a policy needs, and the server command it starts is the one the settings
// name, never looked up in the workspace by a bare name.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { serverCommand } from "../../editors/vscode/src/server-command.mts";
import { extensionDir, grammarPath } from "./textmate.ts";

const manifest = JSON.parse(readFileSync(join(extensionDir, "package.json"), "utf8")) as {
  engines: { vscode: string };
  main: string;
  contributes: {
    languages: { id: string; extensions: string[]; configuration: string }[];
    grammars: { language: string; scopeName: string; path: string }[];
    yamlValidation: { fileMatch: string; url: string }[];
    configuration: { properties: Record<string, { default: unknown }> };
  };
  capabilities: { untrustedWorkspaces: { supported: string; restrictedConfigurations: string[] } };
  devDependencies: Record<string, string>;
};
const languageConfig = JSON.parse(readFileSync(join(extensionDir, "language-configuration.json"), "utf8")) as {
  comments: { lineComment: string; blockComment: [string, string] };
  indentationRules: { increaseIndentPattern: string; decreaseIndentPattern: string };
  folding: { markers: { start: string; end: string } };
};

describe("the VS Code extension's package", () => {
  it("packs covenant.yaml's schema as docs/covenant.schema.json is (the build copies it: `npm run build` in editors/vscode)", () => {
    const [validation] = manifest.contributes.yamlValidation;
    expect(validation?.fileMatch).toBe("covenant.yaml");
    expect(readFileSync(join(extensionDir, validation!.url), "utf8")).toBe(readFileSync("docs/covenant.schema.json", "utf8"));
  });

  it("contributes the .promise language with a grammar and a configuration that exist", () => {
    const [language] = manifest.contributes.languages;
    const [grammar] = manifest.contributes.grammars;
    expect(language).toMatchObject({ id: "covenant", extensions: [".promise"] });
    expect(grammar).toMatchObject({ language: "covenant", scopeName: "source.covenant" });
    expect(join(extensionDir, grammar!.path)).toBe(grammarPath);
    expect((JSON.parse(readFileSync(grammarPath, "utf8")) as { scopeName: string }).scopeName).toBe("source.covenant");
    expect(existsSync(join(extensionDir, language!.configuration))).toBe(true);
    // the types VS Code's API is compiled against are no newer than the VS Code it asks for
    expect(manifest.devDependencies["@types/vscode"]!.replace(/^[~^]/, "")).toBe(manifest.engines.vscode.replace(/^[~^]/, ""));
  });

  it("reads the server's command and arguments from user settings only in a workspace not trusted", () => {
    const restricted = manifest.capabilities.untrustedWorkspaces;
    expect(restricted.supported).toBe("limited");
    expect(restricted.restrictedConfigurations.sort()).toEqual(["covenant.server.args", "covenant.server.path"]);
    expect(manifest.contributes.configuration.properties["covenant.server.path"]?.default).toBe("covenant");
  });
});

describe("the language configuration", () => {
  const increase = new RegExp(languageConfig.indentationRules.increaseIndentPattern);
  const decrease = new RegExp(languageConfig.indentationRules.decreaseIndentPattern);
  it("comments lines with // and blocks with /* */, as the lexer reads them", () => {
    expect(languageConfig.comments).toEqual({ lineComment: "//", blockComment: ["/*", "*/"] });
  });
  it("indents after a line that opens a block, a list or parentheses", () => {
    for (const line of ['control "ITGC-AC-01" {', '  file "/srv/a" -> [ops] {', "  refs = [", "context c = (", 'control "a}" { // opens', "calendar { # opens", 'x = "say \\"{\\"" {']) {
      expect(increase.test(line), line).toBe(true);
    }
    for (const line of ['  title = "a {"', "  mode = 0640 // {", "  # {", "  x = 1 /* { */", "  refs = []", "}"]) expect(increase.test(line), line).toBe(false);
  });
  it("outdents a line that closes one", () => {
    for (const line of ["}", "  ]", ")  // done"]) expect(decrease.test(line), line).toBe(true);
    expect(decrease.test('  x = "}"')).toBe(false);
  });
  it("folds // region … // endregion", () => {
    expect(new RegExp(languageConfig.folding.markers.start).test("  // region accounts")).toBe(true);
    expect(new RegExp(languageConfig.folding.markers.end).test("# endregion")).toBe(true);
    expect(new RegExp(languageConfig.folding.markers.start).test("// regional controls")).toBe(false);
  });
});

describe("the language server's command", () => {
  const home = "/home/author";
  it("is `covenant lsp` on PATH unless the settings say otherwise", () => {
    expect(serverCommand({ path: "covenant", args: [] }, "/work/policies", home)).toEqual({ command: "covenant", args: ["lsp"] });
    expect(serverCommand({ path: "  ", args: [] }, undefined, home)).toEqual({ command: "covenant", args: ["lsp"] });
  });
  it("passes the arguments after `lsp` as they are, never through a shell", () => {
    const args = ["--include", "/usr/share/acme controls", "$(touch /tmp/x)"];
    expect(serverCommand({ path: "/opt/covenant/bin/covenant", args }, undefined, home)).toEqual({ command: "/opt/covenant/bin/covenant", args: ["lsp", ...args] });
  });
  it("finds a relative path in the workspace folder, and replaces ${workspaceFolder} and ${userHome}", () => {
    expect(serverCommand({ path: "node_modules/.bin/covenant", args: [] }, "/work/policies", home)).toEqual({ command: "/work/policies/node_modules/.bin/covenant", args: ["lsp"] });
    expect(serverCommand({ path: "${workspaceFolder}/bin/covenant", args: [] }, "/work/p", home)).toMatchObject({ command: "/work/p/bin/covenant" });
    expect(serverCommand({ path: "${userHome}/covenant/bin/covenant", args: [] }, undefined, home)).toMatchObject({ command: "/home/author/covenant/bin/covenant" });
  });
  it("says why when a path needs a folder and none is open", () => {
    expect(serverCommand({ path: "bin/covenant", args: [] }, undefined, home)).toEqual({ error: expect.stringContaining("no folder is open") });
    expect(serverCommand({ path: "${workspaceFolder}/bin/covenant", args: [] }, undefined, home)).toEqual({ error: expect.stringContaining("no folder is open") });
  });
});
