// The keys the state store's history names and replaces: the signing key (rotation.ts,
// signing-key.ts) and the host key (host-rotation.ts), each rotation one record outside a run.
import { join } from "node:path";
import { runCounter } from "./anchors.js";
import { checkpoint } from "./database.js";
import { hostKeyId } from "./deficiencies.js";
import { StoreError } from "./errors.js";
import { hostKeyPath, keyKeptElsewhere } from "./host-key.js";
import { discardPendingHostKey, finishHostRotation, handOver, hostRotationBody, newHostKey, storePendingHostKey } from "./host-rotation.js";
import { guarded } from "./opening.js";
import type { RotationBody } from "./records.js";
import { lastRotatedTo, rotateSigningKey, type RotationDone, type Rotator } from "./rotation.js";
import { signingKeyInForce, signingKeyPath, type SigningKey } from "./signing-key.js";
import type { StoreCore } from "./store-core.js";
import { verifyHistory } from "./store-reads.js";

/** The fingerprints of every signing key the history names: each rotation's old and new key (none before the first rotation). */
export function signingKeysNamed(s: StoreCore): Set<string> {
  const rows = s.read(() => s.db.prepare("SELECT body FROM ledger WHERE kind = 'rotation' ORDER BY seq").pluck().all() as string[]);
  const out = new Set<string>();
  for (const body of rows) {
    try {
      const b = JSON.parse(body) as Partial<RotationBody>;
      for (const fp of [b.old?.fingerprint, b.new?.fingerprint]) if (typeof fp === "string") out.add(fp);
    } catch {
      // verify judges a rotation record that is not JSON
    }
  }
  return out;
}

/** The fingerprint the history's last rotation of the signing key put in force. */
function lastSigningKey(s: StoreCore): string | undefined {
  // every rotation record (a handful): the last may be the host key's, which lastRotatedTo passes over
  const rows = s.read(() => s.db.prepare("SELECT kind, body FROM ledger WHERE kind = 'rotation' ORDER BY seq").all() as { kind: string; body: string }[]);
  return lastRotatedTo(rows);
}

/**
 * The signing key in force (signing-key.ts): made now when there is none and `create` allows
 * (it is made beside this store's host key, or at COVENANT_SIGNING_KEY_FILE).
 */
export function signingKeyOf(s: StoreCore, create: boolean): SigningKey | undefined {
  return signingKeyInForce(signingKeyPath(s.dir), lastSigningKey(s), create);
}

/**
 * Replaces the signing key (rotation.ts rotateSigningKey): its record is committed outside a
 * run, as an acknowledgement is, the head anchor moved and the store checkpointed.
 */
export function rotateSigning(s: StoreCore, who: Rotator): RotationDone {
  const run = s.recordRun;
  return rotateSigningKey(signingKeyPath(s.dir), lastSigningKey(s), who, (body) => s.anchored("the rotation of the signing key", () => s.db.transaction(() => s.append("rotation", run, who.at, body)).immediate()).seq);
}

/**
 * Replaces the host key (host-rotation.ts), outside a run, under the run lock, in a store that
 * verifies intact (rotating a tampered store would vouch for it under the new key). Afterwards
 * this store writes nothing more (its parts hold the retired key): the caller closes it. When
 * opening this store finished a rotation already recorded, that one is returned (`finished`).
 */
export function rotateHost(s: StoreCore, who: Rotator): { record: number; old: string; new: string; finished?: true } {
  // as `key rotate` does for the signing key: a rotation stopped after its record is finished, not followed by another
  if (s.finishedHostRotation) return { ...s.finishedHostRotation, finished: true };
  const kept = keyKeptElsewhere();
  if (kept !== undefined) throw new StoreError(`the host key is kept elsewhere (COVENANT_HOST_KEY_FILE=${kept}): Covenant does not replace a key it does not keep. To rotate it, copy it to ${join(s.dir, "host.key")} (install -o root -m 0600), unset COVENANT_HOST_KEY_FILE, rotate, then move the new host.key back to where the variable points (docs/cli.md)`);
  const keyPath = hostKeyPath(s.dir);
  // a host.key.next no record names is a rotation stopped before its record: it was never in force
  discardPendingHostKey(keyPath);
  const verified = verifyHistory(s);
  if (verified.tampering) throw new StoreError(`the history in ${s.dir} does not verify (${verified.tampering.message}): the host key is not rotated (the new key would vouch for what was tampered with); \`covenant verify\` reports it`);
  const old = s.key;
  const next = newHostKey();
  storePendingHostKey(keyPath, next);
  let written: { seq: number; mac: Buffer };
  try {
    written = guarded(s.dir, `cannot record the rotation of the host key in the store ${s.dbPath}`, () => s.db.transaction(() => writeHostRotation(s, verified.head, old, next, who)).immediate());
  } catch (err) {
    discardPendingHostKey(keyPath);
    throw err;
  }
  finishHostRotation(s.dir, keyPath, written.seq, old, next, () => s.writeFileHead(written.seq, written.mac, runCounter(s.db), next));
  guarded(s.dir, `cannot checkpoint the store ${s.dbPath}`, () => checkpoint(s.db));
  return { record: written.seq, old: hostKeyId(old), new: hostKeyId(next) };
}

/** The rotation's transaction: its record MAC'd with the old key, the tables, the database's anchor and the schedule under the new. */
function writeHostRotation(s: StoreCore, head: { seq: number; mac: string } | undefined, old: Buffer, next: Buffer, who: Rotator): { seq: number; mac: Buffer } {
  const end = s.w.last.get() as { seq: number; mac: Buffer } | undefined;
  if (end?.seq !== head?.seq || end?.mac.toString("hex") !== head?.mac) throw new StoreError(`the history in ${s.dir} changed while it was verified: the host key is not rotated; try again`);
  const written = s.append("rotation", s.recordRun, who.at, hostRotationBody(old, next, who));
  // every sealed row is sealed again under the new key: none kept from a prefetch stands
  s.reads = undefined;
  handOver(s.db, s.keys, written, next);
  return written;
}
