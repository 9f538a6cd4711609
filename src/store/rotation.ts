// The rotation of the signing key: one canonical statement of what was rotated, to what, when, by
// whom and why, signed by the old key (it hands over) and by the new (it accepts); the order of
// its steps, which makes a crash at any point safe; and `verify`'s check that every rotation's
// signatures hold and that rotations chain (each one's old key is the previous one's new key).
import { sign, verify, type KeyObject } from "node:crypto";
import type { Tampering } from "./ledger.js";
import { FirstProblem, type RecordView } from "./row-check.js";
import type { RotatedKey, RotationBody } from "./records.js";
import { StoreError } from "./errors.js";
import { discardPendingKey, fingerprintOf, generateSigningKey, pendingKeyPath, promotePendingKey, publicKeyFromRaw, rawPublicKey, readSigningKey, signingKeyInForce, storeSigningKey, type SigningKey } from "./signing-key.js";

/** The label that starts every rotation statement: a signature over it can mean nothing else. */
const STATEMENT_LABEL = "covenant key rotation v1";

/**
 * The statement both keys sign: one field a line, each value as JSON (so a newline in a reason
 * cannot forge another field), in a fixed order.
 */
export function rotationStatement(b: Omit<RotationBody, "signatures">): Buffer {
  const fields: [string, unknown][] = [
    ["key", b.key],
    ["at", b.at],
    ["old", [b.old.fingerprint, b.old.publicKey]],
    ["new", [b.new.fingerprint, b.new.publicKey]],
    ["reason", b.reason],
    ["by", b.by],
    ["user", b.user],
    ["loginUid", b.loginUid],
  ];
  return Buffer.from(`${STATEMENT_LABEL}\n${fields.map(([k, v]) => `${k} ${JSON.stringify(v)}`).join("\n")}\n`, "utf8");
}

export function rotatedKey(publicKey: KeyObject): RotatedKey {
  return { publicKey: rawPublicKey(publicKey).toString("base64"), fingerprint: fingerprintOf(publicKey) };
}

/** Who rotates, when and why, as the record keeps it. */
export interface Rotator {
  at: string;
  reason: string;
  by: string;
  user: string;
  loginUid: number | null;
}

/** A rotation done (its record's number, the old and the new key), or an unfinished one finished. */
export type RotationDone = { finished: SigningKey } | { record: number; old: SigningKey; new: SigningKey };

/** The rotation record's body from `old` to `next`, signed by both. */
export function signedRotation(old: SigningKey, next: SigningKey, who: Rotator): RotationBody {
  const unsigned: Omit<RotationBody, "signatures"> = { key: "signing", at: who.at, old: rotatedKey(old.publicKey), new: rotatedKey(next.publicKey), reason: who.reason, by: who.by, user: who.user, loginUid: who.loginUid };
  const statement = rotationStatement(unsigned);
  return { ...unsigned, signatures: { old: sign(null, statement, old.privateKey).toString("base64"), new: sign(null, statement, next.privateKey).toString("base64") } };
}

/**
 * Replaces the signing key at `path`: the new key is stored, exclusively, as `<path>.next`; then
 * `commit` writes the rotation record (signed by both keys) and returns its number; only then does
 * the new key take the old one's name, removing the old private key. A rotation that stopped part
 * way is finished (its record committed: the waiting key is put in place) or started again (no
 * record names the waiting key: it was never in force, and is replaced). `inForce` is the
 * fingerprint the history's last rotation put in force.
 */
export function rotateSigningKey(path: string, inForce: string | undefined, who: Rotator, commit: (body: RotationBody) => number): RotationDone {
  const pending = readSigningKey(pendingKeyPath(path));
  if (pending && pending.fingerprint === inForce) {
    promotePendingKey(path);
    return { finished: pending };
  }
  if (pending) discardPendingKey(path);
  const old = signingKeyInForce(path, inForce, false);
  if (!old) throw new StoreError(`there is no signing key to rotate at ${path} yet: \`covenant key export\` makes the first one`);
  const next = generateSigningKey();
  storeSigningKey(pendingKeyPath(path), next);
  const record = commit(signedRotation(old, next, who));
  promotePendingKey(path);
  return { record, old, new: next };
}

/** Why a rotation body does not hold (a key or signature that fails), or undefined when it holds. */
export function rotationProblem(body: unknown): string | undefined {
  const b = body as Partial<RotationBody> | undefined;
  if (typeof b !== "object" || b === null || b.key !== "signing" || typeof b.at !== "string" || !isKey(b.old) || !isKey(b.new) || typeof b.reason !== "string" || typeof b.by !== "string" || typeof b.user !== "string" || !(b.loginUid === null || typeof b.loginUid === "number")) return "it is not a rotation record Covenant writes";
  if (typeof b.signatures !== "object" || b.signatures === null || typeof b.signatures.old !== "string" || typeof b.signatures.new !== "string") return "it carries no signatures";
  const statement = rotationStatement(b as RotationBody);
  for (const which of ["old", "new"] as const) {
    let key: KeyObject;
    try {
      key = publicKeyFromRaw(Buffer.from(b[which]!.publicKey, "base64"));
    } catch {
      return `its ${which} public key is not an Ed25519 key`;
    }
    if (fingerprintOf(key) !== b[which]!.fingerprint) return `its ${which} key's fingerprint is not that key's`;
    let good = false;
    try {
      good = verify(null, statement, key, Buffer.from(b.signatures[which], "base64"));
    } catch {
      good = false;
    }
    if (!good) return `the ${which} key's signature (${b[which]!.fingerprint}) does not verify over the rotation's statement`;
  }
  return undefined;
}

function isKey(k: unknown): k is RotatedKey {
  return typeof k === "object" && k !== null && typeof (k as RotatedKey).publicKey === "string" && typeof (k as RotatedKey).fingerprint === "string";
}

/** Every rotation record's signatures, and the chain of rotations: each hands over from the key the one before put in force. */
export class RotationCheck extends FirstProblem {
  private inForce: string | undefined;

  protected check(v: RecordView): Tampering | undefined {
    const r = v.row;
    if (r.kind !== "rotation") return undefined;
    const body = v.json();
    if (body === undefined) return { kind: "altered", seq: r.seq, message: `rotation record ${r.seq} is not valid JSON` };
    // the host key's rotations are checked with the key schedule (host-rotation.ts)
    if ((body as { key?: unknown } | null)?.key === "host") return undefined;
    const problem = rotationProblem(body);
    if (problem) return { kind: "altered", seq: r.seq, message: `rotation record ${r.seq} does not hold: ${problem}` };
    const b = body as RotationBody;
    if (this.inForce !== undefined && b.old.fingerprint !== this.inForce) return { kind: "altered", seq: r.seq, message: `rotation record ${r.seq} hands over from ${b.old.fingerprint}, but the rotation before it put ${this.inForce} in force: the rotations do not chain` };
    this.inForce = b.new.fingerprint;
    return undefined;
  }
}

/** The fingerprint the history's last rotation of the signing key put in force, or undefined when it holds none. */
export function lastRotatedTo(rows: readonly { kind: string; body: string }[]): string | undefined {
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i]!;
    if (r.kind !== "rotation") continue;
    try {
      const b = JSON.parse(r.body) as Partial<RotationBody> | { key?: unknown } | null;
      if (b?.key === "host") continue; // the host key's rotation: not the signing key's
      const fp = (b as Partial<RotationBody> | null)?.new?.fingerprint;
      return typeof fp === "string" ? fp : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
