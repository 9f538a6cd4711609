// `covenant history` and `covenant verify`: read the host's record of changes of state and
// prove that it was not altered. Both open the store read-only and change nothing in it, so they
// work beside a running run and on a read-only copy (what an auditor receives).
import { defaultStateDir } from "../../store/state-dir.js";
import { HistoryBrokenError, runKindOf, StateStore, StoreDamagedError, StoreError, type AckBody, type ApprovalBody, type RecordedFinding, type BaselineBody, type DeliveryBody, type ChangeBody, type HistoryEntry, type Checkpoint, type KnownHead, type PolicyBody, type PruneBody, type RosterBody, type RotationBody, type HostRotationBody, type RunBody, type VerifyReport } from "../../store/store.js";
import type { DecisionRefusalBody, WaiverBody } from "../../store/hub-decisions.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { findingLines, type FindingView } from "../../text/finding-text.js";

export interface StoreOptions {
  state?: string;
  json: boolean;
}

/** The store, or why there is none: said on stderr, except what `verify` reports as tampering. */
function openStore(opts: StoreOptions, io: Io, command: string): StateStore | "unavailable" | StoreDamagedError | HistoryBrokenError {
  const dir = opts.state ?? defaultStateDir();
  try {
    return StateStore.openReadOnly(dir);
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    if ((err instanceof StoreDamagedError || err instanceof HistoryBrokenError) && command === "verify") return err;
    io.err(`covenant ${command}: ${escapeText(err.message)}`);
    return "unavailable";
  }
}

/** `--since`: a real calendar date, optionally with a time of day (UTC), as the records' times are written. */
export function validSince(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?)?Z?)?$/.exec(text);
  if (!m) return false;
  const [y, mo, d, h = "0", mi = "0", s = "0"] = m.slice(1).map((v) => v ?? "0");
  const t = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  return t.getUTCFullYear() === Number(y) && t.getUTCMonth() === Number(mo) - 1 && t.getUTCDate() === Number(d) && t.getUTCHours() === Number(h) && t.getUTCMinutes() === Number(mi) && t.getUTCSeconds() === Number(s);
}

export function runHistory(opts: StoreOptions & { control?: string; since?: string; changes: boolean }, io: Io): number {
  if (opts.since !== undefined && !validSince(opts.since)) {
    io.err(`covenant history: --since wants a date such as 2026-11-01, got \`${escapeText(opts.since)}\``);
    return EXIT.policyError;
  }
  const store = openStore(opts, io, "history");
  if (!(store instanceof StateStore)) return EXIT.policyError;
  try {
    const filter: Parameters<StateStore["history"]>[0] = {};
    if (opts.control !== undefined) filter.control = opts.control;
    if (opts.since !== undefined) filter.since = opts.since;
    if (opts.changes) filter.kinds = ["change"];
    let read: ReturnType<StateStore["readHistory"]>;
    try {
      read = store.readHistory(filter);
    } catch (err) {
      // damage or a lock held too long, past the pages read when opening: not a bug
      if (!(err instanceof StoreError)) throw err;
      io.err(`covenant history: ${escapeText(err.message)}`);
      return EXIT.policyError;
    }
    const { entries, end, checkpoint } = read;
    const forged = entries.some((e) => !e.verified) || end !== undefined;
    // the records a prune removed are said first: the history shown starts after them
    if (checkpoint) (opts.json ? io.err : io.out)(prunedNote(checkpoint));
    if (opts.json) io.out(JSON.stringify(entries.map(withheld), null, 2));
    else if (entries.length === 0) io.out("no records" + (opts.control ? ` for ${escapeText(opts.control)}` : "") + (opts.since ? ` since ${opts.since}` : ""));
    else for (const e of entries) io.out(renderEntry(e, io));
    if (end) {
      const line = `TAMPERED: ${escapeText(end.message)} (${end.kind}); run \`covenant verify\``;
      if (opts.json) io.err(`covenant history: ${line}`);
      else io.out(io.style.red(line));
    }
    return forged ? EXIT.deficiencies : EXIT.ok;
  } finally {
    store.close();
  }
}

/** A `nodiff` file's approval holds a keyed digest: nothing prints even that. A policy version is listed by its files, never their text. */
function withheld(e: HistoryEntry): HistoryEntry {
  if (e.kind === "policy" && !("unreadable" in e.body)) return { ...e, body: policyListing(e.body as Partial<PolicyBody>) as PolicyBody };
  if (e.kind !== "baseline" || (e.body as Partial<BaselineBody>).keyed !== true) return e;
  return { ...e, body: { ...(e.body as BaselineBody), digest: WITHHELD } };
}

const WITHHELD = "(withheld: nodiff)";

/** A policy record without its text: hash, when, and each file's path, sha256 and size. */
function policyListing(b: Partial<PolicyBody>): Omit<PolicyBody, "files"> & { files: { path: unknown; sha256: unknown; bytes: unknown }[] } {
  const files = Array.isArray(b.files) ? b.files.map((f: unknown) => {
    const x = (typeof f === "object" && f !== null ? f : {}) as Record<string, unknown>;
    return { path: x["path"], sha256: x["sha256"], bytes: x["bytes"] };
  }) : [];
  return { hash: typeof b.hash === "string" ? b.hash : "", files, at: typeof b.at === "string" ? b.at : "" };
}

/** `policy 1a2b3c4d5e6f in force from run 7: 4 files, 12,345 bytes` */
function policyLine(e: HistoryEntry): string {
  const b = policyListing(e.body as Partial<PolicyBody>);
  const bytes = b.files.reduce((n, f) => n + (typeof f.bytes === "number" ? f.bytes : 0), 0);
  const n = b.files.length;
  return `policy ${t(b.hash).slice(0, 12)} in force from run ${e.run}: ${n} file${n === 1 ? "" : "s"}, ${bytes.toLocaleString("en-US")} byte${bytes === 1 ? "" : "s"}`;
}

/** `records before 1926 were pruned on ... (through run 420): they are in the evidence pack whose manifest's sha256 is ...` */
function prunedNote(c: Checkpoint): string {
  const kept = c.kept.length > 0 ? `; the ${c.kept.length} record${c.kept.length === 1 ? "" : "s"} before it shown here ${c.kept.length === 1 ? "is" : "are"} kept because later records name ${c.kept.length === 1 ? "it" : "them"}` : "";
  return `records before ${c.cut.seq + 1} were pruned on ${t(c.at)} (runs through ${c.cut.run}, before ${t(c.before)}): they are in the evidence pack whose manifest's sha256 is ${t(c.evidence.manifestSha256)} (records ${t(c.evidence.firstRecord)} to ${t(c.evidence.lastRecord)}, ${t(c.evidence.from)} to ${t(c.evidence.to)})${kept}`;
}

/** `pruned 12,345 records of 420 runs before 2026-01-01T00:00:00.000Z (through run 420, record 99,000); 215 kept; pack 1a2b3c4d5e6f…` */
function pruneLine(e: HistoryEntry): string {
  const b = e.body as Partial<PruneBody>;
  const counts = typeof b.removed === "object" && b.removed !== null ? Object.values(b.removed) : [];
  const removed = counts.reduce((n: number, c) => n + (typeof c === "number" ? c : 0), 0);
  const runs = typeof b.removed === "object" && b.removed !== null && typeof b.removed.run === "number" ? b.removed.run : 0;
  return `pruned ${removed.toLocaleString("en-US")} records of ${runs.toLocaleString("en-US")} run${runs === 1 ? "" : "s"} before ${t(b.before)} (through run ${t(b.cut?.run)}, record ${t(b.cut?.seq)}); ${t(b.kept)} kept; evidence pack ${t(b.evidence?.manifestSha256).slice(0, 12)}… signed by ${t(b.evidence?.fingerprint)}`;
}

/** `roster 1a2b3c4d5e6f: 209 promises evaluated` (the keys themselves are in `--json`) */
function rosterLine(e: HistoryEntry): string {
  const b = e.body as Partial<RosterBody>;
  const n = Array.isArray(b.keys) ? b.keys.length : 0;
  return `roster ${t(b.hash).slice(0, 12)}: ${n} promise${n === 1 ? "" : "s"} evaluated, first by run ${e.run}`;
}

/** Outside text (promisers, reasons, file names, notes) on one line, as written. */
const t = (v: unknown): string => escapeText(typeof v === "string" ? v : JSON.stringify(v) ?? "");

function renderEntry(e: HistoryEntry, io: Io): string {
  const s = io.style;
  const when = t(e.time).replace("T", " ").replace(/\.\d+Z$/, "Z");
  const mark = e.verified ? "" : `${s.red("UNVERIFIED")} `;
  const lines = [`${when}  #${e.seq}  ${mark}${recordLine(e, io)}`];
  const body = e.body as Partial<ChangeBody>;
  if (e.kind === "change" && !("unreadable" in e.body)) {
    const differences = Array.isArray(body.differences) ? body.differences : [];
    for (const d of differences.length > 1 ? differences : []) lines.push(`      - ${t(d)}`);
    for (const c of Array.isArray(body.changes) ? body.changes : []) lines.push(`      ${t(c)}`);
    for (const n of Array.isArray(body.notes) ? body.notes : []) lines.push(s.dim(`      note: ${t(n)}`));
    for (const f of Array.isArray(body.findings) ? body.findings : []) lines.push(...findingLines(recordedView(f), { indent: "      " }));
  }
  // what a run's summary noted (its summary could not hold something, approved copies masked, bands set aside)
  if (e.kind === "run" && !("unreadable" in e.body)) for (const n of Array.isArray((e.body as Partial<RunBody>).notes) ? (e.body as RunBody).notes! : []) lines.push(s.dim(`      note: ${t(n)}`));
  if (!e.verified) lines.push(s.red(`      ! not verified: ${t(e.problem)}; run \`covenant verify\``));
  return lines.join("\n");
}

function recordLine(e: HistoryEntry, io: Io): string {
  const s = io.style;
  if ("unreadable" in e.body) return s.red(`${t(e.kind)} record that is not valid JSON (run \`covenant verify\`)`);
  if (e.kind === "baseline") {
    const b = e.body as BaselineBody;
    return `baseline approved: ${t(b.path)} ${t(b.algorithm)} ${b.keyed === true ? WITHHELD : `${t(b.digest).slice(0, 12)}…`}`;
  }
  if (e.kind === "ack") return ackLine(e.body as AckBody);
  if (e.kind === "waiver") return waiverLine(e.body as Partial<WaiverBody>);
  if (e.kind === "decision") return refusalLine(e.body as Partial<DecisionRefusalBody>);
  if (e.kind === "policy") return policyLine(e);
  if (e.kind === "roster") return rosterLine(e);
  if (e.kind === "rotation") return rotationLine(e.body as RotationBody | HostRotationBody);
  if (e.kind === "prune") return pruneLine(e);
  if (e.kind === "approval") return approvalLine(e.body as ApprovalBody);
  if (e.kind === "delivery") return deliveryLine(e.body as DeliveryBody, io);
  if (e.kind === "run") {
    const b = e.body as RunBody;
    const counts = Object.entries(typeof b.counts === "object" && b.counts !== null ? b.counts : {})
      .map(([o, n]) => `${t(n)} ${t(o)}`)
      .join(", ");
    // a summary written before runs had kinds is a `covenant run`'s
    const watch = runKindOf(b) === "watch" ? " (watch)" : "";
    return s.dim(`run ${t(b.run)}${watch}${b.dryRun ? " (dry run)" : ""}${b.sandbox === true ? " (sandbox)" : ""}: ${t(b.promises)} promise${b.promises === 1 ? "" : "s"} tested (${counts}); ${t(b.changed)} change${b.changed === 1 ? "" : "s"} of state; outcomes ${t(b.outcomes).slice(0, 12)}…${Array.isArray(b.retired) && b.retired.length > 0 ? `; retired ${b.retired.map(t).join(", ")}` : ""}`);
  }
  const b = e.body as ChangeBody;
  return `${s.bold(t(b.control))} ${t(b.type)} ${t(b.promiser)}: ${b.from === null || b.from === undefined ? "(first observation)" : t(b.from)} → ${t(b.to)}: ${t(b.reason)}`;
}

/** `approved 3 integrity states (approve /srv/ledger/gl.dat) by Alice as root (login uid unset): CHG-1234 ...` */
function approvalLine(b: ApprovalBody): string {
  const n = typeof b.paths === "number" ? b.paths : 0;
  const states = `${n} integrity state${n === 1 ? "" : "s"}${typeof b.removed === "number" && b.removed > 0 ? ` (${b.removed} removed)` : ""}`;
  if (b.how === "repaired") return `approved ${states} as repaired by ${t(b.promise ?? "a promise")}`;
  if (b.how === "first-seen") return `approved ${states} as first seen by ${t(b.promise ?? "a promise")}`;
  const uid = typeof b.loginUid === "number" ? `login uid ${b.loginUid}` : "login uid unset";
  const what = `${b.how === "init" ? "integrity init" : "approve"} ${Array.isArray(b.targets) ? b.targets.map(t).join(", ") : ""}`;
  const copies = Array.isArray(b.copies) && b.copies.length > 0 ? `; approved copies replaced: ${b.copies.map(t).join(", ")}` : "";
  return `approved ${states} (${what}) by ${t(b.by)} as ${t(b.user)} (${uid})${b.reason !== undefined ? `: ${t(b.reason)}` : ""}${copies}`;
}

/** A recorded finding as the renderer takes it: what an edited record holds is not trusted to be well formed. */
function recordedView(f: unknown): FindingView {
  const r = (typeof f === "object" && f !== null ? f : {}) as Partial<RecordedFinding>;
  const v: FindingView = { path: typeof r.path === "string" ? r.path : "?", changes: Array.isArray(r.changes) ? r.changes.map(String) : [] };
  const d = r.diff as { text?: unknown; added?: unknown; removed?: unknown; maskedLines?: unknown; none?: unknown } | undefined;
  if (d && typeof d.text === "string") v.diff = { text: d.text, added: Number(d.added) || 0, removed: Number(d.removed) || 0, maskedLines: Number(d.maskedLines) || 0 };
  else if (d && typeof d.none === "string") v.diff = { none: d.none };
  // who: rendered field by field (finding-who-text.ts escapes every text), so only the container shapes are checked here
  if (Array.isArray(r.holders)) v.holders = r.holders.filter((h) => typeof h === "object" && h !== null && typeof h.pid === "number");
  if (typeof r.holdersNote === "string") v.holdersNote = r.holdersNote;
  const m = r.madeBy as { status?: unknown; changes?: unknown; reason?: unknown } | undefined;
  if (m && m.status === "attributed" && Array.isArray(m.changes)) v.madeBy = { status: "attributed", changes: m.changes.filter((c) => typeof c === "object" && c !== null && typeof (c as { pid?: unknown }).pid === "number") };
  else if (m && (m.status === "none-found" || m.status === "unavailable") && typeof m.reason === "string") v.madeBy = { status: m.status, reason: m.reason };
  return v;
}

/** `acknowledged d-7k3q9m2x (ITGC-AC-01 file:/etc/shadow) by Alice as root (login uid 1000): reason` */
function ackLine(b: AckBody): string {
  const uid = typeof b.loginUid === "number" ? `login uid ${b.loginUid}` : "no login uid";
  const hub = typeof b.decision === "string" ? `, the fleet hub's decision ${t(b.decision)},` : "";
  return `acknowledged ${t(b.deficiency)} (${t(b.key)}) by ${t(b.by)}${hub} as ${t(b.user)} (${uid}): ${t(b.reason)}`;
}

/** `waiver of APP-1 until 2027-01-31 approved by carol (hub), the fleet hub's decision 12: reason` */
function waiverLine(b: Partial<WaiverBody>): string {
  return `waiver of ${t(b.control)}${typeof b.from === "string" ? ` from ${t(b.from)}` : ""} until ${t(b.until)} approved by ${t(b.approvedBy)}, the fleet hub's decision ${t(b.decision)}: ${t(b.reason)}`;
}

/** `the fleet hub's decision 13 (ack of APP-1) by alice (hub) refused: why` */
function refusalLine(b: Partial<DecisionRefusalBody>): string {
  return `the fleet hub's decision ${t(b.decision)} (${t(b.kind)} of ${t(b.control)}) by ${t(b.by)} refused: ${t(b.refused)}`;
}

/**
 * `signing key rotated: ed25519:… → ed25519:… by Alice as root (login uid 1000): reason`, or for the
 * host key `host key rotated: id 3f… → id 9a… by …`: a host key is named by its id, never shown
 */
function rotationLine(b: RotationBody | HostRotationBody): string {
  const uid = typeof b.loginUid === "number" ? `login uid ${b.loginUid}` : "no login uid";
  const reason = typeof b.reason === "string" && b.reason !== "" ? t(b.reason) : "(no reason given)";
  const [from, to] = b.key === "host" ? [`id ${t((b as HostRotationBody).old?.id)}`, `id ${t((b as HostRotationBody).new?.id)}`] : [t((b as RotationBody).old?.fingerprint), t((b as RotationBody).new?.fingerprint)];
  return `${t(b.key)} key rotated: ${from} → ${to} by ${t(b.by)} as ${t(b.user)} (${uid}): ${reason}`;
}

/** `told security/mail/alice@example.com via mail: opened message m-… about d-…, d-…` */
function deliveryLine(b: DeliveryBody, io: Io): string {
  const about = Array.isArray(b.deficiencies) ? b.deficiencies.map(t).join(", ") : "";
  const what = `${t(b.kind)} message ${t(b.message)} about ${about || "no deficiency"}`;
  const tries = `${t(b.attempts)} attempt${b.attempts === 1 ? "" : "s"}`;
  if (b.status === "sent") return `told ${t(b.recipient)} via ${t(b.channel)}: ${what}${b.providerId !== undefined ? ` (${t(b.providerId)})` : ""}`;
  return io.style.red(`gave up telling ${t(b.recipient)} via ${t(b.channel)} after ${tries}: ${what}${b.error !== undefined ? `: ${t(b.error)}` : ""}`);
}

export function runVerify(opts: StoreOptions & { knownHead?: string }, io: Io): number {
  let known: KnownHead | undefined;
  if (opts.knownHead !== undefined) {
    const m = /^(\d+):([0-9a-f]{16,64})…?$/.exec(opts.knownHead);
    if (!m) {
      io.err(`covenant verify: --known-head wants a record number and the start of its MAC as verify prints them, such as 1925:3f2a9c0e41d7b5a8, got \`${escapeText(opts.knownHead)}\``);
      return EXIT.policyError;
    }
    known = { seq: Number(m[1]), mac: m[2]! };
  }
  const store = openStore(opts, io, "verify");
  if (store instanceof StoreDamagedError) return tampered("damaged", store.message, opts, io);
  if (store instanceof HistoryBrokenError) return tampered(store.kind, store.message, opts, io);
  if (!(store instanceof StateStore)) return EXIT.policyError;
  try {
    let r: VerifyReport;
    try {
      r = store.verify(known);
    } catch (err) {
      if (err instanceof StoreDamagedError) return tampered("damaged", err.message, opts, io);
      if (!(err instanceof StoreError)) throw err;
      io.err(`covenant verify: ${escapeText(err.message)}`);
      return EXIT.policyError;
    }
    if (opts.json) io.out(JSON.stringify({ ...r, opened: store.mode }, null, 2));
    else {
      if (r.tampering) io.out(io.style.red(`TAMPERED: ${escapeText(r.tampering.message)} (${r.tampering.kind})`));
      else io.out(io.style.green(`intact: ${r.records} records, ${r.runs.length} runs${r.watchRuns > 0 ? ` (${r.watchRuns} of them the watcher's)` : ""}${r.firstRun ? ` from ${t(r.firstRun)} to ${t(r.lastRun)}` : ""}, every record chained to the one before`));
      if (r.checkpoint) io.out(checkpointLine(r.checkpoint));
      if (r.head) io.out(`head: record ${r.head.seq}, MAC ${r.head.mac.slice(0, 16)}… (keep \`--known-head ${r.head.seq}:${r.head.mac.slice(0, 16)}\` off this host: a later verify given it finds the whole store rolled back)`);
      if (r.interrupted.length > 0) io.out(`note: run${r.interrupted.length > 1 ? "s" : ""} ${r.interrupted.join(", ")} stopped before writing a summary (killed or timed out); their changes are recorded`);
      if (r.silentCount > 0) {
        const more = r.silentCount > r.silent.length ? ` (the newest ${r.silent.length} of ${r.silentCount})` : "";
        const one = r.silentCount === 1;
        io.out(`note: run${one ? "" : "s"} ${r.silent.join(", ")}${more} began but recorded nothing: ${one ? "it" : "each"} stopped before its first record (killed, or the store failed), and may have changed the host before it could record`);
      }
      for (const n of r.notes) io.out(`note: ${escapeText(n)}`);
    }
    return r.tampering ? EXIT.deficiencies : EXIT.ok;
  } finally {
    store.close();
  }
}

/** What verify proved across a prune: where the chain starts, and where what is gone can be checked. */
function checkpointLine(c: NonNullable<VerifyReport["checkpoint"]>): string {
  return `checkpoint: records up to ${c.seq} (runs through ${c.run}) were pruned on ${t(c.at)}; the chain is proved from there, with the ${c.kept} record${c.kept === 1 ? "" : "s"} kept before it; what was removed is in the evidence pack ${t(c.evidence.manifestSha256).slice(0, 16)}… (records ${t(c.evidence.firstRecord)} to ${t(c.evidence.lastRecord)})${c.earlier.length > 0 ? ` and ${c.earlier.length} earlier pack${c.earlier.length === 1 ? "" : "s"}` : ""}`;
}

/** A database that cannot be read, or one that is gone while its anchor remains, cannot be vouched for: to `verify`, that is tampering. */
function tampered(kind: "damaged" | "deleted" | "altered", message: string, opts: StoreOptions, io: Io): number {
  if (opts.json) io.out(JSON.stringify({ tampering: { kind, message } }, null, 2));
  else io.out(io.style.red(`TAMPERED: ${escapeText(message)} (${kind})`));
  return EXIT.deficiencies;
}
