// Loading a policy: expand the given paths, read and parse each file once, follow imports,
// and report missing files and import cycles. Synchronous: a CLI reads a few files and exits.
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import type { ImportDecl, SourceFile } from "../parser/ast.js";
import { diagnostic, type Diagnostic } from "../parser/diagnostics.js";
import { parseSource } from "../parser/parse.js";
import { literalOnly } from "./scope.js";

export interface LoadedPolicy {
  /** parsed files: the named ones first, then imports, each once */
  files: SourceFile[];
  diagnostics: Diagnostic[];
}

export const POLICY_EXTENSION = ".promise";

/** Files named on the command line, directories expanded to their `.promise` files (sorted, recursive). */
export function expandPaths(paths: string[]): { files: string[]; diagnostics: Diagnostic[] } {
  const files: string[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      diagnostics.push(diagnostic("E006", `cannot read \`${p}\`: ${reason(err)}`, { file: p, start: 0, end: 0 }));
      continue;
    }
    if (st.isDirectory()) files.push(...walk(p));
    else files.push(p);
  }
  return { files, diagnostics };
}

function walk(dir: string): string[] {
  const out: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith(".") || e.name === "node_modules") continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(full));
    else if (e.name.endsWith(POLICY_EXTENSION)) out.push(full);
  }
  return out;
}

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file or directory";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  return (err as Error).message;
}

export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel === "" ? "." : rel.startsWith(`..${sep}..`) ? resolve(p) : rel;
}

export function loadPolicy(paths: string[], readText: (p: string) => string = (p) => readFileSync(p, "utf8")): LoadedPolicy {
  const { files: named, diagnostics } = expandPaths(paths);
  const byReal = new Map<string, SourceFile>();
  const files: SourceFile[] = [];
  const importsOf = new Map<SourceFile, { decl: ImportDecl; target: SourceFile }[]>();

  const load = (path: string, from?: ImportDecl): SourceFile | undefined => {
    let real: string;
    let text: string;
    try {
      real = realpathSync(path);
      if (byReal.has(real)) return byReal.get(real);
      if (statSync(real).isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
      text = readText(real);
    } catch (err) {
      if (from) {
        diagnostics.push(diagnostic("E110", `cannot import \`${stringValue(from)}\`: ${reason(err)}`, from.path));
      } else {
        diagnostics.push(diagnostic("E006", `cannot read \`${path}\`: ${reason(err)}`, { file: displayPath(path), start: 0, end: 0 }));
      }
      return undefined;
    }
    const file = parseSource(displayPath(path), text);
    byReal.set(real, file);
    files.push(file);
    const edges: { decl: ImportDecl; target: SourceFile }[] = [];
    importsOf.set(file, edges);
    for (const s of file.statements) {
      if (s.kind !== "import") continue;
      if (s.path.parts.some((p) => typeof p !== "string")) {
        literalOnly(s.path, "import paths", diagnostics);
        continue;
      }
      const target = load(resolve(dirname(real), stringValue(s)), s);
      if (target) edges.push({ decl: s, target });
    }
    return file;
  };
  for (const p of named) load(p);
  diagnostics.push(...findCycles(files, importsOf));
  return { files, diagnostics };
}

function stringValue(decl: ImportDecl): string {
  return decl.path.parts.map((p) => (typeof p === "string" ? p : "")).join("");
}

function findCycles(files: SourceFile[], importsOf: Map<SourceFile, { decl: ImportDecl; target: SourceFile }[]>): Diagnostic[] {
  const out: Diagnostic[] = [];
  const state = new Map<SourceFile, "active" | "done">();
  const stack: SourceFile[] = [];
  const visit = (f: SourceFile) => {
    state.set(f, "active");
    stack.push(f);
    for (const { decl, target } of importsOf.get(f) ?? []) {
      const s = state.get(target);
      if (s === "active") {
        const chain = [...stack.slice(stack.indexOf(target)), target].map((x) => x.path).join(" → ");
        out.push(diagnostic("E109", `import cycle: ${chain}`, decl, { suggestion: "move what both files need into a third file that both import" }));
      } else if (s === undefined) visit(target);
    }
    stack.pop();
    state.set(f, "done");
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return out;
}
