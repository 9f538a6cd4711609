// Where commands write. A small seam so tests can capture output in-process.
import { colorEnabled, makeStyle, type Style } from "./style.js";

export interface Io {
  out(text: string): void;
  err(text: string): void;
  style: Style;
  errStyle: Style;
}

export function processIo(): Io {
  return {
    out: (t) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
    err: (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
    style: makeStyle(colorEnabled(process.stdout)),
    errStyle: makeStyle(colorEnabled(process.stderr)),
  };
}
