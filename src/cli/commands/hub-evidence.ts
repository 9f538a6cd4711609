// `covenant hub report`, `covenant hub evidence` and `covenant hub key export`: the fleet's period
// report and its signed evidence pack, made from the hub's database directly (as `covenant hub
// incidents` reads it), and the hub's public key for auditors. Each report and pack made is
// written to the hub's audit log (an export of evidence).
import { existsSync, lstatSync, mkdirSync, writeFileSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Pool } from "pg";
import { periodOf, PeriodError, type Period } from "../../facts/period.js";
import { HubConfigError, loadHubConfig, type HubConfig } from "../../hub/config.js";
import { FleetDocuments, type FleetFormat } from "../../hub/evidence/fleet-documents.js";
import { FleetReportError, streamFleetReport } from "../../hub/evidence/fleet-report.js";
import { writeFleetPack } from "../../hub/evidence/fleet-pack.js";
import { audit } from "../../hub/server/audit.js";
import { hubSigningKey, type HubKey } from "../../hub/signing.js";
import { TemporaryScratch } from "../../evidence/scratch.js";
import { TempDirError } from "../../evidence/temp-dir.js";
import { judge, lstatOrUndefined, onTheWay, runningAsRoot, walk, type Rule } from "../../trust/strict-modes.js";
import { PackWriteError } from "../../evidence/write.js";
import { publicKeyPem } from "../../store/store.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { writeReportPieces } from "../report-file.js";
import { printPieces } from "./report.js";
import { adminPool, DEFAULT_HUB_CONFIG, who } from "./hub.js";

export interface FleetReportOptions {
  config?: string;
  from: string;
  to: string;
  group?: string;
  controls: string[];
  tz?: string;
  generator: string;
  now?: Date;
}

/** hub.yaml (clockTolerance, signingKey): --config, else the default path. */
function hubConfig(opts: { config?: string }, io: Io, command: string): HubConfig | number {
  const path = opts.config ?? DEFAULT_HUB_CONFIG;
  if (!existsSync(path)) {
    io.err(`covenant hub ${command}: no hub configuration at ${escapeText(path)} (give --config): the hub's signing key and clockTolerance are read from it`);
    return EXIT.policyError;
  }
  try {
    return loadHubConfig(path);
  } catch (err) {
    if (!(err instanceof HubConfigError)) throw err;
    io.err(`covenant hub ${command}: ${escapeText(err.message)}`);
    return EXIT.policyError;
  }
}

function hubKey(config: HubConfig, io: Io, command: string): HubKey | number {
  try {
    return hubSigningKey(config.signingKey, false);
  } catch (err) {
    io.err(`covenant hub ${command}: ${escapeText((err as Error).message)} (\`covenant hub serve\` makes it at first start)`);
    return EXIT.policyError;
  }
}

/** The period in --tz, else UTC: the fleet's hosts may keep different zones, so the hub reads days in one it is told. */
function fleetPeriod(opts: FleetReportOptions, io: Io, command: string): Period | number {
  try {
    return periodOf(opts.from, opts.to, opts.tz ?? "UTC");
  } catch (err) {
    if (!(err instanceof PeriodError)) throw err;
    io.err(`covenant hub ${command}: ${escapeText(err.message)}`);
    return EXIT.policyError;
  }
}

interface Prepared {
  config: HubConfig;
  key: HubKey;
  period: Period;
  pool: Pool;
}

async function prepare(opts: FleetReportOptions, io: Io, command: string): Promise<Prepared | number> {
  const config = hubConfig(opts, io, command);
  if (typeof config === "number") return config;
  const key = hubKey(config, io, command);
  if (typeof key === "number") return key;
  const period = fleetPeriod(opts, io, command);
  if (typeof period === "number") return period;
  const pool = await adminPool({ config: opts.config ?? DEFAULT_HUB_CONFIG }, io, command);
  if (typeof pool === "number") return pool;
  return { config, key, period, pool };
}

export async function runHubReport(opts: FleetReportOptions & { format: FleetFormat; out?: string }, io: Io): Promise<number> {
  if (opts.format === "csv" && opts.out === undefined) {
    io.err("covenant hub report: --format csv writes one file per table (hosts, controls, episodes, clock): give --out DIR");
    return EXIT.policyError;
  }
  const p = await prepare(opts, io, "report");
  if (typeof p === "number") return p;
  // the directory is made once the report can be: a bad date or configuration leaves none behind
  const refused = opts.out === undefined ? undefined : outDir(opts.out);
  if (refused) {
    io.err(`covenant hub report: cannot write to ${escapeText(opts.out!)}: ${escapeText(refused)}`);
    await p.pool.end();
    return EXIT.policyError;
  }
  // made a host at a time, each host's parts of the documents in scratch files until the fleet's
  // totals are known (fleet-documents.ts): a quarter of a host group is never held in memory
  const scratches: TemporaryScratch[] = [];
  try {
    let documents: FleetDocuments;
    try {
      documents = new FleetDocuments(() => {
        const s = new TemporaryScratch();
        scratches.push(s);
        return s;
      }, p.config.clockToleranceMs, new Set([opts.format]));
    } catch (err) {
      io.err(`covenant hub report: cannot make a scratch file under ${escapeText(tmpdir())} (TMPDIR): ${escapeText((err as NodeJS.ErrnoException).code ?? (err as Error).message)}`);
      return EXIT.policyError;
    }
    const report = await streamFleetReport(p.pool, { period: p.period, ...(opts.group !== undefined ? { group: opts.group } : {}), controls: opts.controls, toleranceMs: p.config.clockToleranceMs, hubFingerprint: p.key.fingerprint, generator: opts.generator, ...(opts.now ? { now: opts.now } : {}) }, (h, summary, index) => documents.add(h, summary, index), "slim");
    await audit(p.pool, `cli:${who()}`, "evidence.report", opts.group !== undefined ? `group:${opts.group}` : null, { from: opts.from, to: opts.to, format: opts.format, hosts: report.hosts.length, controls: opts.controls });
    const written: string[] = [];
    for (const [name, pieces] of documents.files(report)) {
      if (opts.out === undefined) await printPieces(decoded(pieces), io);
      else {
        const path = join(opts.out, name);
        try {
          writeReportPieces(path, pieces);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (typeof code !== "string") throw err;
          throw new ReportFileError(path, code);
        }
        written.push(name);
      }
    }
    if (opts.out !== undefined) io.err(`wrote ${written.map((n) => escapeText(join(opts.out!, n))).join(", ")}`);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof ReportFileError) {
      io.err(`covenant hub report: cannot write ${escapeText(err.path)}: ${escapeText(err.why)} (a link, FIFO or another name of a file is not written through)`);
      return EXIT.policyError;
    }
    if (!(err instanceof FleetReportError || err instanceof TempDirError)) throw err;
    io.err(`covenant hub report: ${escapeText(err.message)}`);
    return EXIT.policyError;
  } finally {
    for (const s of scratches) s.close();
    await p.pool.end();
  }
}

/** Pieces as text, a character cut between two pieces made whole. */
function* decoded(pieces: Iterable<string | Buffer>): Generator<string> {
  const decoder = new StringDecoder("utf8");
  for (const p of pieces) yield typeof p === "string" ? decoder.end() + p : decoder.write(p);
  yield decoder.end();
}

/** A document of --out that could not be written (a link, a FIFO, a file with other names, or the disk's error). */
class ReportFileError extends Error {
  constructor(
    readonly path: string,
    readonly why: string,
  ) {
    super(`${path}: ${why}`);
  }
}

/** --out, made if need be: as root, with no other user's link or directory on the way (else they could move it under root's writes). */
function outDir(dir: string): string | undefined {
  if (runningAsRoot()) {
    const of = `the report directory ${resolve(dir)}`;
    const elsewhere = "choose an --out in a directory only root can change";
    const rule: Rule = { says: "as root, Covenant writes reports only where no other user can move them", error: (m) => new Error(m) };
    try {
      const real = walk(resolve(dir), { of, elsewhere, sticky: true, rule });
      const st = lstatOrUndefined(real, rule);
      // one that is there already is judged too: its owner could move it, and what root writes in it, elsewhere
      if (st?.isDirectory()) judge(st, of, onTheWay(real, elsewhere), false, rule);
    } catch (err) {
      return (err as Error).message;
    }
  }
  try {
    mkdirSync(dir, { mode: 0o755 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") return String((err as NodeJS.ErrnoException).code ?? (err as Error).message);
  }
  return lstatSync(dir).isDirectory() ? undefined : "it is not a directory (a link is not followed)";
}

export async function runHubEvidence(opts: FleetReportOptions & { out: string; json: boolean }, io: Io): Promise<number> {
  const p = await prepare(opts, io, "evidence");
  if (typeof p === "number") return p;
  try {
    const pack = await writeFleetPack(p.pool, opts.out, { period: p.period, ...(opts.group !== undefined ? { group: opts.group } : {}), controls: opts.controls, toleranceMs: p.config.clockToleranceMs, hubFingerprint: p.key.fingerprint, generator: opts.generator, key: p.key, ...(opts.now ? { now: opts.now } : {}) });
    await audit(p.pool, `cli:${who()}`, "evidence.export", opts.group !== undefined ? `group:${opts.group}` : null, { from: opts.from, to: opts.to, hosts: pack.manifest.hosts.length, records: pack.manifest.hosts.reduce((n, h) => n + h.extract.count, 0), manifestSha256: pack.manifestSha256, out: pack.archive });
    if (opts.json) io.out(JSON.stringify(pack.manifest, null, 2));
    else io.out(`wrote ${escapeText(pack.dir)} and ${escapeText(pack.archive)}: ${pack.manifest.hosts.length} host(s), signed by the hub's key ${p.key.fingerprint}; check it with \`covenant evidence verify ${escapeText(pack.archive)} --public-key HUB.pub.pem\``);
    const inDoubt = pack.report.summary.hostsInDoubt;
    if (inDoubt > 0) io.err(`covenant hub evidence: ${inDoubt} host(s) whose chain the hub holds in doubt: the report says which`);
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof FleetReportError) && !(err instanceof PackWriteError)) throw err;
    io.err(`covenant hub evidence: ${escapeText(err.message)}`);
    return EXIT.policyError;
  } finally {
    await p.pool.end();
  }
}

export function runHubKeyExport(opts: { config?: string; out?: string }, io: Io): number {
  const config = hubConfig(opts, io, "key export");
  if (typeof config === "number") return config;
  const key = hubKey(config, io, "key export");
  if (typeof key === "number") return key;
  const pem = publicKeyPem(key.publicKey);
  if (opts.out === undefined) io.out(pem.replace(/\n$/, ""));
  else {
    try {
      writeFileSync(opts.out, pem, { flag: "wx", mode: 0o644 });
    } catch (err) {
      io.err(`covenant hub key export: cannot write ${escapeText(opts.out)}: ${escapeText(String((err as NodeJS.ErrnoException).code ?? (err as Error).message))}`);
      return EXIT.policyError;
    }
  }
  io.err(`the hub's signing key: ${key.fingerprint}`);
  return EXIT.ok;
}
