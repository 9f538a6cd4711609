// Where commands write. A small seam so tests can capture output in-process.
import { colorEnabled, makeStyle, type Style } from "./style.js";

export interface Io {
  out(text: string): void;
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
    err: (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
    style: makeStyle(colorEnabled(process.stdout)),
    errStyle: makeStyle(colorEnabled(process.stderr)),
  };
}
