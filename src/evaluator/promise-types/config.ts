// The behaviour of `config`: read each file the promiser names in its format (with what it
// includes), judge the promised key by the comparisons and the quantifier, and repair with a
// minimal edit of the file itself. Schema: src/promise-types/config.ts.
import type { CheckedPromise } from "../../checker/policy.js";
import { defaultFormatOptions, keyOf, winsOf, type ConfigFormatName, type FormatOptions, type Wins } from "../../config-formats/index.js";
import { expandConfigGlob, readConfig, type ConfigRead } from "../../probes/config-files.js";
import type { Change } from "../change-gate.js";
import { comparisonsOf, judgeFile, judgeFiles, showValue, withhold, type Quantifier } from "../config-judge.js";
import { planRemove, planSet, type RepairTarget } from "../config-repair.js";
import { attr, repairs, type Observation, type PromiseBehaviour } from "../contract.js";
import { skipNotes } from "../observation-notes.js";

interface ObservedConfig {
  /** the promiser holds a glob */
  glob: boolean;
  key: string;
  wins: Wins;
  /** one per file the promiser names, in path order */
  reads: ConfigRead[];
}

function formatOf(p: CheckedPromise): { format: ConfigFormatName; options: FormatOptions } {
  const format = attr<ConfigFormatName>(p, "format")!;
  const options: FormatOptions = {
    separator: attr<string>(p, "separator") ?? defaultFormatOptions.separator,
    comments: [attr<string>(p, "comment") ?? defaultFormatOptions.comments[0]!],
    wins: attr<Wins>(p, "wins") ?? defaultFormatOptions.wins,
  };
  return { format, options };
}

const quantifierOf = (p: CheckedPromise): Quantifier => attr<Quantifier>(p, "files") ?? "every";

const showOf = (p: CheckedPromise) => (attr<boolean>(p, "secret") ? withhold : showValue);

function verdicts(p: CheckedPromise, o: ObservedConfig) {
  const c = comparisonsOf(p);
  return { c, list: o.reads.map((r) => judgeFile(r, o.key, o.wins, c, showOf(p), attr<string>(p, "key"))) };
}

export const configBehaviour: PromiseBehaviour<ObservedConfig> = {
  observe(p, ctx): Observation<ObservedConfig> {
    const pattern = p.promiser as string;
    const { format, options } = formatOf(p);
    const glob = /[*?[]/.test(pattern);
    const paths = expandConfigGlob(pattern, (q) => ctx.hostPath(q));
    const reads: ConfigRead[] = [];
    for (const path of paths) {
      const r = readConfig(path, format, options, (q) => ctx.hostPath(q));
      if ("error" in r) return { ok: false, error: r.error };
      reads.push(r);
    }
    const key = keyOf(format, attr<string>(p, "key")!, attr<string>(p, "section"));
    const value: ObservedConfig = { glob, key, wins: winsOf(format, options), reads };
    // a line the program itself would refuse is worth knowing about, wherever it is
    const notes = skipNotes(reads.flatMap((r) => r.skipped));
    return notes.length > 0 ? { ok: true, value, notes } : { ok: true, value };
  },

  judge(p, o) {
    const { c, list } = verdicts(p, o);
    return judgeFiles(list, quantifierOf(p), o.glob, c, attr<string>(p, "key")!, showOf(p));
  },

  repair(p, o) {
    const allowed = repairs(p);
    // which file of a glob to change for `any`, or which to spoil for `none`, is not the policy's to say
    if (allowed.length === 0 || quantifierOf(p) !== "every") return [];
    const { c, list } = verdicts(p, o);
    const { format, options } = formatOf(p);
    const target: RepairTarget = { format, options, written: attr<string>(p, "key")!, key: o.key, comparisons: c, section: attr<string>(p, "section") ?? "", show: showOf(p) };
    const changes: Change[] = [];
    for (const v of list) {
      if (v.failures.length === 0) continue;
      if (allowed.includes("remove") && c.absent === true) changes.push(...planRemove(v, target));
      if (allowed.includes("set")) changes.push(...planSet(v, target));
    }
    return changes;
  },
};
