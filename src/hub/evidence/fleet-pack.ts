// The fleet evidence pack (`covenant hub evidence`, the evidence.export route): a directory and its
// `.tar.gz` holding the fleet report in every format, each host's own report, each host's records
// of the period as it pushed them with the hub's receive time and chain beside them, the policy
// versions the hosts ran, and a manifest with the sha256 of every file, signed with the hub's
// Ed25519 key (evidence/fleet-manifest.ts says what it holds; evidence/fleet-verify.ts checks it).
// It is written host by host, as a host's own pack is (evidence/write.ts PackDirectory: each file
// hashed, written under a random name and linked into place whole, compressed into the archive on
// a second thread as it is written): a host's reports, its records and their chain (read from
// PostgreSQL a page at a time) go to their files as they are made and are dropped; the fleet's
// reports come after the hosts (fleet-documents.ts: each host's parts of them wait in scratch files
// beside the archive until the fleet's totals are known); the manifest and its signature last.
// Memory is one host's report and the fleet's slim summaries, never the fleet's records or episodes.
import { sign } from "node:crypto";
import type { Pool } from "pg";
import { FLEET_PACK_FORMAT, FLEET_PACK_VERSION, FLEET_WHAT_IT_PROVES, HOST_CHAIN, HOST_HISTORY, hostDir, type FleetManifest, type FleetManifestHost } from "../../evidence/fleet-manifest.js";
import { MANIFEST_FILE, policyDir, policyFileName, PUBLIC_KEY_FILE, sha256Hex, SIGNATURE_FILE, type ManifestFile } from "../../evidence/manifest.js";
import { PackDirectory } from "../../evidence/write.js";
import { reportHtmlPieces } from "../../report/report-html.js";
import { reportJsonPieces } from "../../report/report-json.js";
import { hashPolicy, publicKeyPem, type PolicyFile, type SigningKey } from "../../store/store.js";
import type { FleetHost, FleetOverview } from "./fleet-model.js";
import { streamFleetReport, type FleetReportOptions } from "./fleet-report.js";
import { FleetDocuments } from "./fleet-documents.js";
import { chainBefore, heldRecords } from "./held-records.js";

/** What a written pack came to. */
export interface WrittenFleetPack {
  dir: string;
  archive: string;
  manifest: FleetManifest;
  /** the sha256 of manifest.json's bytes, as the audit log records what was exported */
  manifestSha256: string;
  report: FleetOverview;
}

/**
 * Writes the pack from the hub's database, signed with `key`, into the directory `out` (new, or
 * empty and the caller's own) and `out.tar.gz` beside it; a pack that fails is removed.
 */
export async function writeFleetPack(pool: Pool, out: string, o: FleetReportOptions & { key: SigningKey }): Promise<WrittenFleetPack> {
  const now = o.now ?? new Date();
  const pack = new PackDirectory(out);
  try {
    const files: ManifestFile[] = [];
    const put = (name: string, pieces: Iterable<string | Buffer>) => {
      const f = pack.file(name);
      for (const p of pieces) f.write(p);
      files.push({ path: name, ...f.end() });
    };
    const documents = new FleetDocuments(() => pack.scratch(), o.toleranceMs);
    const hosts: FleetManifestHost[] = [];
    const policies = new PolicyVersions(pool, put);
    const report = await streamFleetReport(pool, { ...o, now, hubFingerprint: o.key.fingerprint }, async (h, summary, index) => {
      documents.add(h, summary, index);
      put(`reports/hosts/${h.id}.json`, reportJsonPieces(h.report));
      put(`reports/hosts/${h.id}.html`, reportHtmlPieces(h.report));
      hosts.push(await hostExtract(pool, h, pack, files));
      await policies.add(h);
    }, "slim");
    for (const [name, pieces] of documents.files(report)) put(`reports/${name}`, pieces);
    put(PUBLIC_KEY_FILE, [publicKeyPem(o.key.publicKey)]);
    const p = report.period;
    const manifest: FleetManifest = {
      format: FLEET_PACK_FORMAT,
      version: FLEET_PACK_VERSION,
      createdAt: report.generatedAt,
      period: { from: p.from, to: p.to, timeZone: p.timeZone ?? "UTC", start: p.start, end: p.end },
      scope: { group: report.scope.group },
      signingKey: { algorithm: "ed25519", fingerprint: o.key.fingerprint },
      hosts,
      policies: policies.listed(),
      policiesNotIncluded: policies.skipped,
      files: files.sort((a, b) => (a.path < b.path ? -1 : 1)),
      says: FLEET_WHAT_IT_PROVES,
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2) + "\n", "utf8");
    put(MANIFEST_FILE, [manifestBytes]);
    put(SIGNATURE_FILE, [`${sign(null, manifestBytes, o.key.privateKey).toString("base64")}\n`]);
    const archive = await pack.archive(new Date(Date.parse(report.generatedAt)));
    return { dir: pack.dir, archive, manifest, manifestSha256: sha256Hex(manifestBytes), report };
  } catch (err) {
    pack.abandon();
    throw err;
  }
}

/** A host's records of the period (the first whose host time is in it to the last), as pushed, and the hub's receive time and chain beside each, written as they are read. */
async function hostExtract(pool: Pool, h: FleetHost, pack: PackDirectory, files: ManifestFile[]): Promise<FleetManifestHost> {
  const dir = hostDir(h.id);
  const prune = await pool.query<{ prune_cut: string | null }>("SELECT prune_cut FROM hub_hosts WHERE id = $1", [h.id]);
  const first = h.chain.first;
  const before = first === null ? null : await chainBefore(pool, h.id, h.chain.epoch, first);
  // both files open at once, each written as the records are read (the archive lists them by name: the chain first)
  const history = pack.file(`${dir}/${HOST_HISTORY}`);
  const chain = pack.file(`${dir}/${HOST_CHAIN}`);
  chain.write(`${JSON.stringify({ before: before?.toString("hex") ?? null, epoch: h.chain.epoch })}\n`);
  let final = before?.toString("hex") ?? "";
  let last: number | null = null;
  let count = 0;
  if (first !== null && h.chain.last !== null) {
    for await (const r of heldRecords(pool, h.id, h.chain.epoch, first, h.chain.last)) {
      history.write(r.line);
      history.write("\n");
      final = r.chain.toString("hex");
      last = r.seq;
      count++;
      chain.write(`${JSON.stringify({ seq: r.seq, receivedAt: r.receivedAt.toISOString(), chain: final })}\n`);
    }
  }
  files.push({ path: `${dir}/${HOST_CHAIN}`, ...chain.end() }, { path: `${dir}/${HOST_HISTORY}`, ...history.end() });
  const cut = prune.rows[0]?.prune_cut;
  return {
    id: h.id,
    name: h.name,
    group: h.group,
    epoch: h.chain.epoch,
    chainStatus: h.chain.status,
    incidents: h.chain.incidents.map((i) => ({ id: i.id, kind: i.kind, seq: i.seq, openedAt: i.openedAt, resolvedAt: i.resolvedAt })),
    extract: { first: count > 0 ? first : null, last, count, before: before?.toString("hex") ?? "", final, prunedTo: cut === null || cut === undefined ? null : Number(cut) },
  };
}

/** Each policy version a host ran in the period, its files as the host pushed them in its `policy` record, written once, as each host is read. */
class PolicyVersions {
  private readonly out = new Map<string, FleetManifest["policies"][number]>();
  readonly skipped: FleetManifest["policiesNotIncluded"] = [];

  constructor(
    private readonly pool: Pool,
    private readonly put: (name: string, pieces: Iterable<string>) => void,
  ) {}

  listed(): FleetManifest["policies"] {
    return [...this.out.values()];
  }

  async add(h: FleetHost): Promise<void> {
    for (const v of h.report.policyVersions) {
      const known = this.out.get(v.hash);
      if (known) {
        if (!known.hosts.includes(h.id)) known.hosts.push(h.id);
        continue;
      }
      if (v.record <= 0) continue;
      const row = await this.pool.query<{ line: string }>("SELECT line FROM hub_records WHERE host_id = $1 AND epoch = $2 AND seq = $3 AND kind = 'policy'", [h.id, h.chain.epoch, v.record]);
      const body = row.rows[0] ? (JSON.parse(row.rows[0].line) as { body?: { hash?: unknown; files?: PolicyFile[] } }).body : undefined;
      if (!body || body.hash !== v.hash || !Array.isArray(body.files)) continue;
      const dir = policyDir(v.hash);
      const names = packNames(dir, body.files);
      if (typeof names === "string") {
        this.skipped.push({ hash: v.hash, host: h.id, why: names });
        continue;
      }
      if (hashPolicy(body.files) !== v.hash) {
        this.skipped.push({ hash: v.hash, host: h.id, why: "its files as pushed do not make the version's hash" });
        continue;
      }
      const listed = body.files.map((f, i) => ({ path: f.path, sha256: sha256Hex(f.text), bytes: Buffer.byteLength(f.text), file: names[i]! }));
      body.files.forEach((f, i) => this.put(`${dir}/${names[i]!}`, [f.text]));
      this.put(`${dir}/policy.json`, [JSON.stringify({ hash: v.hash, record: v.record, host: h.id, files: listed }, null, 2) + "\n"]);
      this.out.set(v.hash, { hash: v.hash, dir, record: v.record, hosts: [h.id] });
    }
  }
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
