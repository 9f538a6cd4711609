// The VS Code extension's TextMate grammar (editors/vscode/syntaxes), run by the engine VS Code
// itself runs it with (vscode-textmate on the oniguruma WebAssembly build), installed with the
// extension's own dependencies (editors/vscode/package.json; `npm test` installs them).
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

export const extensionDir = join(import.meta.dirname, "..", "..", "editors", "vscode");
export const grammarPath = join(extensionDir, "syntaxes", "covenant.tmLanguage.json");

// The few parts of vscode-textmate's and vscode-oniguruma's APIs used here (their types live in
// the extension's node_modules, outside this project's type check).
interface LineTokens {
  tokens: { startIndex: number; endIndex: number; scopes: string[] }[];
  ruleStack: unknown;
}
interface Grammar {
  tokenizeLine(line: string, state: unknown): LineTokens;
}
interface TextMate {
  INITIAL: unknown;
  Registry: new (options: object) => { loadGrammar(scope: string): Promise<Grammar | null> };
  parseRawGrammar(text: string, path: string): unknown;
}
interface Oniguruma {
  loadWASM(data: ArrayBuffer): Promise<void>;
  OnigScanner: new (patterns: string[]) => unknown;
  OnigString: new (text: string) => unknown;
}

let loaded: Promise<(text: string) => string[][]> | undefined;

/**
 * A tokenizer for whole texts: for each UTF-16 offset, the scopes the grammar gives that
 * character (a line break has none). Lines are split as VS Code splits them.
 */
export function covenantTokenizer(): Promise<(text: string) => string[][]> {
  return (loaded ??= load());
}

async function load(): Promise<(text: string) => string[][]> {
  const modules = join(extensionDir, "node_modules");
  if (!existsSync(join(modules, "vscode-textmate"))) {
    throw new Error("editors/vscode's dependencies are not installed: run `npm ci` in editors/vscode (the project's `npm test` does)");
  }
  const require = createRequire(join(extensionDir, "package.json"));
  const tm = require("vscode-textmate") as TextMate;
  const onig = require("vscode-oniguruma") as Oniguruma;
  const wasm = readFileSync(join(modules, "vscode-oniguruma", "release", "onig.wasm"));
  await onig.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new tm.Registry({
    onigLib: Promise.resolve({ createOnigScanner: (p: string[]) => new onig.OnigScanner(p), createOnigString: (s: string) => new onig.OnigString(s) }),
    loadGrammar: async () => tm.parseRawGrammar(readFileSync(grammarPath, "utf8"), grammarPath),
  });
  const grammar = await registry.loadGrammar("source.covenant");
  if (!grammar) throw new Error(`no grammar source.covenant in ${grammarPath}`);
  return (text) => {
    const scopes: string[][] = new Array<string[]>(text.length);
    let state = tm.INITIAL;
    const breaks = /\r\n|\r|\n/g;
    let lineStart = 0;
    for (;;) {
      const m = breaks.exec(text);
      const lineEnd = m ? m.index : text.length;
      const result = grammar.tokenizeLine(text.slice(lineStart, lineEnd), state);
      state = result.ruleStack;
      for (const t of result.tokens) {
        for (let i = t.startIndex; i < t.endIndex && lineStart + i < lineEnd; i++) scopes[lineStart + i] = t.scopes;
      }
      for (let i = lineEnd; i < (m ? m.index + m[0].length : text.length); i++) scopes[i] = [];
      if (!m) break;
      lineStart = m.index + m[0].length;
    }
    return scopes;
  };
}
