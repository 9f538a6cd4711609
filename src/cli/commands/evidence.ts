// `covenant evidence --from --to --out PACK` writes the signed evidence pack of a period (the
// history extract, the policy versions in force, the manifest and its signature: src/evidence/),
// and `covenant evidence verify PACK --public-key FILE` checks one with the public key alone.
import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { writePackTo, type PackInput } from "../../evidence/build.js";
import { WHAT_IT_PROVES, type Manifest } from "../../evidence/manifest.js";
import { TempDirError } from "../../evidence/temp-dir.js";
import { PackReadError, readPackInto } from "../../evidence/read.js";
import { DEFAULT_MAX_UNPACKED, type PackFile } from "../../evidence/tar.js";
import { PackChecker, PackTooLargeError, type PackVerdict } from "../../evidence/verify.js";
import { FleetPackChecker } from "../../evidence/fleet-verify.js";
import { bothSinks, reportFleetVerdict } from "./fleet-verdict.js";
import { PackDirectory, PackWriteError } from "../../evidence/write.js";
import { PeriodError, type Period } from "../../facts/period.js";
import { reportPass } from "../../report/report-build.js";
import { renderReportCsv } from "../../report/report-csv.js";
import { reportHtmlPieces } from "../../report/report-html.js";
import { reportJsonPieces } from "../../report/report-json.js";
import { renderReportMarkdown } from "../../report/report-markdown.js";
import { DEFAULT_LIST } from "./report.js";

import { StoreError, type StateStore } from "../../store/store.js";
import { escapeText } from "../escape.js";
import { parseSize } from "../sizes.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { reportPeriod } from "../report-period.js";
import { withStoreForReading } from "../store-access.js";

export interface EvidenceOptions {
  from: string;
  to: string;
  out: string;
  tz?: string;
  state?: string;
  json: boolean;
  /** the instant the pack says it was made (tests) */
  now?: Date;
  /** files to add under reports/ instead of the period's report (tests) */
  reports?: PackFile[];
  /** Covenant's name and version, as the reports say what made them */
  generator?: string;
}

/**
 * The period's report (`covenant report`) in each of its formats, for the pack's reports/, built
 * from the pack's own walk of the store (build.ts): listing at most DEFAULT_LIST episodes and
 * repairs per control (every figure is over all of them, and the listing says how many it leaves
 * out); the history extract beside them holds every record, from which `covenant report --format
 * json` on the host lists every one.
 */
function periodReports(store: StateStore, period: Period, now: Date, generator: string): NonNullable<PackInput["reportPass"]> {
  const pass = reportPass(store, { period, generator, now, list: DEFAULT_LIST });
  return {
    visit: pass.visit,
    *files(scan) {
      const report = pass.finish(scan);
      yield { name: "report.html", pieces: reportHtmlPieces(report) };
      yield { name: "report.json", pieces: reportJsonPieces(report) };
      yield { name: "report.md", pieces: [renderReportMarkdown(report), "\n"] };
      for (const [name, text] of renderReportCsv(report)) yield { name, pieces: [text] };
    },
  };
}

/**
 * A full collection when the heap has grown past COLLECT_ABOVE, looked at by the walk every few
 * thousand records (build.ts COLLECT_EVERY). The walk of a year's history allocates ~1 GB that
 * dies young and keeps ~20 MB, but what lives a little while is promoted, and V8 let the old
 * generation grow to ~130 MB before it collected it: the pack peaked at ~270 MB. Collected this
 * way it peaks at ~180 MB; collecting only past the size, rather than every time, saves ~0.8 s
 * (bench/report). `--expose-gc` set now reaches only a new context, where `gc` is then found.
 */
const COLLECT_ABOVE = 64 * 1024 * 1024;

function collector(): () => void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  return () => {
    if (getHeapStatistics().total_heap_size > COLLECT_ABOVE) gc();
  };
}

/** The pack's directory written from the store (read, then closed); its archive is streamed after. */
function writePackDirectory(opts: EvidenceOptions, io: Io, createdAt: Date): { code: number; pack?: PackDirectory; manifest?: Manifest } {
  let done: { pack: PackDirectory; manifest: Manifest } | undefined;
  const code = withStoreForReading(opts.state, io, "evidence", (store) => {
    try {
      const { period, timeZone, zoneFrom } = reportPeriod(store, opts.from, opts.to, opts.tz);
      const key = store.signingKey(true)!;
      const pack = new PackDirectory(opts.out);
      try {
        const reports = opts.reports ? { reports: opts.reports } : { reportPass: periodReports(store, period, createdAt, opts.generator ?? "covenant") };
        done = { pack, manifest: writePackTo({ store, period, timeZone, zoneFrom, host: hostname(), createdAt, key, ...reports, collect: collector() }, pack) };
      } catch (err) {
        pack.abandon();
        throw err;
      }
      return EXIT.ok;
    } catch (err) {
      if (err instanceof PeriodError || err instanceof PackWriteError) {
        io.err(`covenant evidence: ${escapeText(err.message)}`);
        return EXIT.policyError;
      }
      throw err;
    }
  });
  return { code, ...done };
}

export async function runEvidence(opts: EvidenceOptions, io: Io): Promise<number> {
  const createdAt = opts.now ?? new Date();
  const { code, pack, manifest: m } = writePackDirectory(opts, io, createdAt);
  if (!pack || !m) return code;
  let archive: string;
  try {
    archive = await pack.archive(createdAt);
  } catch (err) {
    if (!(err instanceof PackWriteError)) throw err;
    io.err(`covenant evidence: ${escapeText(err.message)}`);
    return EXIT.policyError;
  }
  const dir = pack.dir;
  if (opts.json) io.out(JSON.stringify({ dir, archive, manifest: m }, null, 2));
  else {
    const range = m.extract.count > 0 ? `records ${m.extract.first} to ${m.extract.last} (${m.extract.count})` : "no records";
    io.out(`wrote the evidence pack ${escapeText(dir)} and ${escapeText(archive)}: ${m.period.from} to ${m.period.to} (${escapeText(m.period.timeZone)}, from the ${m.period.zoneFrom}), ${range}, ${m.policies.length} policy version${m.policies.length === 1 ? "" : "s"}, signed by ${m.signingKey.fingerprint}`);
    if (!m.store.verify.intact) io.out(io.style.red(`the store failed its verification when the pack was made, and the pack says so: ${escapeText(m.store.verify.tampering?.message ?? "")}`));
    if (m.policiesNotStored.length > 0) io.out(`note: ${m.policiesNotStored.length} policy version${m.policiesNotStored.length === 1 ? "" : "s"} in force ${m.policiesNotStored.length === 1 ? "was" : "were"} run before Covenant kept policy texts: named in the manifest, not included`);
  }
  return m.store.verify.intact ? EXIT.ok : EXIT.deficiencies;
}

export interface EvidenceVerifyOptions {
  publicKey?: string;
  json: boolean;
  /** --max-unpacked, as given (a size such as 256GiB) */
  maxUnpacked?: string;
}

/** The auditor's key: a PEM Ed25519 public key (a private key given by mistake is refused, not used). */
function readPublicKey(path: string): KeyObject | string {
  // public, and read on the auditor's machine: a link or a pipe (`<(covenant key export)`) is fine
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    return `the public key ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`;
  }
  if (text.length > 64 * 1024) return `${path} is larger than any PEM public key`;
  if (/PRIVATE KEY/.test(text)) return `${path} holds a private key: give the public key (\`covenant key export\` prints it); keep the private key off the auditor's machine`;
  try {
    const key = createPublicKey({ key: text, format: "pem" });
    if (key.asymmetricKeyType !== "ed25519") return `${path} is a ${key.asymmetricKeyType ?? "unknown"} key, not an Ed25519 one`;
    return key;
  } catch {
    return `${path} is not a PEM public key`;
  }
}

export async function runEvidenceVerify(pack: string, opts: EvidenceVerifyOptions, io: Io): Promise<number> {
  if (opts.publicKey === undefined) {
    io.err("covenant evidence verify: --public-key FILE is required: the key the host's fingerprint names, obtained by another channel (never the public-key.pem inside the pack)");
    return EXIT.policyError;
  }
  const key = readPublicKey(opts.publicKey);
  if (typeof key === "string") {
    io.err(`covenant evidence verify: ${escapeText(key)}`);
    return EXIT.policyError;
  }
  const maxUnpacked = opts.maxUnpacked === undefined ? DEFAULT_MAX_UNPACKED : parseSize(opts.maxUnpacked);
  if (maxUnpacked === undefined || maxUnpacked < 1 || !Number.isSafeInteger(maxUnpacked)) {
    io.err(`covenant evidence verify: --max-unpacked wants a size such as 256GiB, 1TiB or 500000000, got \`${escapeText(opts.maxUnpacked ?? "")}\``);
    return EXIT.policyError;
  }
  // each file checked as it passes: a year's pack is never held whole; a host's pack or the fleet
  // hub's, told apart by its manifest once read (both checkers see every file)
  const checker = new PackChecker(key);
  const fleet = new FleetPackChecker(key);
  try {
    await readPackInto(pack, (name) => bothSinks(checker.file(name), fleet.file(name)), { maxUnpacked });
  } catch (err) {
    if (!(err instanceof PackReadError || err instanceof PackTooLargeError || err instanceof StoreError || err instanceof TempDirError)) throw err;
    io.err(`covenant evidence verify: ${escapeText(err.message)}`);
    return EXIT.policyError;
  }
  if (fleet.isFleet()) return reportFleetVerdict(fleet.verdict(), opts.json, io);
  const verdict = checker.verdict();
  if (opts.json) io.out(JSON.stringify(verdictJson(verdict), null, 2));
  else for (const line of verdictLines(verdict, io)) io.out(line);
  // a pack intact as signed, of a store the host itself found tampered, is no clean evidence: a
  // script that accepts on exit 0 must not accept it
  const storeIntact = verdict.manifest?.store.verify.intact !== false;
  return verdict.intact && storeIntact ? EXIT.ok : EXIT.deficiencies;
}

function verdictJson(v: PackVerdict): object {
  const m = v.manifest;
  return { intact: v.intact, storeIntact: m ? m.store.verify.intact : null, checkedWith: v.checkedWith, problems: v.problems, ...(m ? { host: m.host, period: m.period, extract: m.extract, store: m.store, createdAt: m.createdAt } : {}), says: WHAT_IT_PROVES };
}

function verdictLines(v: PackVerdict, io: Io): string[] {
  const m = v.manifest;
  const lines: string[] = [];
  if (v.intact && m) {
    const range = m.extract.count > 0 ? `records ${m.extract.first} to ${m.extract.last} (${m.extract.count}), ending at the head it names (record ${m.extract.head?.seq}, MAC ${escapeText(String(m.extract.head?.mac)).slice(0, 16)}…)` : "no records";
    lines.push(io.style.green(`intact: the pack of ${escapeText(m.host)} for ${escapeText(m.period.from)} to ${escapeText(m.period.to)} (${escapeText(m.period.timeZone)}), signed by ${v.checkedWith}: every file as signed; ${range}; ${m.policies.length} policy version${m.policies.length === 1 ? "" : "s"}`));
    if (!m.store.verify.intact) lines.push(io.style.red(`but the host's own verification found its store tampered when the pack was made: ${escapeText(m.store.verify.tampering?.message ?? "")}`));
  } else {
    lines.push(io.style.red(`FAILED: ${v.problems.length} problem${v.problems.length === 1 ? "" : "s"} found (checked with ${v.checkedWith})`));
    for (const p of v.problems) lines.push(`  ${escapeText(p.file)}${p.record !== undefined ? ` (record ${p.record})` : ""}: ${escapeText(p.message)}`);
  }
  lines.push(`what this proves: ${WHAT_IT_PROVES}`);
  return lines;
}
