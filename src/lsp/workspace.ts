// The language server's view of the policy: the workspace folders, the text the editor holds for
// each open file, and the last check of each folder. A folder is checked exactly as `covenant
// check` checks it when run from that folder (the same loader, checker, E010 and covenant.yaml
// checks, in the same order), with two differences only: an open file's text is the editor's,
// not the disk's, and a file whose text has not changed since the last check is not parsed again.
import { realpathSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import { checkFiles } from "../checker/check.js";
import { CheckMemo } from "../checker/controls.js";
import { displayPath, loadPolicyWith } from "../checker/load-walk.js";
import { nothingToEvaluate } from "../checker/nothing.js";
import type { Policy } from "../checker/policy.js";
import { checkConfiguration } from "../config/check.js";
import { SourceMap } from "../parser/source-map.js";
import type { SourceFile } from "../parser/ast.js";
import type { Diagnostic } from "../parser/diagnostics.js";
import { reparse, type TextEdit } from "./incremental.js";

export interface ServerOptions {
  /** covenant.yaml, as `check --config` names it (relative to the folder) */
  config?: string;
  /** `check --include`: directories whose .promise files may be imported besides the folder's own */
  include: string[];
  /** `check --max-file-size`, in bytes */
  maxFileSize?: number;
  /** `check --today`: the date waivers are judged on (for tests) */
  today?: string;
}

/** One folder's check, as `covenant check` run from it would give it. */
export interface FolderCheck {
  folder: string;
  files: SourceFile[];
  /** every diagnostic, in the order `check` prints them */
  diagnostics: Diagnostic[];
  /** the text of every file a diagnostic may point into (covenant.yaml too), for positions */
  map: SourceMap;
  policy?: Policy;
  /** covenant.yaml checked, absolute */
  configPath?: string;
}

/** The real path of `path`, or `path` itself when it does not resolve (a file not yet saved). */
export function realOrSame(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

export function isPolicyPath(path: string): boolean {
  return path.endsWith(".promise") || path.endsWith(`${sep}covenant.yaml`) || path === "covenant.yaml";
}

export class Workspace {
  /** the editor's text of each open policy file and covenant.yaml, by real path */
  private readonly held = new Map<string, string>();
  /** the last parse of each file, by the path it is shown under: reused while its text is the same */
  private readonly parsed = new Map<string, SourceFile>();
  /** the last check of each folder */
  readonly checks = new Map<string, FolderCheck>();
  /** the controls' checks of each folder's last check, taken again by the next where nothing they read changed */
  readonly memos = new Map<string, CheckMemo>();
  /** files parsed (whole or in part) by the last check: the others came from the cache */
  lastParses = 0;

  constructor(
    public folders: string[],
    readonly options: ServerOptions,
  ) {}

  /**
   * The edit that made each held text from the one last parsed, when the editor said where it
   * was and it was the only one since (null: several, or unknown: the texts are compared).
   */
  private readonly edits = new Map<string, TextEdit | null>();

  /** The editor's text of a file; `edit`, when the editor said where it changed the previous text. */
  open(path: string, text: string, edit?: TextEdit): void {
    const real = realOrSame(path);
    this.held.set(real, text);
    this.edits.set(real, edit !== undefined && !this.edits.has(real) ? edit : null);
  }
  close(path: string): void {
    const real = realOrSame(path);
    this.held.delete(real);
    this.edits.delete(real);
  }

  /** The workspace folder `path` belongs to (the innermost), or its own directory when none holds it. */
  folderOf(path: string): string {
    let best: string | undefined;
    for (const f of this.folders) if ((path === f || path.startsWith(f === "/" ? "/" : `${f}${sep}`)) && (best === undefined || f.length > best.length)) best = f;
    return best ?? dirname(path);
  }

  /** Checks `folder` as `covenant check` run from it would, with the editor's text for open files. */
  check(folder: string): FolderCheck {
    const named = [displayPath(folder)];
    this.lastParses = 0;
    const options = {
      include: this.options.include.map((d) => resolve(folder, d)),
      ...(this.options.maxFileSize !== undefined ? { maxFileSize: this.options.maxFileSize } : {}),
      held: (real: string) => this.held.get(real),
    };
    const loaded = loadPolicyWith(named, options, (path, text, real) => this.parse(path, text, real));
    let memo = this.memos.get(folder);
    if (!memo) this.memos.set(folder, (memo = new CheckMemo()));
    const result = checkFiles(loaded.files, loaded.diagnostics, { memo, ...(this.options.today !== undefined ? { today: this.options.today } : {}) });
    const nothing = nothingToEvaluate(named, loaded.emptyDirectories, result.files, result.diagnostics, result.policy);
    if (nothing) result.diagnostics.push(nothing);
    const map = new SourceMap(result.files);
    const config = checkConfiguration(this.options.config, result.policy, map, { cwd: folder, held: (path) => this.held.get(realOrSame(path)) });
    result.diagnostics.push(...config.diagnostics);
    // a file gone from every folder's policy leaves the cache
    const shown = new Set(result.files.map((f) => f.path));
    for (const other of this.checks.values()) if (other.folder !== folder) for (const f of other.files) shown.add(f.path);
    for (const path of this.parsed.keys()) if (!shown.has(path)) this.parsed.delete(path);
    const check: FolderCheck = { folder, files: result.files, diagnostics: result.diagnostics, map };
    if (result.policy) check.policy = result.policy;
    if (config.path !== undefined) check.configPath = config.path;
    this.checks.set(folder, check);
    return check;
  }

  private parse(path: string, text: string, real: string): SourceFile {
    const known = this.parsed.get(path);
    const edit = this.edits.get(real) ?? undefined;
    this.edits.delete(real);
    // with the editor's edit, the texts differ and reparse needs no comparison to say where;
    // without (a file read from disk, edits that came together), they are compared
    if (known !== undefined && (edit === undefined || edit.before !== known.text) && known.text === text) return known;
    this.lastParses++;
    const file = reparse(known, path, text, edit);
    this.parsed.set(path, file);
    return file;
  }
}
