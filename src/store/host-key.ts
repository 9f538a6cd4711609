// The host secret that keys the history's chain: COVENANT_HOST_KEY_FILE, or `host.key` in the
// state directory. It is created only with a new store: a store whose key has gone cannot be
// verified, and silently starting a new key would hide that. It never appears in output, and a
// key that is not random (all zeros, a short repeated pattern: one someone planted) is refused.
import { realpathSync } from "node:fs";
import { join } from "node:path";
import { describeErrno, StoreError } from "./errors.js";
import { createFileExclusively, readRegularFile } from "./safe-files.js";
import { keyProblem } from "./trust.js";

/** Where the key of the store in `dir` is kept. */
export function hostKeyPath(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  return env["COVENANT_HOST_KEY_FILE"] ?? join(dir, "host.key");
}

/** Whether the key is kept elsewhere than the state directory (a secrets mount). */
export function keyKeptElsewhere(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env["COVENANT_HOST_KEY_FILE"];
}

/** Why these 32 bytes cannot have come from a random source, or undefined. */
export function weakness(key: Buffer): string | undefined {
  const distinct = new Set(key).size;
  if (distinct === 1) return `all its bytes are 0x${key[0]!.toString(16).padStart(2, "0")}`;
  // 32 random bytes have about 30 distinct values; 16 or fewer happens by chance with a
  // probability far below 1 in 10^20
  if (distinct <= 16) return `it has only ${distinct} distinct bytes (a repeated pattern)`;
  const step = (key[1]! - key[0]! + 256) % 256;
  if (key.every((b, i) => i === 0 || (b - key[i - 1]! + 256) % 256 === step)) return "its bytes count up or down in equal steps";
  return undefined;
}

/**
 * Reads and checks the key; a missing, unreadable, malformed or weak key is a StoreError. A key
 * kept elsewhere may be a link (secrets mounts make them): what it names is read; a link in the
 * state directory is refused. As root, the file opened is judged on its own descriptor (owner,
 * mode, links), so nothing swapped in after the state's checks is read.
 */
export function readHostKey(path: string, elsewhere = keyKeptElsewhere() !== undefined): Buffer {
  let target = path;
  if (elsewhere) {
    try {
      target = realpathSync(path);
    } catch {
      // missing: said below
    }
  }
  const text = readRegularFile(target, "the host key", 4096, (st) => keyProblem(`the host key ${path}`, target, st));
  if (text === undefined) throw new StoreError(`the host key ${path} cannot be read (ENOENT): without it the history cannot be verified or continued; restore it from its backup`);
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new StoreError(`the host key ${path} is not 64 hexadecimal digits (it holds ${Buffer.byteLength(text)} bytes): it was not written by Covenant; restore it from its backup`);
  const key = Buffer.from(hex, "hex");
  const weak = weakness(key);
  if (weak) throw new StoreError(`the host key ${path} is not a random key (${weak}): anyone could forge the history with it; it was not made by Covenant. Restore it from its backup, or move the state directory aside to start a new history with a new key`);
  return key;
}

/**
 * Puts a new key at `path`, whole: written under a random name, then linked into place. A file
 * already at `path` is someone else's (the store's checks found none there): it is neither used
 * nor replaced, and the run stops.
 */
export function createHostKey(path: string, key: Buffer): void {
  let made: boolean;
  try {
    made = createFileExclusively(path, key.toString("hex") + "\n", { sync: true });
  } catch (err) {
    throw new StoreError(`cannot create the host key ${path}: ${describeErrno(err)}`);
  }
  if (!made) throw new StoreError(`cannot create the host key ${path}: a file appeared there while Covenant was making it, so someone else made it; it is not used. Move it aside and keep it as evidence, then run again`);
}
