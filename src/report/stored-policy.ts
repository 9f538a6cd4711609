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
  const controls = new Map<string, ControlAsWritten>();
  for (const c of checked.policy.controls) controls.set(c.id, { control: c, promises: [], text: sliceOf(texts, c.span), waivers: checked.policy.waivers.filter((w) => w.control === c.id) });
  for (const { control, promise, key } of promiseKeys(checked.policy)) {
    const text = texts.get(promise.span.file) ?? "";
    controls.get(control.id)?.promises.push({ key, type: promise.type, promiser: promiserText(promise), text: text.slice(promise.span.start, promise.span.end), file: promise.span.file, line: lineOf(text, promise.span.start) });
  }
  return { hash, policy: checked.policy, controls };
}

function sliceOf(texts: Map<string, string>, span: { file: string; start: number; end: number }): string {
  return (texts.get(span.file) ?? "").slice(span.start, span.end);
}

/** The 1-based line of an offset. */
function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
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
