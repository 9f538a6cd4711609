// How a `config` promise judges one file's settings (the comparisons), and how it judges a glob
// of files (the quantifiers). Pure: given what was read, the same verdicts every time.
import { RE2JS } from "re2js";
import type { CheckedPromise } from "../checker/policy.js";
import type { Wins } from "../config-formats/index.js";
import type { ConfigRead, FileSetting } from "../probes/config-files.js";
import { attr, unionAttr, type Difference } from "./contract.js";

export interface Comparisons {
  equals?: string;
  oneOf?: string[];
  atMost?: number;
  atLeast?: number;
  matches?: { source: string; test(value: string): boolean };
  umaskAtLeast?: number;
  absent?: boolean;
  default?: string;
}

export function comparisonsOf(p: CheckedPromise): Comparisons {
  const c: Comparisons = {};
  const equals = unionAttr(p, "equals");
  if (equals) c.equals = String(equals.value);
  const oneOf = attr<string[]>(p, "one_of");
  if (oneOf) c.oneOf = oneOf;
  const atMost = attr<number>(p, "at_most");
  if (atMost !== undefined) c.atMost = atMost;
  const atLeast = attr<number>(p, "at_least");
  if (atLeast !== undefined) c.atLeast = atLeast;
  const matches = attr<string>(p, "matches");
  if (matches !== undefined) {
    // RE2's engine: linear in the value whatever the pattern, since the file's text may be an attacker's
    const re = RE2JS.compile(matches);
    c.matches = { source: matches, test: (v) => re.matcher(v).find() };
  }
  const umask = attr<number>(p, "umask_at_least");
  if (umask !== undefined) c.umaskAtLeast = umask;
  const absent = attr<boolean>(p, "absent");
  if (absent !== undefined) c.absent = absent;
  const dflt = attr<string>(p, "default");
  if (dflt !== undefined) c.default = dflt;
  return c;
}

const octal = (n: number) => n.toString(8).padStart(3, "0");

export function parseInteger(v: string): number | undefined {
  return /^[+-]?\d{1,15}$/.test(v.trim()) ? Number(v.trim()) : undefined;
}

export function parseUmask(v: string): number | undefined {
  return /^[0-7]{1,4}$/.test(v.trim()) ? parseInt(v.trim(), 8) : undefined;
}

/** The first comparison `value` fails (undefined: not set), with what it expected; undefined when all hold. */
export function valueFailure(c: Comparisons, value: string | undefined, show: (v: string) => string = (v) => JSON.stringify(v)): { attribute: string; expected: string } | undefined {
  const checks: [string, string, (v: string) => boolean][] = [];
  if (c.equals !== undefined) checks.push(["equals", show(c.equals), (v) => v === c.equals]);
  if (c.oneOf) checks.push(["one_of", `one of ${c.oneOf.map((o) => show(o)).join(", ")}`, (v) => c.oneOf!.includes(v)]);
  if (c.atMost !== undefined) checks.push(["at_most", `at most ${c.atMost}`, (v) => (parseInteger(v) ?? Infinity) <= c.atMost!]);
  if (c.atLeast !== undefined) checks.push(["at_least", `at least ${c.atLeast}`, (v) => (parseInteger(v) ?? -Infinity) >= c.atLeast!]);
  if (c.matches) checks.push(["matches", `matching /${c.matches.source}/`, (v) => c.matches!.test(v)]);
  if (c.umaskAtLeast !== undefined) {
    const m = c.umaskAtLeast;
    checks.push(["umask_at_least", `a umask at least as strict as ${octal(m)}`, (v) => ((parseUmask(v) ?? 0) & m) === m && parseUmask(v) !== undefined]);
  }
  for (const [attribute, expected, holds] of checks) if (value === undefined || !holds(value)) return { attribute, expected };
  return undefined;
}

export const hasValueComparison = (c: Comparisons) =>
  c.equals !== undefined || c.oneOf !== undefined || c.atMost !== undefined || c.atLeast !== undefined || c.matches !== undefined || c.umaskAtLeast !== undefined;

/** One way one file is not as promised. */
export interface FileFailure {
  attribute: string;
  expected: string;
  observed: string;
  reason: string;
  /** the setting at fault; absent when the key is not set */
  setting?: FileSetting;
}

export interface FileVerdict {
  read: ConfigRead;
  /** the setting that applies outside any block (first or last, as the format reads) */
  winner?: FileSetting;
  /** pam, where every line applies and none wins: the first line that holds, for `files = none` to name */
  holding?: FileSetting;
  failures: FileFailure[];
}

const where = (s: FileSetting) => `${s.path}:${s.line}`;
const inBlock = (s: FileSetting) => (s.block !== undefined ? ` (in \`${s.block}\`)` : "");

/** How an observed value is shown: quoted, or withheld for a `secret` setting. */
export type Show = (value: string) => string;
export const showValue: Show = (v) => JSON.stringify(v);
export const withhold: Show = () => "(withheld: secret)";

/** `key` as the format compares it; `label`, as the policy writes it, for messages */
export function judgeFile(read: ConfigRead, key: string, wins: Wins, c: Comparisons, show: Show = showValue, label = key): FileVerdict {
  const matching = read.settings.filter((s) => s.key === key);
  const global = matching.filter((s) => s.block === undefined);
  const winner = wins === "first" ? global[0] : wins === "last" ? global[global.length - 1] : undefined;
  const v: FileVerdict = { read, failures: [] };
  if (winner) v.winner = winner;
  const missing = read.exists ? "" : ` (${read.path} does not exist)`;
  if (c.absent === true) {
    for (const s of matching) v.failures.push({ attribute: "absent", expected: "not set", observed: show(s.value), setting: s, reason: `${where(s)} sets ${s.written}${inBlock(s)}, promised absent` });
  } else if (c.absent === false && matching.length === 0) {
    v.failures.push({ attribute: "absent", expected: "set", observed: "not set", reason: `no line of ${read.path} sets ${label}${missing}` });
  }
  if (!hasValueComparison(c)) return v;
  if (wins === "all" && global.length > 0) {
    // every line of a pam stack applies: each must hold
    for (const s of global) {
      const af = valueFailure(c, s.value, show);
      if (af) v.failures.push({ ...af, observed: show(s.value), setting: s, reason: `${where(s)}: ${s.written} is ${show(s.value)}, promised ${af.expected}` });
      else v.holding ??= s;
    }
    return v;
  }
  const value = winner?.value ?? c.default;
  const f = valueFailure(c, value, show);
  if (f) {
    const observed = value === undefined ? "not set" : show(value);
    const reason = winner
      ? `${where(winner)}: ${winner.written} is ${observed}, promised ${f.expected}`
        : `${label} is set by no line of ${read.path}${missing}${value !== undefined ? ` (its default is ${observed})` : ""}, promised ${f.expected}`;
    v.failures.push({ ...f, observed, reason, ...(winner ? { setting: winner } : {}) });
  }
  // a Match block applies to some connections: its setting must hold too
  for (const s of matching.filter((m) => m.block !== undefined)) {
    const bf = valueFailure(c, s.value, show);
    if (bf) v.failures.push({ ...bf, observed: show(s.value), setting: s, reason: `${where(s)}${inBlock(s)}: ${s.written} is ${show(s.value)}, promised ${bf.expected}` });
  }
  return v;
}

export type Quantifier = "every" | "any" | "none";

/** The differences of the files a promiser names, as the quantifier counts them. */
export function judgeFiles(verdicts: FileVerdict[], quantifier: Quantifier, glob: boolean, c: Comparisons, key: string, show: Show = showValue): Difference[] {
  const toDiff = (f: FileFailure, path: string): Difference => ({ subject: f.setting ? `${f.setting.path}:${f.setting.line}` : path, attribute: f.attribute, expected: f.expected, observed: f.observed, reason: f.reason });
  if (quantifier === "every") {
    if (glob && verdicts.length === 0 && c.absent !== true) return [{ attribute: "files", expected: "at least one file", observed: "none", reason: `no file matches the glob, so none sets ${key}` }];
    return verdicts.flatMap((v) => v.failures.map((f) => toDiff(f, v.read.path)));
  }
  if (quantifier === "any") {
    if (verdicts.some((v) => v.failures.length === 0)) return [];
    const why = verdicts.map((v) => v.failures[0]!.reason);
    return [{ attribute: "files", expected: "at least one file holds", observed: `none of ${verdicts.length}`, reason: verdicts.length === 0 ? "no file matches the glob" : `no file holds: ${why.join("; ")}` }];
  }
  return verdicts
    .filter((v) => v.failures.length === 0)
    .map((v) => ({
      subject: v.read.path,
      attribute: "files",
      expected: "no file holds",
      observed: "holds",
      reason: `${noneReason(v, key, show)}, which no file may have`,
    }));
}

/** What a file holds that `files = none` forbids: the setting that applies, or the line that holds, or that the key is not set. */
function noneReason(v: FileVerdict, key: string, show: Show): string {
  const s = v.winner ?? v.holding;
  return s ? `${where(s)}: ${s.written} is ${show(s.value)}` : `${v.read.path}: ${key} is not set`;
}

