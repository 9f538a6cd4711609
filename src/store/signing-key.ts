// The host's Ed25519 signing key: what signs an evidence pack, so that an auditor holding only the
// public half can check it. Its private half is kept as PKCS#8 PEM in `signing.key` beside
// `host.key` (or COVENANT_SIGNING_KEY_FILE, which may be a link, as the host key's variable may),
// mode 0600, made at first use, whole, never through a link, and refused as root when another user
// could have written or read it (trust.ts keyProblem). It never reaches output, a record or an error.
//
// A rotation (`covenant key rotate`) puts the new key beside the old as `signing.key.next` before
// its record is committed, and renames it over the old one only after: the key in force is always
// the one the history names. A `.next` that no rotation record names was never in force (the
// rotation stopped before its record): it is not used, and the next rotation replaces it.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { realpathSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describeErrno, StoreError } from "./errors.js";
import { createFileExclusively, readRegularFile } from "./safe-files.js";
import { keyProblem } from "./trust.js";

/** A PKCS#8 PEM of an Ed25519 key is about 120 bytes: anything much larger was not written by Covenant. */
const MAX_KEY_BYTES = 4096;

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** `ed25519:` and the first 32 hex digits of the sha256 of the raw 32-byte public key */
  fingerprint: string;
  /** the key in force is still the waiting `.next` of a rotation whose record is committed (`key rotate` finishes it) */
  waiting?: true;
}

/** Where the signing key of the store in `dir` is kept. */
export function signingKeyPath(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  return env["COVENANT_SIGNING_KEY_FILE"] ?? join(dir, "signing.key");
}

/** Whether the signing key is kept elsewhere than the state directory (a secrets mount). */
export function signingKeyKeptElsewhere(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env["COVENANT_SIGNING_KEY_FILE"];
}

/** Where a rotation puts the new key until its record is committed. */
export function pendingKeyPath(path: string): string {
  return `${path}.next`;
}

/** The 32 bytes of an Ed25519 public key. */
export function rawPublicKey(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: "jwk" });
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.x !== "string") throw new StoreError("the key is not an Ed25519 key");
  return Buffer.from(jwk.x, "base64url");
}

/** The fingerprint of a public key, as everything prints it: `ed25519:` + 32 hex digits of sha256(raw key). */
export function fingerprintOf(publicKey: KeyObject): string {
  return `ed25519:${createHash("sha256").update(rawPublicKey(publicKey)).digest("hex").slice(0, 32)}`;
}

/** The public key from its raw 32 bytes (as a rotation record keeps it, base64). */
export function publicKeyFromRaw(raw: Buffer): KeyObject {
  if (raw.length !== 32) throw new StoreError(`an Ed25519 public key is 32 bytes, not ${raw.length}`);
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
}

export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ type: "spki", format: "pem" }).toString();
}

function keyOf(privateKey: KeyObject): SigningKey {
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, fingerprint: fingerprintOf(publicKey) };
}

/**
 * Reads a signing key file; undefined when absent. Its text is never quoted in an error: only its
 * path and what is wrong with it. As root, the file opened is judged on its own descriptor.
 */
export function readSigningKey(path: string, elsewhere = signingKeyKeptElsewhere() !== undefined): SigningKey | undefined {
  let target = path;
  if (elsewhere) {
    try {
      target = realpathSync(path);
    } catch {
      // missing: said below
    }
  }
  const text = readRegularFile(target, "the signing key", MAX_KEY_BYTES, (st) => keyProblem(`the signing key ${path}`, target, st, "sign evidence packs in the host's name"));
  if (text === undefined) return undefined;
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: text, format: "pem" });
  } catch {
    throw new StoreError(`the signing key ${path} is not a PEM private key: it was not written by Covenant; move it aside and keep it as evidence (a new key is made at first use, and auditors must be told its fingerprint)`);
  }
  if (privateKey.asymmetricKeyType !== "ed25519") throw new StoreError(`the signing key ${path} is not an Ed25519 key (${privateKey.asymmetricKeyType ?? "unknown type"}): it was not written by Covenant; move it aside and keep it as evidence`);
  return keyOf(privateKey);
}

/** A new key pair (not yet stored). */
export function generateSigningKey(): SigningKey {
  return keyOf(generateKeyPairSync("ed25519").privateKey);
}

/** Puts `key` at `path`, whole and exclusively: a file already there is someone else's and is neither used nor replaced. */
export function storeSigningKey(path: string, key: SigningKey): void {
  const pem = key.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  let made: boolean;
  try {
    made = createFileExclusively(path, pem, { sync: true });
  } catch (err) {
    throw new StoreError(`cannot create the signing key ${path}: ${describeErrno(err)}`);
  }
  if (!made) throw new StoreError(`cannot create the signing key ${path}: a file appeared there while Covenant was making it, so someone else made it; it is not used. Move it aside and keep it as evidence, then try again`);
}

/**
 * The key in force: the pending key when the history's last rotation names it (the rotation was
 * committed, the rename had not happened), else the key at `path`, made now when there is none
 * and `create` allows it. `lastRotatedTo` is the fingerprint of the last rotation's new key.
 */
export function signingKeyInForce(path: string, lastRotatedTo: string | undefined, create: boolean): SigningKey | undefined {
  const pending = readSigningKey(pendingKeyPath(path));
  if (pending && pending.fingerprint === lastRotatedTo) return { ...pending, waiting: true };
  const current = readSigningKey(path);
  if (current) {
    if (lastRotatedTo !== undefined && current.fingerprint !== lastRotatedTo) throw new StoreError(`the signing key ${path} (${current.fingerprint}) is not the one the history's last rotation put in force (${lastRotatedTo}): it was replaced outside Covenant; restore the key from its backup`);
    return current;
  }
  if (lastRotatedTo !== undefined) throw new StoreError(`the signing key ${path} is gone, but the history's last rotation put ${lastRotatedTo} in force: restore it from its backup, or rotate to a new key (\`covenant key rotate\`) and tell auditors its fingerprint`);
  if (!create) return undefined;
  const made = generateSigningKey();
  storeSigningKey(path, made);
  return made;
}

/** Ends a rotation whose record is committed: the pending key takes the old one's place (the old private key is gone). */
export function promotePendingKey(path: string): void {
  try {
    renameSync(pendingKeyPath(path), path);
  } catch (err) {
    throw new StoreError(`the rotation is recorded, but the new signing key could not be put in place of the old (${describeErrno(err)}): run \`covenant key rotate\` again to finish it`);
  }
}

/** Removes a pending key no record names (a rotation that stopped before its record): it was never in force. */
export function discardPendingKey(path: string): void {
  try {
    rmSync(pendingKeyPath(path), { force: true });
  } catch (err) {
    throw new StoreError(`cannot remove the unfinished rotation's key ${pendingKeyPath(path)}: ${describeErrno(err)}`);
  }
}
