import { RE2JS } from "re2js";
import * as textLines from "../../probes/lines.js";
import type { TextFile } from "../../probes/lines.js";
import type { Change } from "../change-gate.js";
import { attr, repairs, type Difference, type Observation, type PromiseBehaviour } from "../contract.js";
import { expandGlob, isGlob } from "../glob-paths.js";
import { policyPathOf } from "../ownership.js";
import type { CheckedPromise } from "../../checker/policy.js";
import { quoteMasked } from "../quoted-text.js";
import { quoteOutput } from "./command.js";

type Quantifier = "every" | "at_least_one" | "none";

interface ObservedText {
  /** as the policy names it */
  path: string;
  hostPath: string;
  /** the file as lines; absent when there is no regular file there */
  file?: TextFile;
  /** why there is no file to judge: missing, a link, not a regular file */
  none?: string;
}

interface ObservedLines {
  pattern: string;
  files: ObservedText[];
}

/** The most forbidden lines reported for one file: the rest are counted, not quoted. */
const REPORTED_PER_FILE = 10;

interface Wanted {
  present: string[];
  matching: { source: string; re: RE2JS }[];
  absent: { source: string; re: RE2JS }[];
  nodiff: boolean;
}

function wanted(p: CheckedPromise): Wanted {
  const compile = (source: string) => ({ source, re: RE2JS.compile(source) });
  return {
    present: attr<string[]>(p, "present") ?? [],
    matching: (attr<string[]>(p, "matching") ?? []).map(compile),
    absent: (attr<string[]>(p, "absent") ?? []).map(compile),
    nodiff: attr<boolean>(p, "nodiff") === true,
  };
}

/** Anchored: the pattern must match the whole line. */
const matchesLine = (re: RE2JS, text: string) => re.matcher(text).matches();

/** The lines an `absent` pattern matches, by number. */
function forbiddenLines(file: TextFile, w: Wanted): { number: number; text: string; pattern: string }[] {
  const out: { number: number; text: string; pattern: string }[] = [];
  for (const line of file.lines) {
    const hit = w.absent.find((a) => matchesLine(a.re, line.text));
    if (hit) out.push({ number: line.number, text: line.text, pattern: hit.source });
  }
  return out;
}

function missingLines(file: TextFile, w: Wanted): string[] {
  const have = new Set(file.lines.map((l) => l.text));
  return w.present.filter((l) => !have.has(l));
}

/** Everything one file lacks or holds against the promise; empty when it holds the promise. */
function judgeFile(f: ObservedText, w: Wanted): Difference[] {
  const subject = f.path;
  if (!f.file) return [{ subject, attribute: "path", expected: "a regular file", observed: f.none ?? "missing", reason: `${f.path} is ${f.none ?? "missing"}` }];
  const file = f.file;
  const out: Difference[] = [];
  for (const line of missingLines(file, w)) {
    // with nodiff the promised line may be the secret (a PIN): named by its place in the policy
    const shown = w.nodiff ? `line ${w.present.indexOf(line) + 1} of \`present\`` : quoteOutput(line);
    out.push({ subject, attribute: "present", expected: shown, observed: "missing", reason: `${f.path} lacks ${w.nodiff ? shown : `the line ${shown}`}` });
  }
  for (const m of w.matching) {
    if (!file.lines.some((l) => matchesLine(m.re, l.text))) out.push({ subject, attribute: "matching", expected: m.source, observed: "no such line", reason: `${f.path} has no line matching ${quoteOutput(m.source)}` });
  }
  const forbidden = forbiddenLines(file, w);
  for (const hit of forbidden.slice(0, REPORTED_PER_FILE)) {
    const shown = w.nodiff ? `line ${hit.number}` : `line ${hit.number}: ${quoteMasked(hit.text)}`;
    out.push({ subject, attribute: "absent", expected: `no line matching ${hit.pattern}`, observed: shown, reason: `${f.path} ${shown} matches the forbidden pattern ${quoteOutput(hit.pattern)}` });
  }
  if (forbidden.length > REPORTED_PER_FILE) {
    const more = forbidden.length - REPORTED_PER_FILE;
    out.push({ subject, attribute: "absent", expected: "no forbidden line", observed: `${more} more`, reason: `${f.path} has ${more} more forbidden line${more > 1 ? "s" : ""} (lines ${forbidden.slice(REPORTED_PER_FILE).map((h) => h.number).join(", ")})` });
  }
  return out;
}

function quantifierOf(p: CheckedPromise): Quantifier {
  return attr<Quantifier>(p, "quantifier") ?? "every";
}

/** Whether a repair may edit these files: every file must hold, or the one file there is must. */
function repairable(q: Quantifier, o: ObservedLines): boolean {
  return q === "every" || (q === "at_least_one" && o.files.length === 1);
}

export const linesBehaviour: PromiseBehaviour<ObservedLines> = {
  observe(p, ctx): Observation<ObservedLines> {
    const pattern = p.promiser as string;
    const hostPattern = ctx.hostPath(pattern);
    const maxBytes = attr<number>(p, "max_size") ?? textLines.DEFAULT_MAX_BYTES;
    const out: ObservedLines = { pattern, files: [] };
    for (const hostPath of isGlob(pattern) ? expandGlob(hostPattern) : [hostPattern]) {
      const path = policyPathOf(hostPath, ctx);
      const r = textLines.read(hostPath, maxBytes);
      if (r.ok) out.files.push("notAFile" in r.value ? { path, hostPath, none: r.value.notAFile } : { path, hostPath, file: r.value });
      // a glob names the files that exist; only a plain path can name a missing one
      else if (r.error.code === "not-found") {
        if (!isGlob(pattern)) out.files.push({ path, hostPath, none: "missing" });
      } else return { ok: false, error: r.error.message.replace(hostPath, path) };
    }
    return { ok: true, value: out };
  },

  judge(p, o) {
    const w = wanted(p);
    const q = quantifierOf(p);
    const perFile = o.files.map((f) => ({ f, differences: judgeFile(f, w) }));
    const holding = perFile.filter((x) => x.differences.length === 0);
    if (q === "none") {
      return holding.map(({ f }) => ({ subject: f.path, attribute: "quantifier", expected: "none", observed: "holds", reason: `${f.path} holds the promised lines, and none of the files may (quantifier = none)` }));
    }
    if (o.files.length === 0) return [{ attribute: "quantifier", expected: q, observed: "no file", reason: `no file matches ${o.pattern}` }];
    if (q === "at_least_one" && holding.length > 0) return [];
    return perFile.flatMap((x) => x.differences);
  },

  repair(p, o) {
    const allowed = repairs(p);
    if (allowed.length === 0 || !repairable(quantifierOf(p), o)) return [];
    const w = wanted(p);
    const changes: Change[] = [];
    for (const f of o.files) {
      if (!f.file) continue;
      const remove = allowed.includes("remove") ? forbiddenLines(f.file, w).map((h) => h.number) : [];
      // a line a forbidden pattern matches is never appended: it would be removed on the next run
      const append = allowed.includes("append") ? missingLines(f.file, w).filter((l) => !w.absent.some((a) => matchesLine(a.re, l))) : [];
      if (remove.length === 0 && append.length === 0) continue;
      changes.push({ op: "edit-lines", path: f.hostPath, expect: f.file.identity, digest: f.file.sha256, remove, append });
    }
    return changes;
  },
};
