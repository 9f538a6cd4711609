// Where commands write. A small seam so tests can capture output in-process.
import { escapeText } from "../text/escape.js";
import { EXIT } from "./exit-codes.js";
import { colorEnabled, makeStyle, type Style } from "./style.js";

export interface Io {
  out(text: string): void;
  /**
   * Writes as `out` does, resolving once the text has left the process. Output to a pipe is
   * queued in memory when the reader is slower than the writer: a report written in pieces waits
   * for each piece, so megabytes of report are never held at once (bench/notify). Optional: an
   * in-process capture has nothing to wait for.
   */
  outFlushed?(text: string): Promise<void>;
  err(text: string): void;
  /**
   * The exit status to end with if the output is cut off from here on (a reader that stops
   * early): the command's own, once it knows it and still has output to write. Optional.
   */
  exitIfCut?(code: number): void;
  style: Style;
  errStyle: Style;
}

export function processIo(): Io {
  let cutCode: number | undefined;
  // A reader that stops early (`covenant check | head`) closes the pipe: stop writing and end
  // quietly, as other command-line tools do, with the command's status when it is known. Output
  // that cannot be written at all (a full disk, an I/O error) is said in one line and is exit 2:
  // never a stack trace. Whatever the command recorded before is kept.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(cutCode ?? process.exitCode ?? 0);
    process.stderr.write(`covenant: cannot write the output: ${escapeText(err.code ?? err.message)}\n`);
    process.exit(EXIT.policyError);
  });
  process.stderr.on("error", () => process.exit(cutCode ?? process.exitCode ?? 0));
  return {
    exitIfCut: (code) => {
      cutCode = code;
    },
    out: (t) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
    // an error (EPIPE) ends the process in the handler above; the callback still comes first
    outFlushed: (t) => new Promise<void>((resolve) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`, () => resolve())),
    err: (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
    style: makeStyle(colorEnabled(process.stdout)),
    errStyle: makeStyle(colorEnabled(process.stderr)),
  };
}
