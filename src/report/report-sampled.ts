// The auditor's sample as evidence: each evaluation picked (report-sample.ts) explained from the
// history (store.explainRuns: every promise's outcome and what was observed, proven against the
// run's summary digest), restricted to the control's promises.
import { worst, type Outcome } from "../evaluator/outcomes.js";
import type { StateStore } from "../store/store.js";
import type { AuditorSample, SampledEvaluation } from "./report-model.js";
import type { ControlTally } from "./report-tally.js";

export function sampleOf(store: Pick<StateStore, "explainRuns">, sample: { size: number; seed: string }, controls: readonly { id: string; tally: ControlTally; keys: Set<string> }[]): AuditorSample {
  const runs = new Set<number>();
  for (const c of controls) for (const p of c.tally.reservoir?.picks ?? []) runs.add(p.run);
  const explained = store.explainRuns([...runs]);
  return {
    seed: sample.seed,
    size: sample.size,
    controls: controls.map((c) => {
      const picks = [...(c.tally.reservoir?.picks ?? [])].sort((a, b) => a.run - b.run);
      return {
        control: c.id,
        population: c.tally.reservoir?.population ?? 0,
        picks: picks.flatMap((p) => {
          const e = explained.get(p.run);
          if (!e) return [];
          const promises = e.promises.filter((x) => x.control === c.id || c.keys.has(x.key));
          const s: SampledEvaluation = {
            run: e.run,
            kind: e.kind,
            started: e.started,
            finished: e.finished,
            policy: e.policy,
            summaryRecord: e.summaryRecord,
            ...(e.roster !== undefined ? { roster: e.roster } : {}),
            verdict: worst(promises.map((x) => x.outcome as Outcome)),
            proven: e.proof.proven,
            ...(e.proof.proven ? {} : { why: e.proof.why }),
            promises: promises.map((x) => ({ key: x.key, outcome: x.outcome, record: x.record, since: x.since, reason: x.reason, differences: x.differences })),
          };
          return [s];
        }),
      };
    }),
  };
}
