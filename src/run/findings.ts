// What a deficiency needs from the policy besides the promise's result: the control's title,
// owner and severity, the promise's handle and dependencies (inhibition), and what was promised
// as written. Looked up only when the store writes a record (a change of state), so a run whose
// states do not change pays nothing for it.
import type { CheckedPromise, Policy } from "../checker/policy.js";
import { promiseKeys, type PromiseResult } from "../evaluator/engine.js";
import type { Finding } from "../store/store.js";

/** At most this many lines of a promise as written are kept as "what was promised". */
const PROMISED_LINES = 20;

export function findingsFor(policy: Policy, files: { path: string; text: string }[], host: string): (r: PromiseResult) => Finding | undefined {
  // made at the first record written: a run whose states do not change never builds them
  let byKey: Map<string, { control: Policy["controls"][number]; promise: CheckedPromise }> | undefined;
  let texts: Map<string, string> | undefined;
  return (r) => {
    // the keys the evaluator gives its results
    byKey ??= new Map(promiseKeys(policy).map(({ key, control, promise }) => [key, { control, promise }]));
    texts ??= new Map(files.map((f) => [f.path, f.text]));
    const found = byKey.get(r.key);
    if (!found) return undefined;
    const { control, promise } = found;
    const finding: Finding = {
      host,
      control: { id: control.id, title: control.title, severity: control.severity, key: control.key, ...(control.owner !== undefined ? { owner: control.owner } : {}) },
      promise: { stakeholders: promise.stakeholders, dependsOn: promise.dependsOn, file: r.file, line: r.line, ...(promise.handle !== undefined ? { handle: promise.handle } : {}) },
      promised: promisedText(texts.get(promise.span.file), promise),
    };
    return finding;
  };
}

/** The promise's attribute lines as written (its body between braces), trimmed. */
function promisedText(text: string | undefined, promise: CheckedPromise): string[] {
  if (text === undefined) return [];
  const written = text.slice(promise.span.start, promise.span.end);
  const open = written.indexOf("{");
  const close = written.lastIndexOf("}");
  const body = open >= 0 && close > open ? written.slice(open + 1, close) : "";
  const lines = body
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith("//"));
  return lines.length > PROMISED_LINES ? [...lines.slice(0, PROMISED_LINES), `… and ${lines.length - PROMISED_LINES} more lines`] : lines;
}
