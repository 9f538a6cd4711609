// Loading a policy (load.ts adds the parser): expand the given paths, read and parse each file once, follow imports,
// and report missing files and import cycles. Synchronous: a CLI reads a few files and exits.
//
// What is read is bounded (policy-file.ts) and confined: a policy reads only `.promise` files
// below its policy directories, the directories named on the command line, those of the files
// named there, and those given with `--include`. Real paths are compared (every link resolved),
// so a link cannot lead out of them; `import "/proc/self/environ"` is refused before anything is
// opened, and no refusal quotes the content of what was refused.
import { readdirSync, realpathSync, statSync, type Stats } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import type { ImportDecl, SourceFile } from "../parser/ast.js";
import { diagnostic, type Diagnostic, type DiagnosticCode, type Span } from "../parser/diagnostics.js";
import type { FileIdentity } from "../probes/file-identity.js";
import { DEFAULT_MAX_FILE_SIZE, errnoReason, readPolicyFile } from "./policy-file.js";
import { PolicyTrust } from "./policy-trust.js";
import { literalOnly } from "./scope.js";

export interface LoadedPolicy {
  /** parsed files: the named ones first, then imports, each once */
  files: SourceFile[];
  diagnostics: Diagnostic[];
  /** directories named on the command line in which no `.promise` file was found */
  emptyDirectories: string[];
}

export interface LoadOptions {
  /** directories outside the policy's own whose `.promise` files may be imported (`--include`) */
  include?: string[];
  /** the largest policy file read, in bytes (`--max-file-size`) */
  maxFileSize?: number;
  /** as root (`run`): refuse policy files and directories another user can change (policy-trust.ts) */
  rootOnly?: boolean;
  /**
   * The import statements of a file already parsed once, by its displayed path, text and real path (the
   * policy cache, cli/policy-cache.ts): such a file is not parsed again, and its SourceFile holds
   * only those statements. Everything else (what is read, from where, as whom) is as without it.
   */
  known?: (path: string, text: string, real: string) => ImportDecl[] | undefined;
  /**
   * For the language server (src/lsp): the text an editor holds for a file, by real path, read
   * in place of what is on disk (confinement is judged as for any file).
   */
  held?: (real: string) => string | undefined;
}

export const POLICY_EXTENSION = ".promise";

/** A file to read: named on the command line, or found in a directory named there. */
export interface PolicyPath {
  path: string;
  named: boolean;
}

export interface PolicyPaths {
  files: PolicyPath[];
  roots: PolicyRoots;
  diagnostics: Diagnostic[];
  emptyDirectories: string[];
}

/** The policy directories, as real paths: what a policy may read lies below one of them. */
export class PolicyRoots {
  readonly dirs: string[] = [];
  add(real: string): void {
    if (!this.dirs.includes(real)) this.dirs.push(real);
  }
  /** the innermost directory that holds `real`, or undefined when none does */
  holding(real: string): string | undefined {
    let best: string | undefined;
    for (const d of this.dirs) if ((real === d || real.startsWith(d === "/" ? "/" : `${d}/`)) && (best === undefined || d.length > best.length)) best = d;
    return best;
  }
}

const atFile = (path: string): Span => ({ file: displayPath(path), start: 0, end: 0 });

/**
 * Files named on the command line, directories expanded to their `.promise` files (sorted,
 * recursive), and the policy directories: those named, those of the files named, and `include`.
 */
export function expandPaths(paths: string[], include: string[] = []): PolicyPaths {
  const files: PolicyPath[] = [];
  const diagnostics: Diagnostic[] = [];
  const emptyDirectories: string[] = [];
  const roots = new PolicyRoots();
  for (const p of paths) {
    try {
      if (statSync(p).isDirectory()) {
        roots.add(realpathSync(p));
        const found = walk(p, diagnostics);
        if (found.length === 0) emptyDirectories.push(p);
        files.push(...found.map((f) => ({ path: f, named: false })));
      } else {
        roots.add(dirname(realpathSync(p)));
        files.push({ path: p, named: true });
      }
    } catch (err) {
      diagnostics.push(diagnostic("E006", `cannot read \`${p}\`: ${errnoReason(err)}`, atFile(p)));
    }
  }
  for (const dir of include) {
    try {
      if (!statSync(dir).isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
      roots.add(realpathSync(dir));
    } catch (err) {
      diagnostics.push(diagnostic("E006", `cannot read \`${dir}\` (--include): ${errnoReason(err)}`, atFile(dir), { suggestion: "--include names a directory whose .promise files policies may import" }));
    }
  }
  return { files, roots, diagnostics, emptyDirectories };
}

function walk(dir: string, diagnostics: Diagnostic[]): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    diagnostics.push(diagnostic("E006", `cannot read the directory \`${dir}\`: ${errnoReason(err)}`, atFile(dir)));
    return [];
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith(".") || e.name === "node_modules") continue;
    const full = join(dir, e.name);
    // a link to a directory is not followed (no loops); anything named *.promise is policy,
    // and what is not a regular file among them is reported when it is read
    if (e.isDirectory()) out.push(...walk(full, diagnostics));
    else if (e.name.endsWith(POLICY_EXTENSION)) out.push(full);
  }
  return out;
}

export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel === "" ? "." : rel.startsWith(`..${sep}..`) ? resolve(p) : rel;
}

/** What to read and where it came from: a file named or found (`path` as given), or an import. */
type Origin = { path: string; decl?: ImportDecl };

export type PolicySource = { ok: true; real: string; text: string; st: Stats; identity: FileIdentity } | { ok: false; diagnostic: Diagnostic; file?: SourceFile };

/** Reads policy files under the rules above; `fmt` reads through it too. */
export class PolicyReader {
  private readonly trust: PolicyTrust | undefined;
  private readonly maxFileSize: number;
  constructor(
    readonly roots: PolicyRoots,
    options: LoadOptions,
  ) {
    this.maxFileSize = options.maxFileSize ?? DEFAULT_MAX_FILE_SIZE;
    this.trust = options.rootOnly ? new PolicyTrust() : undefined;
  }

  /** Why root may not use one of the policy directories, as diagnostics (none unless rootOnly). */
  directoryRefusals(): Diagnostic[] {
    const out: Diagnostic[] = [];
    for (const d of this.roots.dirs) {
      const why = this.trust?.directory(d);
      if (why) out.push(diagnostic("E122", why, atFile(d)));
    }
    return out;
  }

  /** The real path `o` leads to, or a diagnostic saying why it may not be read (`named`: given on the command line, so not confined). */
  resolve(o: Origin, named: boolean): { real: string } | { diagnostic: Diagnostic } {
    const fail = (code: DiagnosticCode, message: string, suggestion?: string) => ({ diagnostic: diagnostic(code, message, o.decl ? o.decl.path : atFile(o.path), suggestion ? { suggestion } : {}) });
    let real: string;
    try {
      real = realpathSync(o.path);
    } catch (err) {
      return o.decl ? fail("E110", `cannot import \`${stringValue(o.decl)}\`: ${errnoReason(err)}`) : fail("E006", `cannot read \`${o.path}\`: ${errnoReason(err)}`);
    }
    if (named) return { real };
    // what it is, in the words of its origin: an import, or a link found in a policy directory
    const leads = real !== resolve(o.path) ? `leads to \`${real}\`, which ` : "";
    const subject = o.decl ? `cannot import \`${stringValue(o.decl)}\`: it ${leads}` : `\`${o.path}\` ${leads}`;
    if (this.roots.holding(real) === undefined) {
      const dirs = this.roots.dirs.map((d) => `\`${displayPath(d)}\``).join(", ");
      const hint = o.decl ? "a policy reads only .promise files below the directories named on the command line; name a shared library's directory with `--include DIR`" : "a link in a policy directory must lead to a file below the policy's directories";
      return fail("E120", `${subject}is outside the policy's directories (${dirs})`, hint);
    }
    if (!real.endsWith(POLICY_EXTENSION)) return fail("E121", `${subject}is not a .promise file`, "only files named *.promise are policy");
    return { real };
  }

  /** The text of the policy file `o` names, or the diagnostic (and for bytes that are not UTF-8, the file up to them). */
  read(o: Origin, named: boolean): PolicySource {
    const r = this.resolve(o, named);
    return "diagnostic" in r ? { ok: false, diagnostic: r.diagnostic } : this.readResolved(o, r.real);
  }

  /** As read(), for a path already resolved to `real`. */
  readResolved(o: Origin, real: string): PolicySource {
    const span = o.decl ? o.decl.path : atFile(o.path);
    // as root, the directories are judged before the file is opened, and the file on its
    // descriptor before it is read: nothing of a refused file (a hard link to a secret of root's
    // in another user's directory) is read, so none of it is quoted by a diagnostic
    const root = this.roots.holding(real) ?? dirname(real);
    const trust = this.trust;
    const refusedDirectory = trust?.directories(real, root);
    if (refusedDirectory) return { ok: false, diagnostic: diagnostic("E122", refusedDirectory, span) };
    const read = readPolicyFile(real, this.maxFileSize, trust && ((st) => trust.file(real, root, st)));
    if (!read.ok) {
      if (read.code === "E122") return { ok: false, diagnostic: diagnostic("E122", read.problem, span) };
      if (read.code === "E007") {
        // at the first bad byte, in the file that holds it: what precedes it is shown, nothing after
        const shown = displayPath(o.decl ? real : o.path);
        const d = diagnostic("E007", `file ${read.problem}`, { file: shown, start: read.offset, end: read.offset });
        return { ok: false, diagnostic: d, file: { path: shown, text: read.text, statements: [], comments: [], diagnostics: [], incomplete: [] } };
      }
      const cannot = o.decl ? `cannot import \`${stringValue(o.decl)}\`` : `cannot read \`${o.path}\``;
      if (read.code === "E006") return { ok: false, diagnostic: diagnostic("E006", `${cannot}: ${read.problem}`, span) };
      const suggestion = read.code === "E008" ? { suggestion: "raise the limit with `--max-file-size`, or split the file" } : {};
      return { ok: false, diagnostic: diagnostic(read.code, `${o.decl ? `${cannot}: it` : `\`${o.path}\``} ${read.problem}`, span, suggestion) };
    }
    return { ok: true, real, text: read.text, st: read.st, identity: read.identity };
  }
}

/** Parses one policy file's text (parser/parse.ts), given by load.ts: this module never loads the parser itself. `real`: where it was read (the language server's parse cache keys on it). */
export type Parse = (path: string, text: string, real: string) => SourceFile;

/**
 * loadPolicy (load.ts) with the parser given: the policy cache (cli/run-policy.ts) walks a policy
 * through this module alone, never parsing, so a run from the cache never loads the grammar.
 */
export function loadPolicyWith(paths: string[], options: LoadOptions, parseSource: Parse): LoadedPolicy {
  const refusals: Diagnostic[] = [];
  if (options.rootOnly) ({ paths, options } = trustedPaths(paths, options, refusals));
  const { files: named, roots, diagnostics, emptyDirectories } = expandPaths(paths, options.include);
  diagnostics.unshift(...refusals);
  const reader = new PolicyReader(roots, options);
  diagnostics.push(...reader.directoryRefusals());
  const walk: ImportWalk = { reader, options, parseSource, diagnostics, byReal: new Map(), files: [], importsOf: new Map() };
  for (const p of named) loadFrom(walk, p.path, p.named);
  diagnostics.push(...findCycles(walk.files, walk.importsOf));
  return { files: walk.files, diagnostics, emptyDirectories };
}

/**
 * As root, a path named on the command line is followed one link at a time, each link and
 * directory on the way judged: a link another user owns (in /tmp, say) would let them choose
 * what root reads and runs. A refused path is not read at all: the paths and `--include`
 * directories left, the refusals added to `refusals`.
 */
function trustedPaths(paths: string[], options: LoadOptions, refusals: Diagnostic[]): { paths: string[]; options: LoadOptions } {
  const trust = new PolicyTrust();
  const judged = (p: string, what: string) => {
    const why = trust.path(p, what);
    if (why) refusals.push(diagnostic("E122", why, atFile(p)));
    return !why;
  };
  const kind = (p: string) => {
    try {
      return statSync(p).isDirectory() ? "the policy directory" : "the policy file";
    } catch {
      return "the policy";
    }
  };
  paths = paths.filter((p) => judged(p, `${kind(p)} ${p}`));
  options = { ...options, include: (options.include ?? []).filter((p) => judged(p, `the --include directory ${p}`)) };
  return { paths, options };
}

type ImportEdge = { decl: ImportDecl; target: SourceFile };

/** The files of a policy read so far, following their imports, and what was found wrong. */
interface ImportWalk {
  readonly reader: PolicyReader;
  readonly options: LoadOptions;
  readonly parseSource: Parse;
  readonly diagnostics: Diagnostic[];
  readonly byReal: Map<string, SourceFile>;
  readonly files: SourceFile[];
  readonly importsOf: Map<SourceFile, ImportEdge[]>;
}

// A file being read and the imports of it still to follow. Imports are followed depth-first
// with a stack of these, not by recursion: a chain of thousands of files importing each other
// must be a policy like any other, not a stack overflow (exit 3).
type Frame = { real: string; imports: ImportDecl[]; next: number; edges: ImportEdge[] };

/** The file `path` leads to (already read, or read now: then with its frame), or nothing when it cannot be read. */
function openFile(w: ImportWalk, path: string, isNamed: boolean, from?: ImportDecl): { file?: SourceFile; frame?: Frame } {
  const { reader, options, diagnostics, files } = w;
  const origin: Origin = from ? { path, decl: from } : { path };
  const resolved = reader.resolve(origin, isNamed);
  if ("diagnostic" in resolved) {
    diagnostics.push(resolved.diagnostic);
    return {};
  }
  const known = w.byReal.get(resolved.real);
  if (known) return { file: known };
  const held = options.held?.(resolved.real);
  const source = held !== undefined ? { ok: true as const, real: resolved.real, text: held } : reader.readResolved(origin, resolved.real);
  if (!source.ok) {
    // a file that is not UTF-8 is reported once, in itself, however many files import it
    if (source.file && files.some((f) => f.path === source.file!.path)) return {};
    // a refused directory is reported once, not again for each file in it
    if (source.diagnostic.code === "E122" && diagnostics.some((d) => d.code === "E122" && d.message === source.diagnostic.message)) return {};
    diagnostics.push(source.diagnostic);
    if (source.file) files.push(source.file);
    return {};
  }
  const shown = displayPath(path);
  const parsedBefore = options.known?.(shown, source.text, source.real);
  const file: SourceFile = parsedBefore ? { path: shown, text: source.text, statements: parsedBefore, comments: [], diagnostics: [], incomplete: [] } : w.parseSource(shown, source.text, source.real);
  w.byReal.set(source.real, file);
  files.push(file);
  const edges: ImportEdge[] = [];
  w.importsOf.set(file, edges);
  const imports = file.statements.filter((st): st is ImportDecl => st.kind === "import");
  return { file, frame: { real: source.real, imports, next: 0, edges } };
}

/** Reads the file `path` leads to and, depth-first, every file it imports that was not read yet. */
function loadFrom(w: ImportWalk, path: string, isNamed: boolean): void {
  const first = openFile(w, path, isNamed).frame;
  const stack = first ? [first] : [];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const s = top.imports[top.next++];
    if (s === undefined) {
      stack.pop();
      continue;
    }
    if (s.path.parts.some((p) => typeof p !== "string")) {
      literalOnly(s.path, "import paths", w.diagnostics);
      continue;
    }
    const target = openFile(w, resolve(dirname(top.real), stringValue(s)), false, s);
    if (target.file) top.edges.push({ decl: s, target: target.file });
    if (target.frame) stack.push(target.frame);
  }
}

function stringValue(decl: ImportDecl): string {
  return decl.path.parts.map((p) => (typeof p === "string" ? p : "")).join("");
}

function findCycles(files: SourceFile[], importsOf: Map<SourceFile, { decl: ImportDecl; target: SourceFile }[]>): Diagnostic[] {
  const out: Diagnostic[] = [];
  const state = new Map<SourceFile, "active" | "done">();
  // depth-first without recursion, as files are loaded: an import chain may be thousands long
  const stack: SourceFile[] = [];
  const next: number[] = [];
  const visit = (start: SourceFile) => {
    state.set(start, "active");
    stack.push(start);
    next.push(0);
    while (stack.length > 0) {
      const f = stack[stack.length - 1]!;
      const edge = (importsOf.get(f) ?? [])[next[next.length - 1]!++];
      if (edge === undefined) {
        stack.pop();
        next.pop();
        state.set(f, "done");
        continue;
      }
      const { decl, target } = edge;
      const s = state.get(target);
      if (s === "active") {
        const chain = [...stack.slice(stack.indexOf(target)), target].map((x) => x.path).join(" → ");
        out.push(diagnostic("E109", `import cycle: ${chain}`, decl, { suggestion: "move what both files need into a third file that both import" }));
      } else if (s === undefined) {
        state.set(target, "active");
        stack.push(target);
        next.push(0);
      }
    }
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return out;
}
