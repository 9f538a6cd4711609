// A year of a host's store, for bench/report: policies/sox-itgc (209 promises, real keys and
// text) run every 5 minutes for a year through the real StateStore, with what a year holds:
// one incident a run (a promise drifts or is repaired, the last one's ends: 2 changes of state a
// run, as bench/store), routing after each run (every event seen), an acknowledgement now and
// then, a dry run every day, a watcher's run every hour, a six-hour outage, the clock set back
// once, and the policy edited at mid-year (a second version). Made in a RAM disk, where a run's
// fsyncs cost nothing: generating is setup, not what the benchmark measures.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const MINUTE = 60_000;
export const YEAR_START = Date.parse("2026-01-01T00:00:00.000Z");

/** The policy's files as a run checks them, and its promises' keys (as the evaluator makes them). */
async function policyOf(lib, dir, edit) {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".promise"))
    .sort()
    .map((f) => ({ path: join(dir, f), text: readFileSync(join(dir, f), "utf8") }));
  if (edit) files[0] = { ...files[0], text: files[0].text.replace(/title\s*=\s*"([^"]*)"/, 'title = "$1 (reviewed mid-year)"') };
  const checked = lib.checkFiles(files.map((f) => lib.parseSource(f.path, f.text)), [], { today: "2026-01-01" });
  const errors = checked.diagnostics.filter((d) => d.severity === "error");
  if (!checked.policy || errors.length > 0) throw new Error(`policies/sox-itgc does not check: ${errors.map((d) => d.message).join("; ")}`);
  const keys = lib.promiseKeys(checked.policy).map((k) => ({ key: k.key, control: k.control.id, type: k.promise.type, promiser: String(k.key.slice(k.key.indexOf(":") + 1)) }));
  return { files, keys };
}

function incident(p, n) {
  const base = { key: p.key, control: p.control, type: p.type, promiser: p.promiser, notes: [], stakeholders: ["itgc_security"], file: "/etc/covenant/sox-itgc/x.promise", line: 1, durationMs: 0.4 };
  if (n % 3 === 0)
    return { ...base, outcome: "repaired", reason: `repaired: ${p.promiser} put back as promised`, differences: [{ subject: p.promiser, attribute: "mode", expected: "0600", observed: "0644", reason: `${p.promiser}: mode is 0644, promised 0600` }], changes: [{ change: { op: "chmod" }, description: `chmod 0600 ${p.promiser}`, status: "applied" }] };
  return { ...base, outcome: "drift", reason: `${p.promiser} differs from what is promised (incident ${n})`, differences: [{ subject: p.promiser, attribute: "value", expected: "as promised", observed: `changed in incident ${n}`, reason: `${p.promiser}: changed in incident ${n}` }], changes: [] };
}

const kept = (p) => ({ key: p.key, control: p.control, type: p.type, promiser: p.promiser, notes: [], stakeholders: [], file: "/etc/covenant/sox-itgc/x.promise", line: 1, durationMs: 0.4, outcome: "kept", reason: "as promised", differences: [], changes: [] });

/**
 * Makes (or reuses, when one of these parameters is already there) the year's store in `out`.
 * Returns what it holds, for the benchmark's checks.
 */
export async function yearStore(out, { runs = 105_120, log = () => {} } = {}) {
  const stamp = join(out, "made.json");
  if (existsSync(stamp)) {
    const made = JSON.parse(readFileSync(stamp, "utf8"));
    if (made.runs === runs) return made;
  }
  rmSync(out, { recursive: true, force: true });
  const lib = await import(resolve("dist/index.js"));
  const policyDir = resolve("policies/sox-itgc");
  const versions = [await policyOf(lib, policyDir, false), await policyOf(lib, policyDir, true)];
  const ram = join("/dev/shm", `covenant-year-${process.pid}`);
  rmSync(ram, { recursive: true, force: true });
  mkdirSync(ram, { mode: 0o700 });
  const store = lib.StateStore.open(ram);
  const t0 = performance.now();
  let clock = YEAR_START;
  let open; // the promise in incident, and its run
  const facts = { runs: 0, watchRuns: 0, dryRuns: 0, acks: 0, outage: undefined, clockStep: undefined, policyEdit: undefined };
  const outageAt = Math.floor(runs * 0.27);
  const stepAt = Math.floor(runs * 0.55);
  const editAt = Math.floor(runs / 2);
  for (let k = 0; k < runs; k++) {
    clock += 5 * MINUTE;
    if (k === outageAt) {
      clock += 6 * 60 * MINUTE;
      facts.outage = { afterRun: k, hours: 6 };
    }
    if (k === stepAt) {
      clock -= 12 * MINUTE; // the clock set back: this run's times are before the last one's
      facts.clockStep = { atRun: k, minutes: -12 };
    }
    const v = versions[k >= editAt ? 1 : 0];
    if (k === editAt) facts.policyEdit = { atRun: k };
    const started = new Date(clock);
    const run = store.beginRun();
    const results = v.keys.map(kept);
    if (open) results[open.index] = kept(v.keys[open.index]);
    const next = k > 0 ? (k * 37) % v.keys.length : undefined;
    if (next !== undefined) results[next] = incident(v.keys[next], k);
    results.forEach((r, i) => store.recordResult(run, new Date(clock + 20 + i).toISOString(), r));
    store.finishRun({ run, host: "ledger-db-01.example.com", started: started.toISOString(), finished: new Date(clock + 400).toISOString(), policy: lib.hashPolicy(v.files), dryRun: false, promises: results.length, counts: counts(results), outcomes: lib.outcomesDigest(results) }, v.files, results.map((r) => r.key));
    store.savePlan({ messages: [], groups: [], dropped: [], routedEvents: store.notificationWorkingSet().events });
    facts.runs++;
    open = next !== undefined && results[next].outcome === "drift" ? { index: next } : undefined;
    if (open && k % 101 === 0) {
      const d = store.listDeficiencies().find((x) => x.key === results[next].key);
      if (d) {
        store.acknowledge(d.id, { at: new Date(clock + 60_000).toISOString(), reason: "known: change ticket CHG-" + k, by: "alice", user: "root", loginUid: 1000 });
        facts.acks++;
      }
    }
    if (k % 12 === 6) {
      // the watcher re-evaluates one promise an event touched
      store.beat({ pid: 4242, startTicks: 777, started: new Date(YEAR_START).toISOString(), lastBeat: new Date(clock + 90_000).toISOString(), policy: lib.hashPolicy(v.files), intervalMs: 10_000 });
      const w = store.beginRun("watch");
      const one = [open ? results[next] : kept(v.keys[(k * 7) % v.keys.length])];
      store.finishRun({ run: w, kind: "watch", host: "ledger-db-01.example.com", started: new Date(clock + 100_000).toISOString(), finished: new Date(clock + 100_050).toISOString(), policy: lib.hashPolicy(v.files), dryRun: false, promises: 1, counts: counts(one), outcomes: lib.outcomesDigest(one) }, v.files, one.map((r) => r.key));
      facts.watchRuns++;
    }
    if (k % 288 === 144) {
      const d = store.beginRun();
      store.finishRun({ run: d, host: "ledger-db-01.example.com", started: new Date(clock + 120_000).toISOString(), finished: new Date(clock + 120_400).toISOString(), policy: lib.hashPolicy(v.files), dryRun: true, promises: results.length, counts: counts(results), outcomes: lib.outcomesDigest(results) }, v.files, results.map((r) => r.key));
      facts.dryRuns++;
    }
    if (k % 10_000 === 0) log(`  ${k} of ${runs} runs (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  store.close();
  const made = { runs, ...facts, promises: versions[0].keys.length, from: new Date(YEAR_START).toISOString(), to: new Date(clock).toISOString(), seconds: (performance.now() - t0) / 1000 };
  mkdirSync(out, { recursive: true, mode: 0o700 });
  cpSync(ram, out, { recursive: true });
  rmSync(ram, { recursive: true, force: true });
  writeFileSync(stamp, JSON.stringify(made, null, 2));
  return made;
}

function counts(results) {
  const c = {};
  for (const r of results) c[r.outcome] = (c[r.outcome] ?? 0) + 1;
  return c;
}
