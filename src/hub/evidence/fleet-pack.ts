// The fleet evidence pack (`covenant hub evidence`, the evidence.export route): a directory and its
// `.tar.gz` holding the fleet report in every format, each host's own report, each host's records
// of the period as it pushed them with the hub's receive time and chain beside them, the policy
// versions the hosts ran, and a manifest with the sha256 of every file, signed with the hub's
// Ed25519 key (evidence/fleet-manifest.ts says what it holds; evidence/fleet-verify.ts checks it).
// The files are made in memory and then written, each created exclusively and owner-only, into a
// directory that is new or empty and the caller's own (evidence/write.ts packDirectory).
import { sign } from "node:crypto";
import { closeSync, constants, existsSync, openSync, writeSync } from "node:fs";
import { basename, join } from "node:path";
import type { Pool } from "pg";
import { FLEET_PACK_FORMAT, FLEET_PACK_VERSION, FLEET_WHAT_IT_PROVES, HOST_CHAIN, HOST_HISTORY, hostDir, type FleetManifest, type FleetManifestHost } from "../../evidence/fleet-manifest.js";
import { MANIFEST_FILE, policyDir, policyFileName, PUBLIC_KEY_FILE, sha256Hex, SIGNATURE_FILE } from "../../evidence/manifest.js";
import { writeTarGz, type PackFile } from "../../evidence/tar.js";
import { packDirectory, packPath, PackWriteError } from "../../evidence/write.js";
import { renderReportHtml } from "../../report/report-html.js";
import { reportJsonPieces } from "../../report/report-json.js";
import { hashPolicy, publicKeyPem, type PolicyFile, type SigningKey } from "../../store/store.js";
import { renderFleetHtml } from "./fleet-html.js";
import type { FleetHost, FleetReport } from "./fleet-model.js";
import { buildFleetReport, type FleetReportOptions } from "./fleet-report.js";
import { renderFleetCsv, renderFleetMarkdown } from "./fleet-text.js";
import { chainBefore, heldRecords } from "./held-records.js";

export interface FleetPack {
  manifest: FleetManifest;
  report: FleetReport;
  /** every file, manifest and signature included, by name under the pack */
  files: PackFile[];
}

/** The pack's files, made in memory from the hub's database and signed with `key`. */
export async function makeFleetPack(pool: Pool, o: FleetReportOptions & { key: SigningKey }): Promise<FleetPack> {
  const report = await buildFleetReport(pool, { ...o, hubFingerprint: o.key.fingerprint });
  const files = new Map<string, Buffer>();
  const put = (name: string, text: string | Buffer) => files.set(name, Buffer.isBuffer(text) ? text : Buffer.from(text, "utf8"));
  put("reports/fleet.json", JSON.stringify(report, null, 2) + "\n");
  put("reports/fleet.html", renderFleetHtml(report));
  put("reports/fleet.md", renderFleetMarkdown(report));
  for (const [name, text] of renderFleetCsv(report)) put(`reports/${name}`, text);
  const hosts: FleetManifestHost[] = [];
  for (const h of report.hosts) {
    put(`reports/hosts/${h.id}.json`, [...reportJsonPieces(h.report)].join(""));
    put(`reports/hosts/${h.id}.html`, renderReportHtml(h.report));
    hosts.push(await hostExtract(pool, h, put));
  }
  const skipped: FleetManifest["policiesNotIncluded"] = [];
  const policies = await policyFiles(pool, report.hosts, put, skipped);
  const p = report.period;
  const manifest: FleetManifest = {
    format: FLEET_PACK_FORMAT,
    version: FLEET_PACK_VERSION,
    createdAt: report.generatedAt,
    period: { from: p.from, to: p.to, timeZone: p.timeZone ?? "UTC", start: p.start, end: p.end },
    scope: { group: report.scope.group },
    signingKey: { algorithm: "ed25519", fingerprint: o.key.fingerprint },
    hosts,
    policies,
    policiesNotIncluded: skipped,
    files: [],
    says: FLEET_WHAT_IT_PROVES,
  };
  put(PUBLIC_KEY_FILE, publicKeyPem(o.key.publicKey));
  manifest.files = [...files].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, bytes]) => ({ path, sha256: sha256Hex(bytes), bytes: bytes.length }));
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2) + "\n", "utf8");
  put(MANIFEST_FILE, manifestBytes);
  put(SIGNATURE_FILE, `${sign(null, manifestBytes, o.key.privateKey).toString("base64")}\n`);
  return { manifest, report, files: [...files].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, bytes]) => ({ name, bytes })) };
}

/** A host's records of the period (the first whose host time is in it to the last), as pushed, and the hub's receive time and chain beside each. */
async function hostExtract(pool: Pool, h: FleetHost, put: (name: string, text: string) => void): Promise<FleetManifestHost> {
  const dir = hostDir(h.id);
  const prune = await pool.query<{ prune_cut: string | null }>("SELECT prune_cut FROM hub_hosts WHERE id = $1", [h.id]);
  const first = h.chain.first;
  const before = first === null ? null : await chainBefore(pool, h.id, h.chain.epoch, first);
  const lines: string[] = [];
  const chain: string[] = [JSON.stringify({ before: before?.toString("hex") ?? null, epoch: h.chain.epoch })];
  let final = before?.toString("hex") ?? "";
  let last: number | null = null;
  if (first !== null && h.chain.last !== null) {
    for await (const r of heldRecords(pool, h.id, h.chain.epoch, first, h.chain.last)) {
      lines.push(r.line);
      final = r.chain.toString("hex");
      last = r.seq;
      chain.push(JSON.stringify({ seq: r.seq, receivedAt: r.receivedAt.toISOString(), chain: final }));
    }
  }
  put(`${dir}/${HOST_HISTORY}`, lines.map((l) => `${l}\n`).join(""));
  put(`${dir}/${HOST_CHAIN}`, chain.map((l) => `${l}\n`).join(""));
  const cut = prune.rows[0]?.prune_cut;
  return {
    id: h.id,
    name: h.name,
    group: h.group,
    epoch: h.chain.epoch,
    chainStatus: h.chain.status,
    incidents: h.chain.incidents.map((i) => ({ id: i.id, kind: i.kind, seq: i.seq, openedAt: i.openedAt, resolvedAt: i.resolvedAt })),
    extract: { first: lines.length > 0 ? first : null, last, count: lines.length, before: before?.toString("hex") ?? "", final, prunedTo: cut === null || cut === undefined ? null : Number(cut) },
  };
}

/** Each policy version a host ran in the period, its files as the host pushed them in its `policy` record, stored once. */
async function policyFiles(pool: Pool, hosts: readonly FleetHost[], put: (name: string, text: string) => void, skipped: FleetManifest["policiesNotIncluded"]): Promise<FleetManifest["policies"]> {
  const out = new Map<string, FleetManifest["policies"][number]>();
  for (const h of hosts) {
    for (const v of h.report.policyVersions) {
      const known = out.get(v.hash);
      if (known) {
        if (!known.hosts.includes(h.id)) known.hosts.push(h.id);
        continue;
      }
      if (v.record <= 0) continue;
      const row = await pool.query<{ line: string }>("SELECT line FROM hub_records WHERE host_id = $1 AND epoch = $2 AND seq = $3 AND kind = 'policy'", [h.id, h.chain.epoch, v.record]);
      const body = row.rows[0] ? (JSON.parse(row.rows[0].line) as { body?: { hash?: unknown; files?: PolicyFile[] } }).body : undefined;
      if (!body || body.hash !== v.hash || !Array.isArray(body.files)) continue;
      const dir = policyDir(v.hash);
      const names = packNames(dir, body.files);
      if (typeof names === "string") {
        skipped.push({ hash: v.hash, host: h.id, why: names });
        continue;
      }
      if (hashPolicy(body.files) !== v.hash) {
        skipped.push({ hash: v.hash, host: h.id, why: "its files as pushed do not make the version's hash" });
        continue;
      }
      const listed = body.files.map((f, i) => ({ path: f.path, sha256: sha256Hex(f.text), bytes: Buffer.byteLength(f.text), file: names[i]! }));
      body.files.forEach((f, i) => put(`${dir}/${names[i]!}`, f.text));
      put(`${dir}/policy.json`, JSON.stringify({ hash: v.hash, record: v.record, host: h.id, files: listed }, null, 2) + "\n");
      out.set(v.hash, { hash: v.hash, dir, record: v.record, hosts: [h.id] });
    }
  }
  return [...out.values()];
}

/** The most bytes of a name in the pack: ustar holds 255, split at a slash. */
const MAX_NAME = 250;

/**
 * Each of a pushed version's files as a name under its directory, or why it cannot be one: the
 * paths are the host's to choose, and one that climbs out (`..`) or is too long for the archive
 * must leave that version out (said in the manifest), never stop the fleet's pack.
 */
function packNames(dir: string, files: readonly PolicyFile[]): string[] | string {
  const names: string[] = [];
  for (const f of files) {
    let name: string;
    try {
      name = policyFileName(String(f.path));
    } catch {
      return "a file's path is not a plain absolute path";
    }
    if (Buffer.byteLength(`${dir}/${name}`) > MAX_NAME || typeof f.text !== "string") return "a file's path is too long for the archive, or the file has no text";
    names.push(name);
  }
  return names;
}

/** The pack as one `.tar.gz` in memory, its top directory `name` (the download of the evidence.export route). */
export function fleetPackArchive(pack: FleetPack, name: string): Buffer {
  return writeTarGz(name, pack.files, Math.floor(Date.parse(pack.manifest.createdAt) / 1000));
}

/** The sha256 of the pack's manifest.json, as the audit log records what was exported. */
export function manifestSha256(pack: FleetPack): string {
  return sha256Hex(pack.files.find((f) => f.name === MANIFEST_FILE)!.bytes);
}

/** Writes the pack's files into the directory `out` (new, or empty and the caller's own) and `out.tar.gz` beside it. */
export function writeFleetPack(out: string, pack: FleetPack): { dir: string; archive: string } {
  const dir = packPath(out);
  const archive = `${dir}.tar.gz`;
  if (existsSync(archive)) throw new PackWriteError(`${archive} exists: choose another --out (a pack is never written over another)`);
  packDirectory(dir);
  const made = new Set<string>();
  for (const f of pack.files) {
    const parts = f.name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const d = join(dir, ...parts.slice(0, i));
      if (made.has(d)) continue;
      made.add(d);
      packDirectory(d);
    }
    writeNew(join(dir, ...parts), f.bytes);
  }
  writeNew(archive, fleetPackArchive(pack, basename(dir)));
  return { dir, archive };
}

/** A file created exclusively (never over one, never through a link), owner-only. */
function writeNew(path: string, bytes: Buffer): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    throw new PackWriteError(`cannot make ${path}: ${(err as NodeJS.ErrnoException).code === "EEXIST" ? "it exists (a pack is never written over another)" : ((err as NodeJS.ErrnoException).code ?? String(err))}`);
  }
  try {
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
  } finally {
    closeSync(fd);
  }
}
