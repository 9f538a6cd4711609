// What `covenant prune` asks of an evidence pack (docs/evidence.md): that it verifies whole with the
// key given (the signature over its manifest, and every file against the manifest, as `covenant
// evidence verify` checks it), and which records and period it holds: the manifest's
// `extract.first` to `extract.last`, the MAC of its last record (`extract.head.mac`, which must be
// this store's record of that number: a pack of another store is refused by the store), its
// `period`, and the signing key's fingerprint. manifestSha256 is the sha256 of manifest.json's
// bytes, recorded in the checkpoint and the prune record.
import { createPublicKey, type KeyObject } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { PackReadError, readPackInto } from "../evidence/read.js";
import { PackChecker, PackTooLargeError } from "../evidence/verify.js";
import { fingerprintOf, type PruneEvidence } from "../store/store.js";

/** The pack as the store records it: what it holds, the manifest's hash and the signing key's fingerprint. */
export type Coverage = PruneEvidence;

/** A pack that cannot be used to prune: it does not verify, or does not say what it holds. */
export class PackError extends Error {}

/** Checks the pack (a directory or its .tar.gz) with `publicKeyPem` and says what it covers; PackError when it does not verify or holds no records. */
export async function readPackCoverage(packPath: string, publicKeyPem: string): Promise<Coverage> {
  const key = publicKeyOf(publicKeyPem);
  // read as a stream, as `covenant evidence verify` reads it: a year's pack is never held whole
  const checker = new PackChecker(key);
  try {
    await readPackInto(packPath, (name) => checker.file(name));
  } catch (err) {
    if (err instanceof PackReadError || err instanceof PackTooLargeError) throw new PackError(err.message);
    throw err;
  }
  const verdict = checker.verdict();
  if (!verdict.intact || !verdict.manifest || verdict.manifestSha256 === undefined) {
    const first = verdict.problems.slice(0, 3).map((p) => `${p.file}${p.record !== undefined ? ` (record ${p.record})` : ""}: ${p.message}`);
    throw new PackError(`the evidence pack ${packPath} does not verify with the key given (${verdict.problems.length} problem${verdict.problems.length === 1 ? "" : "s"}: ${first.join("; ")}${verdict.problems.length > 3 ? "; …" : ""}); \`covenant evidence verify\` lists them`);
  }
  const m = verdict.manifest;
  const { first, last, head } = m.extract;
  if (!isRecordNumber(first) || !isRecordNumber(last) || !head) throw new PackError(`the evidence pack ${packPath} holds no records: there is nothing it covers`);
  if (!isDate(m.period.from) || !isDate(m.period.to)) throw new PackError(`the evidence pack ${packPath} does not say its period as dates`);
  return { manifestSha256: verdict.manifestSha256, fingerprint: fingerprintOf(key), firstRecord: first, lastRecord: last, from: m.period.from, to: m.period.to, lastMac: head.mac };
}

function publicKeyOf(pem: string): KeyObject {
  // node derives a public key from a private one: a private key given is refused, never used
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new PackError("the key given is a private key: give the public half (`covenant key export`), and keep the private key off any file an auditor is given");
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new PackError("the public key given is not a PEM public key");
  }
  if (key.asymmetricKeyType !== "ed25519") throw new PackError(`the public key given is an ${key.asymmetricKeyType ?? "unknown"} key, not the Ed25519 key a host signs its packs with`);
  return key;
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
