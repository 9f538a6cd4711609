// A recorded run (evaluateRecorded, as `covenant run` makes it) with the rows it reads prefetched,
// against the same run with every row read by its statement: the same results, notes and history,
// with plain files, a glob's files (not prefetched) and forged rows of each kind.
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkPaths } from "../../src/checker/check.ts";
import { evaluateRecorded, runWants } from "../../src/run/record.ts";
import { RunReads } from "../../src/store/run-reads.ts";
import { StateStore } from "../../src/store/store.ts";
import { raw } from "./helpers.ts";
import { scene } from "../helpers/recorded-run.ts";

afterEach(() => vi.restoreAllMocks());

/** One recorded run: its results (without timings) and the records it wrote; whether rows of each table were given from the prefetch is checked. */
async function recordedRun(state: string, policy: string, expectPrefetch: boolean) {
  const checked = checkPaths([policy]);
  if (!checked.policy) throw new Error(checked.diagnostics.map((d) => d.message).join("\n"));
  const store = StateStore.open(state);
  const takes = [vi.spyOn(RunReads.prototype, "takeCurrent"), vi.spyOn(RunReads.prototype, "takeBaseline"), vi.spyOn(RunReads.prototype, "takeApproved")];
  try {
    const started = new Date();
    const r = await evaluateRecorded(
      store,
      {
        policy: checked.policy,
        files: [{ path: policy, text: readFileSync(policy, "utf8") }],
        roots: { proc: "/proc", etc: "/etc" },
        dryRun: false,
        etcRoot: "/etc",
        started,
        deadline: Date.now() + 60_000,
        kind: "run",
      },
      [],
    );
    store.finishRun({ run: r.run, host: r.host, started: started.toISOString(), finished: new Date().toISOString(), policy: "x", dryRun: false, promises: r.evaluation.results.length, counts: {}, outcomes: "x" });
    // how many rows of each table were given from what was read ahead
    const given = takes.map((t) => t.mock.results.filter((x) => x.value !== undefined).length);
    for (const t of takes) t.mockRestore();
    if (expectPrefetch) expect(given.every((n) => n > 0), String(given)).toBe(true);
    else expect(given).toEqual([0, 0, 0]);
    const results = r.evaluation.results.map(({ durationMs: _d, ...x }) => x);
    const records = store.history().filter((e) => e.run === r.run && e.kind !== "run").map((e) => ({ kind: e.kind, body: { ...(e.body as object), at: undefined } }));
    return { results: JSON.parse(JSON.stringify(results)) as unknown, records: JSON.parse(JSON.stringify(records)) as unknown };
  } finally {
    store.close();
  }
}

describe("a run's prefetched rows", () => {
  it("give the results and records the statements give: plain files, a glob's files, forged rows", async () => {
    const s = scene((d) => [`  file "${d}/a.conf" { integrity = sha256 }`, `  file "${d}/b.conf" { mode = 0600 }`, `  file "${d}/c.dat" { integrity = sha256 }`, `  file "${d}/g/*.dat" { integrity = sha256 }`].join("\n"), "covenant-run-reads-");
    writeFileSync(join(s.dir, "a.conf"), "listen = 80\n", { mode: 0o600 });
    writeFileSync(join(s.dir, "b.conf"), "x\n", { mode: 0o600 });
    writeFileSync(join(s.dir, "c.dat"), "one\n", { mode: 0o600 });
    cpSync(join(s.dir, "c.dat"), join(s.dir, "g", "1.dat"), { recursive: true });
    writeFileSync(join(s.dir, "g", "2.dat"), "two\n", { mode: 0o600 });
    await recordedRun(s.state, s.policy, true);
    // the same store twice over: one read by statements, one prefetched
    const other = join(s.dir, "state-statements");
    cpSync(s.state, other, { recursive: true });
    for (const dir of [s.state, other]) {
      const db = raw(dir);
      db.prepare("UPDATE current SET state = 'forged' WHERE key LIKE '%b.conf'").run();
      db.prepare("UPDATE baselines SET digest = ? WHERE path LIKE '%c.dat'").run("f".repeat(64));
      db.prepare("UPDATE approved_states SET approved_at = '2000-01-01T00:00:00.000Z' WHERE path LIKE '%a.conf' OR path LIKE '%g/2.dat'").run();
      db.close();
    }
    writeFileSync(join(s.dir, "g", "1.dat"), "changed\n");
    const prefetched = await recordedRun(s.state, s.policy, true);
    vi.spyOn(StateStore.prototype, "prefetch").mockReturnValue(false);
    const byStatement = await recordedRun(other, s.policy, false);
    expect(prefetched).toEqual(byStatement);
    const text = JSON.stringify(prefetched);
    expect(text).toContain("the stored current state of this promise was changed outside Covenant (its seal did not match): recorded afresh");
    expect(text).toMatch(/the stored baseline of [^"]*c\.dat was changed outside Covenant/);
    expect(text).toMatch(/the approved integrity state of [^"]*a\.conf was changed outside Covenant/);
    expect(text).toMatch(/the approved integrity state of [^"]*2\.dat was changed outside Covenant/);
  });

  it("are the policy's keys and plain paths, below a sandbox's files when it has them; the watcher's only its own", () => {
    const s = scene((d) => [`  file "${d}/a.conf" { mode = 0600 }`, `  file "${d}/g/*.dat" { mode = 0600 }`, `  process "sshd" { min = 1 }`].join("\n"), "covenant-run-wants-");
    const policy = checkPaths([s.policy]).policy!;
    const all = runWants(policy, undefined, undefined);
    expect([...all.keys]).toEqual([`SOX-1/file:${s.dir}/a.conf`, `SOX-1/file:${s.dir}/g/*.dat`, "SOX-1/process:sshd"]);
    expect([...all.paths]).toEqual([`${s.dir}/a.conf`]);
    expect([...runWants(policy, undefined, "/sandbox/files").paths]).toEqual([`/sandbox/files${s.dir}/a.conf`]);
    const only = runWants(policy, new Set(["SOX-1/process:sshd"]), undefined);
    expect([[...only.keys], [...only.paths]]).toEqual([["SOX-1/process:sshd"], []]);
  });
});
