// The JSON report in pieces, control by control and episode by episode: a year's report can be
// tens of megabytes, and a control of 3,000 episodes stringified at once is a string of megabytes
// (and its indented copy, and its buffer) that the old generation holds until a full collection:
// a year's JSON peaked at ~230 MB of heap so. Each episode and repair as its own small piece dies
// young. The pieces joined are exactly JSON.stringify(report, null, 2) and a newline.
import type { ControlReport, EvidenceReport } from "./report-model.js";

const MARKER = "\u0000controls\u0000";
const EPISODES = "\u0000episodes\u0000";
const REPAIRS = "\u0000repairs\u0000";

/** `value` as JSON.stringify(value, null, 2) writes it at `depth` spaces of indentation. */
function indented(value: unknown, depth: number): string {
  return JSON.stringify(value, null, 2).replace(/\n/g, `\n${" ".repeat(depth)}`);
}

/** An array at `depth`, an item at a time. */
function* arrayPieces(items: readonly unknown[], depth: number): Generator<string> {
  if (items.length === 0) return yield "[]";
  const pad = " ".repeat(depth + 2);
  yield "[\n";
  for (let i = 0; i < items.length; i++) yield `${pad}${indented(items[i], depth + 2)}${i < items.length - 1 ? ",\n" : "\n"}`;
  yield `${" ".repeat(depth)}]`;
}

/** Splits `text` at each marker's quoted form, yielding the array it stands for in its place (at the indentation of the line it is on). */
function* withArrays(text: string, arrays: readonly (readonly [string, readonly unknown[]])[]): Generator<string> {
  let from = 0;
  const found = arrays.map(([marker, items]) => ({ at: text.indexOf(JSON.stringify(marker)), length: JSON.stringify(marker).length, items })).sort((a, b) => a.at - b.at);
  for (const f of found) {
    const lineStart = text.lastIndexOf("\n", f.at) + 1;
    const depth = /^ */.exec(text.slice(lineStart, f.at))![0].length;
    yield text.slice(from, f.at);
    yield* arrayPieces(f.items, depth);
    from = f.at + f.length;
  }
  yield text.slice(from);
}

function* controlPieces(c: ControlReport, depth: number): Generator<string> {
  const shell = { ...c, operation: { ...c.operation, episodes: EPISODES, repairs: REPAIRS } };
  yield* withArrays(indented(shell, depth), [
    [EPISODES, c.operation.episodes],
    [REPAIRS, c.operation.repairs],
  ]);
}

export function* reportJsonPieces(r: EvidenceReport): Generator<string> {
  const head = JSON.stringify({ ...r, controls: MARKER }, null, 2);
  const quoted = JSON.stringify(MARKER);
  const at = head.indexOf(quoted);
  yield head.slice(0, at);
  if (r.controls.length === 0) yield "[]";
  else {
    yield "[\n";
    for (let i = 0; i < r.controls.length; i++) {
      yield "    ";
      yield* controlPieces(r.controls[i]!, 4);
      yield i < r.controls.length - 1 ? ",\n" : "\n";
    }
    yield "  ]";
  }
  yield `${head.slice(at + quoted.length)}\n`;
}
