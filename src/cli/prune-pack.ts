// What `covenant prune` asks of an evidence pack: that the host's signing key signed it, and which
// records and period it holds. One function, behind which the evidence module's own verifier will
// stand (it checks every file of the pack too); this one reads the minimal contract below.
//
// PACK is a directory holding `manifest.json` and `manifest.sig`: the base64 Ed25519 signature
// of manifest.json's exact bytes, checked here with node:crypto and the public key given. Read
// from the manifest (the first name found is used; docs/cli.md lists them):
// - the extract's first and last record numbers: `extract.firstRecord` / `extract.lastRecord`,
//   `records.first` / `records.last`, or `firstRecord` / `lastRecord`;
// - the period: `period.from` / `period.to`, or `from` / `to` (dates, YYYY-MM-DD);
// - optionally, the MAC of the extract's last record (hex): `extract.lastMac`, `records.lastMac`
//   or `lastMac`; when given, it must be this store's record of that number (a pack of another
//   store is refused);
// - the signing key's fingerprint: `key.fingerprint`, `signingKey.fingerprint`, `signer.fingerprint`
//   or `fingerprint`. When given it must name the public key given (as the sha256 of its DER
//   form, or of its 32 raw bytes: hex, `sha256:` hex, or `SHA256:` base64 as ssh-keygen writes
//   it); when absent, the key given's own is recorded.
// manifestSha256 is the sha256 of manifest.json's bytes.
import { createHash, createPublicKey, verify, type KeyObject } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import type { PruneEvidence } from "../store/store.js";

/** The pack as the store records it: what it holds, the manifest's hash and the signing key's fingerprint. */
export type Coverage = PruneEvidence;

/** A pack that cannot be used to prune: it does not verify, or does not say what it holds. */
export class PackError extends Error {}

/** The largest manifest read, and the largest signature file. */
const MAX_MANIFEST = 64 * 1024 * 1024;
const MAX_SIGNATURE = 4096;

/** Checks the pack's signature with `publicKeyPem` and says what it covers; PackError when it does not verify or does not say. */
export function readPackCoverage(packDir: string, publicKeyPem: string): Coverage {
  const key = publicKeyOf(publicKeyPem);
  const manifestPath = join(packDir, "manifest.json");
  const manifest = readBytes(manifestPath, "the pack's manifest", MAX_MANIFEST);
  const sigText = readBytes(join(packDir, "manifest.sig"), "the pack's signature", MAX_SIGNATURE).toString("utf8").trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(sigText)) throw new PackError(`the pack's signature ${join(packDir, "manifest.sig")} is not base64`);
  const signature = Buffer.from(sigText, "base64");
  if (signature.length !== 64 || !verify(null, manifest, key, signature)) throw new PackError(`the pack's manifest ${manifestPath} does not verify with the public key given: it was changed after it was signed, or another key signed it`);
  let m: unknown;
  try {
    m = JSON.parse(manifest.toString("utf8"));
  } catch {
    throw new PackError(`the pack's manifest ${manifestPath} is not JSON`);
  }
  if (typeof m !== "object" || m === null) throw new PackError(`the pack's manifest ${manifestPath} is not a JSON object`);
  const o = m as Record<string, unknown>;
  const firstRecord = pick(o, [["extract", "firstRecord"], ["records", "first"], ["firstRecord"]]);
  const lastRecord = pick(o, [["extract", "lastRecord"], ["records", "last"], ["lastRecord"]]);
  const from = pick(o, [["period", "from"], ["from"]]);
  const to = pick(o, [["period", "to"], ["to"]]);
  if (!isRecordNumber(firstRecord) || !isRecordNumber(lastRecord) || lastRecord < firstRecord) throw new PackError(`the pack's manifest ${manifestPath} does not say which records its extract holds (extract.firstRecord and extract.lastRecord)`);
  if (!isDate(from) || !isDate(to)) throw new PackError(`the pack's manifest ${manifestPath} does not give its period (period.from and period.to, YYYY-MM-DD)`);
  const lastMac = pick(o, [["extract", "lastMac"], ["records", "lastMac"], ["lastMac"]]);
  if (lastMac !== undefined && (typeof lastMac !== "string" || !/^[0-9a-f]{64}$/.test(lastMac))) throw new PackError(`the pack's manifest ${manifestPath} gives its last record's MAC in a form that is not 64 hex digits`);
  const coverage: Coverage = { manifestSha256: createHash("sha256").update(manifest).digest("hex"), fingerprint: fingerprintOf(o, key, manifestPath), firstRecord, lastRecord, from, to };
  if (typeof lastMac === "string") coverage.lastMac = lastMac;
  return coverage;
}

function publicKeyOf(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new PackError("the public key given is not a PEM public key");
  }
  if (key.asymmetricKeyType !== "ed25519") throw new PackError(`the public key given is an ${key.asymmetricKeyType ?? "unknown"} key, not the Ed25519 key a host signs its packs with`);
  return key;
}

/** The fingerprint the manifest names, when it names the key given; the key given's own when it names none. */
function fingerprintOf(o: Record<string, unknown>, key: KeyObject, manifestPath: string): string {
  const der = key.export({ type: "spki", format: "der" });
  const own = [der, der.subarray(der.length - 32)].map((bytes) => createHash("sha256").update(bytes).digest());
  const named = pick(o, [["key", "fingerprint"], ["signingKey", "fingerprint"], ["signer", "fingerprint"], ["fingerprint"]]);
  if (named === undefined) return `sha256:${own[0]!.toString("hex")}`;
  if (typeof named !== "string") throw new PackError(`the pack's manifest ${manifestPath} names a signing key fingerprint that is not text`);
  const forms = own.flatMap((d) => [d.toString("hex"), `sha256:${d.toString("hex")}`, `SHA256:${d.toString("base64").replace(/=+$/, "")}`]);
  if (!forms.some((f) => f.toLowerCase() === named.toLowerCase() || f === named)) throw new PackError(`the pack's manifest ${manifestPath} names the signing key ${named.slice(0, 80)}, not the public key given`);
  return named;
}

function pick(o: Record<string, unknown>, paths: string[][]): unknown {
  for (const path of paths) {
    let v: unknown = o;
    for (const part of path) v = typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[part] : undefined;
    if (v !== undefined) return v;
  }
  return undefined;
}

const isRecordNumber = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 1;
const isDate = (v: unknown): v is string => typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v);

/** A regular file's exact bytes, without following a link or blocking on a FIFO; PackError naming it otherwise. */
export function readBytes(path: string, what: string, max: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw new PackError(`${what} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new PackError(`${what} ${path} is not a regular file`);
    if (st.size > max) throw new PackError(`${what} ${path} is ${st.size} bytes, more than the ${max} it can be`);
    // one byte more than its size: a file that grows while it is read is not the one signed
    const buf = Buffer.alloc(st.size + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > st.size) throw new PackError(`${what} ${path} changed while it was read`);
    }
    return buf.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}
