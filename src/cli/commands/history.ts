// `covenant history` and `covenant verify`: read the host's record of changes of state and
// prove that it was not altered.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { defaultStateDir } from "../../store/state-dir.js";
import { damageMessage, isDamage, StateStore, StoreDamagedError, StoreError, type BaselineBody, type ChangeBody, type HistoryEntry, type RunBody, type VerifyReport } from "../../store/store.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";

export interface StoreOptions {
  state?: string;
  json: boolean;
}

/** The store, or why there is none (already said on stderr, except damage: `verify` reports it). */
function openStore(opts: StoreOptions, io: Io, command: string): StateStore | "unavailable" | StoreDamagedError {
  const dir = opts.state ?? defaultStateDir();
  if (!existsSync(join(dir, "state.db"))) {
    io.err(`covenant ${command}: no store in ${dir} (nothing has run there yet; choose another with --state)`);
    return "unavailable";
  }
  try {
    return StateStore.open(dir);
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    if (err instanceof StoreDamagedError && command === "verify") return err;
    io.err(`covenant ${command}: ${err.message}`);
    return "unavailable";
  }
}

export function runHistory(opts: StoreOptions & { control?: string; since?: string; changes: boolean }, io: Io): number {
  if (opts.since !== undefined && !/^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$/.test(opts.since)) {
    io.err(`covenant history: --since wants a date such as 2026-11-01, got \`${opts.since}\``);
    return EXIT.policyError;
  }
  const store = openStore(opts, io, "history");
  if (!(store instanceof StateStore)) return EXIT.policyError;
  try {
    const filter: Parameters<StateStore["history"]>[0] = {};
    if (opts.control !== undefined) filter.control = opts.control;
    if (opts.since !== undefined) filter.since = opts.since;
    if (opts.changes) filter.kinds = ["change"];
    let entries: HistoryEntry[];
    try {
      entries = store.history(filter);
    } catch (err) {
      // damage past the pages read when opening: a configuration problem, not a bug
      if (!isDamage(err)) throw err;
      io.err(`covenant history: ${damageMessage(store.dir, err)}`);
      return EXIT.policyError;
    }
    if (opts.json) {
      io.out(JSON.stringify(entries, null, 2));
      return EXIT.ok;
    }
    if (entries.length === 0) {
      io.out("no records" + (opts.control ? ` for ${opts.control}` : "") + (opts.since ? ` since ${opts.since}` : ""));
      return EXIT.ok;
    }
    for (const e of entries) io.out(renderEntry(e, io));
    return EXIT.ok;
  } finally {
    store.close();
  }
}

function renderEntry(e: HistoryEntry, io: Io): string {
  const s = io.style;
  const when = e.time.replace("T", " ").replace(/\.\d+Z$/, "Z");
  if ("unreadable" in e.body) return s.red(`${when}  #${e.seq}  ${e.kind} record that is not valid JSON (run \`covenant verify\`)`);
  if (e.kind === "baseline") {
    const b = e.body as BaselineBody;
    return `${when}  #${e.seq}  baseline approved: ${b.path} ${b.algorithm} ${b.digest.slice(0, 12)}…`;
  }
  if (e.kind === "run") {
    const b = e.body as RunBody;
    const counts = Object.entries(b.counts)
      .map(([o, n]) => `${n} ${o}`)
      .join(", ");
    return s.dim(`${when}  #${e.seq}  run ${b.run}${b.dryRun ? " (dry run)" : ""}: ${b.promises} promise${b.promises === 1 ? "" : "s"} tested (${counts}); ${b.changed} change${b.changed === 1 ? "" : "s"} of state; outcomes ${b.outcomes.slice(0, 12)}…`);
  }
  const b = e.body as ChangeBody;
  const lines = [`${when}  #${e.seq}  ${s.bold(b.control)} ${b.type} ${b.promiser}: ${b.from ?? "(first observation)"} → ${b.to}: ${b.reason}`];
  for (const d of b.differences.length > 1 ? b.differences : []) lines.push(`      - ${d}`);
  for (const c of b.changes) lines.push(`      ${c}`);
  for (const n of b.notes ?? []) lines.push(s.dim(`      note: ${n}`));
  return lines.join("\n");
}

export function runVerify(opts: StoreOptions, io: Io): number {
  const store = openStore(opts, io, "verify");
  if (store instanceof StoreDamagedError) return damagedStore(store.message, opts, io);
  if (!(store instanceof StateStore)) return EXIT.policyError;
  try {
    let r: VerifyReport;
    try {
      r = store.verify();
    } catch (err) {
      if (!isDamage(err)) throw err;
      return damagedStore(damageMessage(store.dir, err), opts, io);
    }
    if (opts.json) io.out(JSON.stringify(r, null, 2));
    else {
      if (r.tampering) io.out(io.style.red(`TAMPERED: ${r.tampering.message} (${r.tampering.kind})`));
      else io.out(io.style.green(`intact: ${r.records} records, ${r.runs.length} runs${r.firstRun ? ` from ${r.firstRun} to ${r.lastRun}` : ""}, every record chained to the one before`));
      if (r.headMissing) io.out(io.style.yellow("note: the head anchor ledger.head is missing: records deleted from the end could not be detected"));
      if (r.interrupted.length > 0) io.out(`note: run${r.interrupted.length > 1 ? "s" : ""} ${r.interrupted.join(", ")} stopped before writing a summary (killed or timed out); their changes are recorded`);
      if (r.silent.length > 0) io.out(`note: run${r.silent.length > 1 ? "s" : ""} ${r.silent.join(", ")} started but recorded nothing (stopped at once)`);
    }
    return r.tampering ? EXIT.deficiencies : EXIT.ok;
  } finally {
    store.close();
  }
}

/** A database that cannot be read cannot be vouched for: to `verify`, that is tampering. */
function damagedStore(message: string, opts: StoreOptions, io: Io): number {
  if (opts.json) io.out(JSON.stringify({ tampering: { kind: "damaged", message } }, null, 2));
  else io.out(io.style.red(`TAMPERED: ${message} (damaged)`));
  return EXIT.deficiencies;
}
