// Where commands write. A small seam so tests can capture output in-process.
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
  style: Style;
  errStyle: Style;
}

export function processIo(): Io {
  // A reader that stops early (`covenant check | head`) closes the pipe: stop writing and end
  // quietly, as other command-line tools do, rather than crash with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") throw err;
      process.exit(process.exitCode ?? 0);
    });
  }
  return {
    out: (t) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
    // an error (EPIPE) ends the process in the handler above; the callback still comes first
    outFlushed: (t) => new Promise<void>((resolve) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`, () => resolve())),
    err: (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
    style: makeStyle(colorEnabled(process.stdout)),
    errStyle: makeStyle(colorEnabled(process.stderr)),
  };
}
