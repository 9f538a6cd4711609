// Secrets are read when a channel is about to be used, never when the configuration is loaded:
// a run with nothing to tell opens none. Errors name the variable or the file, never the value.
import type { SecretRef } from "./types.js";
import { readCaFile, readSecretFile } from "./files.js";
import { runningAsRoot } from "../trust/strict-modes.js";

/** A secret that cannot be had; its message names where it was looked for, never what it holds. */
export class SecretError extends Error {
  override readonly name = "SecretError";
  constructor(
    message: string,
    /** what to do about it, when there is something to say */
    readonly fix?: string,
  ) {
    super(fix !== undefined ? `${message}; fix: ${fix}` : message);
  }
}

/**
 * The secret `ref` points at, for `what` ("the SMTP password of channel mail"). A file is read
 * bounded and refused when others can read it (and, as root, when others can change it or a
 * directory on its way); one trailing newline (or several) is not part of the secret.
 */
export function readSecret(ref: SecretRef, what: string, opts: { root?: boolean; env?: NodeJS.ProcessEnv } = {}): string {
  if ("env" in ref) {
    const value = (opts.env ?? process.env)[ref.env];
    if (value === undefined) throw new SecretError(`${what}: the environment variable ${ref.env} is not set`, `set ${ref.env} in the environment Covenant runs in (its systemd unit's EnvironmentFile=, for instance)`);
    if (value === "") throw new SecretError(`${what}: the environment variable ${ref.env} is empty`, `give ${ref.env} the secret's value`);
    return value;
  }
  const read = readSecretFile(ref.file, opts.root ?? runningAsRoot());
  if ("code" in read) throw new SecretError(`${what}: ${read.message}`, read.suggestion);
  const value = read.text.replace(/(\r?\n)+$/, "");
  if (value === "") throw new SecretError(`${what}: the secret file ${ref.file} is empty`, `write the secret into ${ref.file}`);
  return value;
}

/** The PEM text of a channel's `ca_file`, for `what` ("channel mail: ca_file"), read by root's rule (files.ts readCaFile). */
export function readCertificates(path: string, what: string, opts: { root?: boolean } = {}): string {
  const read = readCaFile(path, opts.root ?? runningAsRoot());
  if ("code" in read) throw new SecretError(`${what}: ${read.message}`, read.suggestion);
  return read.text;
}
