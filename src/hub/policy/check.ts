// A published policy checked exactly as `covenant check` checks a directory: its files written
// into a directory of the hub's own making, loaded (imports followed, confined to it) and checked,
// the diagnostics given back with the files' relative paths. A policy that fails is never stored.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { checkFiles } from "../../checker/check.js";
import { loadPolicy } from "../../checker/load.js";
import { nothingToEvaluate } from "../../checker/nothing.js";
import { LineIndex } from "../../parser/diagnostics.js";

export interface PolicyFileText {
  /** relative, `/`-separated, ending `.promise` */
  path: string;
  text: string;
}

export interface PolicyProblem {
  file: string;
  line: number;
  col: number;
  code: string;
  message: string;
  suggestion?: string;
}

export const MAX_POLICY_FILES = 2_000;
export const MAX_POLICY_BYTES = 16 * 1024 * 1024;

/** Why a file's relative path may not be published, or undefined. */
export function policyPathProblem(path: string): string | undefined {
  if (typeof path !== "string" || path.length === 0 || path.length > 512) return "a path must be 1 to 512 characters";
  if (!path.endsWith(".promise")) return `${JSON.stringify(path)} is not a .promise file`;
  const parts = path.split("/");
  if (path.startsWith("/") || parts.some((p) => p === "" || p === "." || p === ".." || p.startsWith(".") || /[\\\x00-\x1f\x7f]/.test(p))) return `${JSON.stringify(path)} is not a plain relative path`;
  return undefined;
}

/** The shape problems of a set of files, before any is checked. */
export function filesProblem(files: unknown): string | undefined {
  if (!Array.isArray(files) || files.length === 0) return "a policy version has at least one file";
  if (files.length > MAX_POLICY_FILES) return `a policy version has at most ${MAX_POLICY_FILES} files`;
  let bytes = 0;
  const seen = new Set<string>();
  for (const f of files as { path?: unknown; text?: unknown }[]) {
    if (typeof f !== "object" || f === null || typeof f.text !== "string") return "each file is { path, text }";
    const p = policyPathProblem(f.path as string);
    if (p) return p;
    if (seen.has(f.path as string)) return `${JSON.stringify(f.path)} is given twice`;
    seen.add(f.path as string);
    bytes += Buffer.byteLength(f.text, "utf8");
  }
  // a file that is also another's directory ("a.promise" and "a.promise/b.promise") cannot be written out to be checked
  for (const path of seen) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) if (seen.has(parts.slice(0, i).join("/"))) return `${JSON.stringify(parts.slice(0, i).join("/"))} is a file and a directory of ${JSON.stringify(path)}`;
  }
  if (bytes > MAX_POLICY_BYTES) return `a policy version is at most ${MAX_POLICY_BYTES / 1024 / 1024} MiB`;
  return undefined;
}

/** The policy's error diagnostics (none: it may be published). */
export function checkPublishedPolicy(files: readonly PolicyFileText[], today: string): PolicyProblem[] {
  const dir = mkdtempSync(join(tmpdir(), "covenant-hub-policy-"));
  try {
    for (const f of files) {
      const path = join(dir, ...f.path.split("/"));
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeFileSync(path, f.text, { flag: "wx", mode: 0o600 });
    }
    const loaded = loadPolicy([dir], {});
    const checked = checkFiles(loaded.files, loaded.diagnostics, { today });
    const nothing = nothingToEvaluate([dir], loaded.emptyDirectories, checked.files, checked.diagnostics, checked.policy);
    if (nothing) checked.diagnostics.push(nothing);
    const texts = new Map(checked.files.map((f) => [f.path, f.text]));
    const indexes = new Map<string, LineIndex>();
    const at = (file: string, offset: number): { line: number; column: number } => {
      const text = texts.get(file);
      if (text === undefined) return { line: 1, column: 1 };
      let idx = indexes.get(file);
      if (!idx) indexes.set(file, (idx = new LineIndex(text)));
      return idx.position(offset);
    };
    return checked.diagnostics
      .filter((d) => d.severity === "error")
      .map((d) => {
        const pos = at(d.span.file, d.span.start);
        const file = d.span.file ? relative(dir, d.span.file).split("\\").join("/") : "";
        return { file, line: pos.line, col: pos.column, code: d.code, message: d.message.split(`${dir}/`).join(""), ...(d.suggestion ? { suggestion: d.suggestion.split(`${dir}/`).join("") } : {}) };
      });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
