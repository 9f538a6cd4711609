// The JSON report in pieces, control by control: a year's report can be tens of megabytes, and
// written as one string (and one buffer of it) it would double the command's peak memory. The
// pieces joined are exactly JSON.stringify(report, null, 2) and a newline.
import type { EvidenceReport } from "./report-model.js";

const MARKER = "\u0000controls\u0000";

export function* reportJsonPieces(r: EvidenceReport): Generator<string> {
  const head = JSON.stringify({ ...r, controls: MARKER }, null, 2);
  const quoted = JSON.stringify(MARKER);
  const at = head.indexOf(quoted);
  yield head.slice(0, at);
  if (r.controls.length === 0) yield "[]";
  else {
    yield "[\n";
    for (let i = 0; i < r.controls.length; i++) {
      yield `    ${JSON.stringify(r.controls[i], null, 2).replace(/\n/g, "\n    ")}${i < r.controls.length - 1 ? ",\n" : "\n"}`;
    }
    yield "  ]";
  }
  yield `${head.slice(at + quoted.length)}\n`;
}
