// bench/prune: what retention costs and gives back. A store of policies/sox-itgc (209 promises)
// run every 5 minutes (bench/report's year-store.mjs: incidents, acknowledgements, dry runs, the
// watcher's runs; BENCH_PRUNE_RUNS runs, 60 days by default) is made once and kept in
// bench/.work/prune; a copy of it, in a RAM disk, is pruned through the real StateStore before
// the day that splits it in two (the pack's signature is the CLI's to check: here the evidence
// descriptor says the pack holds every record, as `covenant prune` requires), then verified.
// Printed: the time of the prune (verify first, the plan, the transaction, VACUUM) and of
// `verify` after it, the records removed and kept, and the file before and after.
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { table } from "../lib.mjs";
import { YEAR_START, yearStore } from "../report/year-store.mjs";

const RUNS = Number(process.env.BENCH_PRUNE_RUNS ?? 17_280);
const work = resolve("bench/.work/prune");
const state = join(work, `runs-${RUNS}`);
mkdirSync(work, { recursive: true });
console.log(`\nbench/prune: making (or reusing) a store of ${RUNS.toLocaleString("en-US")} runs of policies/sox-itgc every 5 minutes in ${state}`);
const made = await yearStore(state, { runs: RUNS, log: (l) => console.log(l) });
console.log(`  ${made.runs} runs + ${made.watchRuns} watcher runs + ${made.dryRuns} dry runs, ${made.acks} acknowledgements, from ${made.from} to ${made.to}`);

const lib = await import(resolve("dist/index.js"));
const copy = join("/dev/shm", `covenant-prune-${process.pid}`);
rmSync(copy, { recursive: true, force: true });
cpSync(state, copy, { recursive: true });
try {
  // the day that splits the store's time in two
  const half = new Date(YEAR_START + (Date.parse(made.to) - YEAR_START) / 2);
  const before = new Date(Date.UTC(half.getUTCFullYear(), half.getUTCMonth(), half.getUTCDate()));
  const store = lib.StateStore.open(copy);
  const tv = performance.now();
  const records = store.verify().records;
  const verifyBeforeMs = performance.now() - tv;
  const evidence = { manifestSha256: "0".repeat(64), fingerprint: "sha256:bench", firstRecord: 1, lastRecord: records, from: made.from.slice(0, 10), to: before.toISOString().slice(0, 10) };
  const t0 = performance.now();
  const out = store.prune({ before, evidence });
  const pruneMs = performance.now() - t0;
  const t1 = performance.now();
  const report = store.verify();
  const verifyMs = performance.now() - t1;
  store.close();
  if (report.tampering) throw new Error(`verify after the prune: ${report.tampering.message}`);
  const explained = lib.StateStore.openReadOnly(copy);
  const last = report.runs.at(-1);
  const proof = explained.explainRuns([report.runs[0], last]);
  explained.close();
  const proven = [...proof.values()].filter((e) => e.proof.proven || e.dryRun).length;
  const mib = (n) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  console.log(
    table([
      ["what", "value"],
      ["pruned before", before.toISOString()],
      ["records before", records.toLocaleString("en-US")],
      ["records removed", `${out.removedCount.toLocaleString("en-US")} (${out.runs.toLocaleString("en-US")} runs, through run ${out.cut.run})`],
      ["records kept below the cut", out.kept.toLocaleString("en-US")],
      ["settled messages removed", String(out.messages)],
      ["resolved deficiencies retired with their records", String(out.deficiencies)],
      ["state.db before → after", `${mib(out.bytesBefore)} → ${mib(out.bytesAfter ?? 0)}${out.notVacuumed ? ` (not compacted: ${out.notVacuumed})` : ""}`],
      ["verify before", `${(verifyBeforeMs / 1000).toFixed(1)} s`],
      ["prune (verify, plan, transaction, VACUUM)", `${(pruneMs / 1000).toFixed(1)} s`],
      ["verify after", `${(verifyMs / 1000).toFixed(1)} s: intact, ${report.records.toLocaleString("en-US")} records, ${report.runs.length.toLocaleString("en-US")} runs, checkpoint at record ${report.checkpoint?.seq}`],
      ["first and last remaining run explained", `${proven} of 2 proven (or a dry run)`],
    ]),
  );
} finally {
  rmSync(copy, { recursive: true, force: true });
}
