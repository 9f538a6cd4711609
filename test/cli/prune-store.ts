// The store the prune and evidence-after-prune tests start from: one run a day from 2026-11-20 to
// the 25th over two promises, B drifting from the 23rd on (an open deficiency across any cut).
import { outcomesDigest, StateStore, type RunBody } from "../../src/store/store.ts";
import type { PromiseResult } from "../../src/evaluator/engine.ts";
import { raw, result, runBody, tempDir } from "../store/helpers.ts";
import { finding } from "../store/notify-helpers.ts";

export const A = "C-1/file:/srv/a";
export const B = "C-1/file:/srv/b";

export function dailyStore(prefix: string): { dir: string; total: number } {
  const dir = tempDir(prefix);
  const s = StateStore.open(dir);
  for (let day = 20; day <= 25; day++) {
    const results: PromiseResult[] = [result(A, "kept"), day >= 23 ? result(B, "drift", ["mode is 0644, promised 0640"]) : result(B, "kept")];
    const run = s.beginRun();
    for (const r of results) s.recordResult(run, `2026-11-${day}T10:00:00.500Z`, r, finding(r.control));
    const body: RunBody = { ...runBody(run, 2), started: `2026-11-${day}T10:00:00.000Z`, finished: `2026-11-${day}T10:00:01.000Z`, outcomes: outcomesDigest(results) };
    s.finishRun(body, undefined, results.map((r) => r.key));
  }
  s.close();
  return { dir, total: raw(dir).prepare("SELECT max(seq) FROM ledger").pluck().get() as number };
}
