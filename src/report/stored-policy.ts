// A policy version as the store keeps it (its files' text, content-addressed by hash), checked
// again with today's checker so that a report can say what each control was: its design, its
// promises as written, its waivers and the calendar's time zone. Checked once per hash.
import { checkFiles } from "../checker/check.js";
import type { CheckedControl, CheckedWaiver, Policy } from "../checker/policy.js";
import { promiseKeys, promiserText } from "../evaluator/engine.js";
import { parseSource } from "../parser/parse.js";
import type { PolicyFile } from "../store/store.js";

/** A promise as written: its key, its type and promiser, its source text and where it is. */
export interface WrittenPromise {
  key: string;
  type: string;
  promiser: string;
  text: string;
  file: string;
  line: number;
}

/** What a policy version says of one control, with a fingerprint to tell whether the next version changed it. */
export interface ControlAsWritten {
  control: CheckedControl;
  promises: WrittenPromise[];
  /** the control's own source text: two versions define it the same way when these are equal */
  text: string;
  waivers: CheckedWaiver[];
}

export interface CheckedVersion {
  hash: string;
  /** undefined when the stored text no longer checks (a checker that changed since): `problem` says why */
  policy?: Policy;
  problem?: string;
  controls: Map<string, ControlAsWritten>;
}

const MAX_PROBLEM = 300;

/** Checks a stored policy version's files as they were stored (imports are among them). */
export function checkStoredPolicy(hash: string, files: readonly PolicyFile[], today: string): CheckedVersion {
  const sources = files.map((f) => parseSource(f.path, f.text));
  const checked = checkFiles(sources, [], { today });
  if (!checked.policy) {
    const first = checked.diagnostics.find((d) => d.severity === "error");
    return { hash, problem: `its stored text no longer checks${first ? `: ${first.message.slice(0, MAX_PROBLEM)}` : ""}`, controls: new Map() };
  }
  const texts = new Map(files.map((f) => [f.path, f.text]));
  const lines = new Map<string, number[]>();
  const controls = new Map<string, ControlAsWritten>();
  const waivers = new Map<string, CheckedWaiver[]>();
  for (const w of checked.policy.waivers) waivers.set(w.control, [...(waivers.get(w.control) ?? []), w]);
  for (const c of checked.policy.controls) controls.set(c.id, { control: c, promises: [], text: sliceOf(texts, c.span), waivers: waivers.get(c.id) ?? [] });
  for (const { control, promise, key } of promiseKeys(checked.policy)) {
    const file = promise.span.file;
    const text = texts.get(file) ?? "";
    let starts = lines.get(file);
    if (!starts) lines.set(file, (starts = lineStarts(text)));
    controls.get(control.id)?.promises.push({ key, type: promise.type, promiser: promiserText(promise), text: text.slice(promise.span.start, promise.span.end), file, line: lineOf(starts, promise.span.start) });
  }
  return { hash, policy: checked.policy, controls };
}

function sliceOf(texts: Map<string, string>, span: { file: string; start: number; end: number }): string {
  return (texts.get(span.file) ?? "").slice(span.start, span.end);
}

/** Where each line of a text starts: read once per file, so that finding a promise's line does not read the file again (a policy of thousands of promises took minutes). */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/** The 1-based line of an offset: the number of lines that start at or before it. */
function lineOf(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Stored versions checked on first use, kept by hash. */
export class CheckedVersions {
  private readonly cache = new Map<string, CheckedVersion | undefined>();

  constructor(
    private readonly read: (hash: string) => { files: PolicyFile[] } | undefined,
    private readonly today: string,
  ) {}

  get(hash: string): CheckedVersion | undefined {
    if (!this.cache.has(hash)) {
      const stored = this.read(hash);
      this.cache.set(hash, stored ? checkStoredPolicy(hash, stored.files, this.today) : undefined);
    }
    return this.cache.get(hash);
  }
}
