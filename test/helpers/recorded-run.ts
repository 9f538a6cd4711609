// A policy of integrity promises written inline in a temporary directory with its own store, and
// one recorded run of it as `covenant run` makes it (evaluateRecorded): the kit of the integrity
// tests (integrity-check, integrity-drift).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { checkPaths } from "../../src/checker/check.ts";
import { evaluateRecorded } from "../../src/run/record.ts";
import type { PromiseResult } from "../../src/evaluator/engine.ts";
import { StateStore } from "../../src/store/store.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A directory with a store and a policy of one control holding `promises(dir)`. */
export function scene(promises: (dir: string) => string, prefix = "covenant-integrity-"): { dir: string; state: string; policy: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  mkdirSync(join(dir, "state"), { mode: 0o700 });
  const policy = join(dir, "p.promise");
  writeFileSync(policy, `control "SOX-1" {\n  title = "ledger"\n${promises(dir)}\n}\n`, { mode: 0o600 });
  return { dir, state: join(dir, "state"), policy };
}

/** One recorded run, as `covenant run` makes it: the results by promiser. */
export async function run(s: { state: string; policy: string }): Promise<Map<string, PromiseResult>> {
  const checked = checkPaths([s.policy]);
  if (!checked.policy) throw new Error(checked.diagnostics.map((d) => d.message).join("\n"));
  const store = StateStore.open(s.state);
  try {
    const started = new Date();
    const r = await evaluateRecorded(store, { policy: checked.policy, files: [{ path: s.policy, text: readFileSync(s.policy, "utf8") }], roots: { proc: "/proc", etc: "/etc" }, dryRun: false, etcRoot: "/etc", started, deadline: Date.now() + 60_000, kind: "run" }, []);
    store.finishRun({ run: r.run, host: r.host, started: started.toISOString(), finished: new Date().toISOString(), policy: "x", dryRun: false, promises: r.evaluation.results.length, counts: {}, outcomes: "x" });
    return new Map(r.evaluation.results.map((x) => [x.promiser, x]));
  } finally {
    store.close();
  }
}
