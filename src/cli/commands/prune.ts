// `covenant prune --before DATE --pack PACK --public-key FILE`: removes whole runs older than a
// date from the store, once the evidence pack given (signed by this host, checked with its public
// key) holds every record removed, leaving a sealed checkpoint so that what remains still
// verifies (src/store/prune.ts). Under the run lock, as `ack` is: never alongside a run.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startOfDay } from "../../facts/period.js";
import { defaultStateDir } from "../../store/state-dir.js";
import { publicKeyPem, StoreError, type PruneOutcome } from "../../store/store.js";
import { EnrolmentError, isEnrolled, readEnrolment } from "../../hub/client/enrolment.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { PackError, readBytes, readPackCoverage, type Coverage } from "../prune-pack.js";
import { withStoreForReading, withStoreForWriting } from "../store-access.js";

export interface PruneOptions {
  before: string;
  pack: string;
  /** the key the pack is checked with; the host's signing key in force when absent */
  publicKey?: string;
  state?: string;
  tz?: string;
  dryRun: boolean;
  json: boolean;
}

/** The largest public key file read. */
const MAX_KEY = 16 * 1024;

export async function runPrune(opts: PruneOptions, io: Io): Promise<number> {
  const before = instantOf(opts.before, opts.tz);
  if (typeof before === "string") {
    io.err(`covenant prune: ${escapeText(before)}`);
    return EXIT.policyError;
  }
  // a prune never makes a store: StateStore.open would, in a directory where nothing has run
  const dir = opts.state ?? defaultStateDir();
  if (!existsSync(join(dir, "state.db"))) {
    io.err(`covenant prune: no store in ${escapeText(dir)} (nothing has run there yet; choose another with --state)`);
    return EXIT.policyError;
  }
  // the pack is verified whole before the lock is taken (a year's pack takes seconds to read);
  // the prune then holds it to the store it finds under the lock (its last record's MAC)
  let coverage: Coverage;
  try {
    const own = hostKeys(dir, io);
    if (own === undefined) return EXIT.policyError;
    const pem = opts.publicKey !== undefined ? readBytes(opts.publicKey, "the public key", MAX_KEY).toString("utf8") : own.pem;
    coverage = await readPackCoverage(opts.pack, pem);
    // a key given must be this host's: in force, or one its history's rotations name
    if (!own.fingerprints.has(coverage.fingerprint)) throw new PackError(`the pack was signed by ${coverage.fingerprint}, which is neither this host's signing key in force (${own.fingerprint}) nor one its rotations name`);
  } catch (err) {
    if (!(err instanceof PackError)) throw err;
    io.err(`covenant prune: ${escapeText(err.message)}; nothing is pruned`);
    return EXIT.policyError;
  }
  // with a hub, the hub holds it: an enrolled host prunes only what the hub has acknowledged
  let hubMustHold: { host: string } | undefined;
  try {
    hubMustHold = hubHost(dir);
  } catch (err) {
    if (!(err instanceof EnrolmentError || err instanceof StoreError)) throw err;
    io.err(`covenant prune: ${escapeText(err.message)}; nothing is pruned while the host's enrolment cannot be read`);
    return EXIT.policyError;
  }
  return withStoreForWriting(dir, io, "prune", (store) => {
    const out = store.prune({ before, evidence: coverage, dryRun: opts.dryRun, ...(hubMustHold ? { hubMustHold } : {}) });
    if (opts.json) io.out(JSON.stringify(out, null, 2));
    else for (const line of describe(out, opts.before)) io.out(line);
    return EXIT.ok;
  });
}

/** The host id the hub knows this host by, when it is enrolled. */
function hubHost(dir: string): { host: string } | undefined {
  if (!isEnrolled(dir)) return undefined;
  const found = readEnrolment(dir);
  return found ? { host: found.enrolment.host } : undefined;
}

/** This host's signing key in force (PEM and fingerprint) and every key its rotations name; undefined (said) when it has none or the store cannot be read. */
function hostKeys(dir: string, io: Io): { pem: string; fingerprint: string; fingerprints: Set<string> } | undefined {
  let keys: { pem: string; fingerprint: string; fingerprints: Set<string> } | undefined;
  const code = withStoreForReading(dir, io, "prune", (store) => {
    const own = store.signingKey(false);
    if (!own) throw new PackError("this host has no signing key, so none of its evidence packs can be checked (`covenant key export` makes it; `covenant evidence` signs with it)");
    keys = { pem: publicKeyPem(own.publicKey), fingerprint: own.fingerprint, fingerprints: new Set([own.fingerprint, ...store.signingKeysNamed()]) };
    return EXIT.ok;
  });
  return code === EXIT.ok ? keys : undefined;
}

/** The first instant of the day DATE in the zone (the host's when none), or why DATE or the zone is not one. */
function instantOf(date: string, timeZone: string | undefined): Date | string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return `--before wants a date written YYYY-MM-DD, got \`${date.slice(0, 40)}\``;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(y, mo - 1, d));
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) return `--before ${date} is not a date on the calendar`;
  if (timeZone !== undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone });
    } catch {
      return `--tz \`${timeZone.slice(0, 60)}\` is not a time zone this system knows`;
    }
  }
  return new Date(startOfDay(y, mo, d, timeZone));
}

const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;

function describe(out: PruneOutcome, date: string): string[] {
  const kinds = Object.entries(out.removed)
    .map(([k, n]) => `${n} ${k}`)
    .join(", ");
  const what = `${out.removedCount} record${out.removedCount === 1 ? "" : "s"} (${kinds}) of ${out.runs} run${out.runs === 1 ? "" : "s"}, records ${out.from} to ${out.cut.seq}, through run ${out.cut.run} (finished ${out.cut.time})`;
  const kept = `${out.kept} record${out.kept === 1 ? "" : "s"} at or before record ${out.cut.seq} ${out.kept === 1 ? "is" : "are"} kept: later records name them`;
  const messages =
    (out.messages > 0 ? `; ${out.messages} settled outbox message${out.messages === 1 ? "" : "s"} with ${out.messages === 1 ? "its delivery record" : "their delivery records"}` : "") +
    (out.deficiencies > 0 ? `; ${out.deficiencies} resolved deficienc${out.deficiencies === 1 ? "y" : "ies"} retired with ${out.deficiencies === 1 ? "its records" : "their records"}` : "");
  if (out.dryRun) return [`would remove ${what}, from before ${date}${messages}`, kept, "nothing was changed (--dry-run)"];
  const lines = [`removed ${what}, from before ${date}${messages}`, kept, `the history now starts at a checkpoint sealed with the host key; prune record #${out.record ?? "?"} says so (\`covenant verify\` checks it)`];
  if (out.notVacuumed !== undefined) lines.push(`the store was not compacted: ${escapeText(out.notVacuumed)}; it is ${mib(out.bytesBefore)}, and its free pages are reused by later runs`);
  else lines.push(`the store went from ${mib(out.bytesBefore)} to ${mib(out.bytesAfter ?? 0)}`);
  return lines;
}
