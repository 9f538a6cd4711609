// `covenant key export` prints the public half of the host's signing key (made at first use), and
// `covenant key rotate` replaces the signing key with a rotation record, signed by the old key and
// the new, in the history, or (--host) the host key of the history's chain. The private half (and
// any host key) never reaches output, a record or an error: host keys are named by their ids.
import { constants, openSync, closeSync, writeSync } from "node:fs";
import { fingerprintOf, publicKeyPem, StoreError } from "../../store/store.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { withStoreForReading, withStoreForWriting } from "../store-access.js";
import { loginUid, operatingSystemUser } from "./deficiencies.js";

export interface KeyExportOptions {
  state?: string;
  out?: string;
}

/** Writes a new file, never through a link nor over one that exists (a public key, so readable by all). */
function writeNewFile(path: string, text: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    const bytes = Buffer.from(text, "utf8");
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
  } finally {
    closeSync(fd);
  }
}

export function runKeyExport(opts: KeyExportOptions, io: Io): number {
  return withStoreForReading(opts.state, io, "key export", (store) => {
    const key = store.signingKey(true)!;
    const pem = publicKeyPem(key.publicKey);
    if (opts.out !== undefined) {
      try {
        writeNewFile(opts.out, pem);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? "unwritable";
        io.err(`covenant key export: cannot write ${escapeText(opts.out)}: ${code}${code === "EEXIST" ? " (it exists: a key file is never overwritten; remove it or choose another --out)" : ""}`);
        return EXIT.policyError;
      }
      io.out(`wrote the public signing key ${key.fingerprint} to ${escapeText(opts.out)}`);
    } else io.out(pem.replace(/\n$/, ""));
    io.err(`signing key fingerprint: ${key.fingerprint} (give it to auditors by another channel than the packs it checks)`);
    if (key.waiting) io.err("note: the last rotation is recorded but did not finish (the new key still waits beside the old one); `covenant key rotate` finishes it");
    return EXIT.ok;
  });
}

export interface KeyRotateOptions {
  state?: string;
  reason?: string;
  by?: string;
  host: boolean;
  json: boolean;
  /** the instant recorded (tests) */
  now?: Date;
}

const MAX_REASON = 1000;
const MAX_BY = 100;

export async function runKeyRotate(opts: KeyRotateOptions, io: Io): Promise<number> {
  const reason = (opts.reason ?? "").trim();
  const by = opts.by?.trim();
  if (reason.length > MAX_REASON || (by !== undefined && by.length > MAX_BY)) {
    io.err(`covenant key rotate: ${reason.length > MAX_REASON ? `--reason is ${reason.length} characters; at most ${MAX_REASON}` : `--by is ${by!.length} characters; at most ${MAX_BY}`}`);
    return EXIT.policyError;
  }
  if (opts.host) return rotateHostKey(opts, reason, by, io);
  return withStoreForWriting(opts.state, io, "key rotate", (store) => {
    const user = operatingSystemUser();
    let done: ReturnType<typeof store.rotateSigningKey>;
    try {
      done = store.rotateSigningKey({ at: (opts.now ?? new Date()).toISOString(), reason, by: by || user, user, loginUid: loginUid() });
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      io.err(`covenant key rotate: ${escapeText(err.message)}`);
      return EXIT.policyError;
    }
    if ("finished" in done) {
      const fp = fingerprintOf(done.finished.publicKey);
      if (opts.json) io.out(JSON.stringify({ finished: true, fingerprint: fp }, null, 2));
      else io.out(`finished the rotation already recorded: the signing key is now ${fp} (the old private key is removed); run \`covenant key rotate\` again to rotate once more`);
      return EXIT.ok;
    }
    if (opts.json) io.out(JSON.stringify({ record: done.record, old: done.old.fingerprint, new: done.new.fingerprint }, null, 2));
    else {
      io.out(`rotated the signing key: ${done.old.fingerprint} → ${done.new.fingerprint} (history record ${done.record}, signed by both keys); the old private key is removed`);
      io.out("tell auditors the new fingerprint by another channel; `covenant key export` prints the new public key");
    }
    return EXIT.ok;
  });
}

/**
 * `--host`: the host key replaced (store.rotateHostKey): only the keys' ids are printed, never a
 * key. A rotation stopped part way was finished when the store was opened.
 */
function rotateHostKey(opts: KeyRotateOptions, reason: string, by: string | undefined, io: Io): Promise<number> {
  return withStoreForWriting(opts.state, io, "key rotate", (store) => {
    const user = operatingSystemUser();
    let done: ReturnType<typeof store.rotateHostKey>;
    try {
      done = store.rotateHostKey({ at: (opts.now ?? new Date()).toISOString(), reason, by: by || user, user, loginUid: loginUid() });
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      io.err(`covenant key rotate: ${escapeText(err.message)}`);
      return EXIT.policyError;
    }
    if (opts.json) io.out(JSON.stringify({ key: "host", ...(done.finished ? { finished: true } : {}), record: done.record, old: done.old, new: done.new }, null, 2));
    else if (done.finished) io.out(`finished the rotation of the host key already recorded (history record ${done.record}): the host key is now ${done.new}, the old one kept in host.key.retired; run \`covenant key rotate --host\` again to rotate once more`);
    else {
      io.out(`rotated the host key: ${done.old} → ${done.new} (history record ${done.record}, MAC'd with the old key and accepted by the new); every record after it is MAC'd with the new key`);
      io.out("the old key is kept in host.key.retired (verify needs it for the records before): back up host.key and host.key.retired together, as root");
    }
    return EXIT.ok;
  });
}
