// `covenant fmt [paths...]`: rewrite policies in the canonical layout.
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, openSync, writeSync, type Stats } from "node:fs";
import { displayPath, expandPaths, PolicyReader } from "../../checker/load.js";
import { format } from "../../formatter/format.js";
import { capDiagnostics, compareDiagnostics } from "../../parser/diagnostics.js";
import { parseSource } from "../../parser/parse.js";
import { identityOfDescriptor, sameObject, type FileIdentity } from "../../probes/file-identity.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { escapeText } from "../escape.js";
import { SourceMap } from "../../parser/source-map.js";
import { renderDiagnostic } from "../render.js";

export interface FmtCommandOptions {
  check: boolean;
  stdout: boolean;
  /** the largest policy file read, in bytes */
  maxFileSize?: number;
}

export function runFmt(paths: string[], opts: FmtCommandOptions, io: Io): number {
  const { files, roots, diagnostics } = expandPaths(paths.length > 0 ? paths : ["."]);
  // read as `check` reads: regular .promise files, bounded, UTF-8, none through a link out of the directories named
  const reader = new PolicyReader(roots, opts.maxFileSize !== undefined ? { maxFileSize: opts.maxFileSize } : {});
  let failed = diagnostics.length > 0;
  for (const d of diagnostics) io.err(renderDiagnostic(d, new SourceMap([]), io.errStyle));
  const changed: string[] = [];
  for (const { path, named } of files) {
    const shown = displayPath(path);
    const source = reader.read({ path }, named);
    if (!source.ok) {
      io.err(renderDiagnostic(source.diagnostic, new SourceMap(source.file ? [source.file] : []), io.errStyle));
      failed = true;
      continue;
    }
    const text = source.text;
    const file = parseSource(shown, text);
    // in the order `check` prints them: the scanner's and the literals' come after the grammar's
    const errors = capDiagnostics(file.diagnostics.filter((d) => d.severity === "error").sort(compareDiagnostics), { errors: file.dropped?.errors ?? 0, warnings: 0 });
    if (errors.length > 0) {
      // Never rewrite a file we could not fully parse: formatting must not lose a byte of meaning.
      const map = new SourceMap([file]);
      for (const d of errors) io.err(renderDiagnostic(d, map, io.errStyle));
      failed = true;
      continue;
    }
    const formatted = format(file);
    if (opts.stdout) {
      io.out(formatted.replace(/\n$/, ""));
      continue;
    }
    if (formatted === text) continue;
    changed.push(shown);
    if (opts.check) io.out(`would reformat ${escapeText(shown)}`);
    else {
      // Never through a link: a link named on the command line (one in /tmp, say, of another
      // user's) would choose which file is rewritten, any file that parses, such as a
      // configuration file of comments only. A link found in a directory is skipped: what it
      // leads to lies below the directories named and is formatted under its own name.
      if (isLink(path)) {
        changed.pop();
        if (!named) continue;
        io.err(`${escapeText(shown)}: error E006: not rewritten: it is a symbolic link (to ${escapeText(displayPath(source.real))}); fmt rewrites no file through a link: name the file itself`);
        failed = true;
        continue;
      }
      const problem = rewrite(source.real, source, formatted);
      if (problem) {
        io.err(`${escapeText(shown)}: error E006: not rewritten: ${escapeText(problem)}`);
        failed = true;
        continue;
      }
      io.out(`formatted ${escapeText(shown)}`);
    }
  }
  if (failed) return EXIT.policyError;
  if (opts.check && changed.length > 0) return EXIT.deficiencies;
  return EXIT.ok;
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Writes `text` over the file that was read (`real`, as `read` describes it), in place: its
 * owner, mode and links stay. Never through a link, and never over a file swapped in since it
 * was read: what changed meanwhile is not lost.
 */
function rewrite(real: string, read: { st: Stats; identity: FileIdentity }, text: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(real, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    return `it cannot be opened for writing (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  try {
    const st = fstatSync(fd);
    if (!sameObject(identityOfDescriptor(fd), read.identity) || st.size !== read.st.size || st.mtimeMs !== read.st.mtimeMs) return "it changed while it was formatted; run fmt again";
    // as root, a file with other names may be a hard link another user made, in a directory of
    // theirs, to a file of root's that is not policy (a configuration of comments only parses):
    // writing it in place would change that file
    if (process.getuid?.() === 0 && st.nlink > 1) return `it has ${st.nlink - 1} other name(s) (a hard link): as root, fmt rewrites no file with other names; format a copy, or remove the other names first`;
    const bytes = Buffer.from(text);
    ftruncateSync(fd, 0);
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at, at);
    return undefined;
  } catch (err) {
    return `writing failed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  } finally {
    closeSync(fd);
  }
}
