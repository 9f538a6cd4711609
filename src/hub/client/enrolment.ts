// What enrolment leaves in the state directory: `hub.json` (the hub's address, the host id it gave,
// the name, the fingerprint of the signing key it registered, when) and `hub-ca.pem` (the only CA
// the host trusts for the hub). Both are written whole, never through a link (a new file renamed
// into place), root's as the state directory is; as root, a copy another user could have written
// is refused (store/trust.ts holds them to the state files' rule), because it decides where the
// host's records go and whom it believes.
import { X509Certificate } from "node:crypto";
import { lstatSync } from "node:fs";
import { join } from "node:path";
import { describeErrno, StoreError } from "../../store/errors.js";
import { readRegularFile, replaceFile } from "../../store/safe-files.js";
import { isHostId } from "../protocol.js";

export const ENROLMENT_FILE = "hub.json";
export const HUB_CA_FILE = "hub-ca.pem";

/** A CA bundle larger than this is not one a hub's `covenant hub init` made. */
export const MAX_CA_BYTES = 256 * 1024;
const MAX_ENROLMENT_BYTES = 16 * 1024;

export interface Enrolment {
  /** the hub's base address (https) */
  url: string;
  /** the host id the hub gave */
  host: string;
  name: string;
  /** the signing key registered, as `ed25519:…` */
  fingerprint: string;
  enrolledAt: string;
  /** the hub's own Ed25519 key (raw, base64) and its fingerprint, when the hub gave it: what signs the policy versions it serves */
  hubKey?: { publicKey: string; fingerprint: string };
}

/** Thrown for an enrolment that cannot be read or written, or a CA that is not one: exit 2. */
export class EnrolmentError extends Error {}

/** Whether the state directory holds an enrolment (whatever its state: a damaged one still counts). */
export function isEnrolled(stateDir: string): boolean {
  try {
    lstatSync(join(stateDir, ENROLMENT_FILE));
    return true;
  } catch {
    return false;
  }
}

/** The enrolment in the state directory, or undefined when the host is not enrolled. */
export function readEnrolment(stateDir: string): { enrolment: Enrolment; ca: string } | undefined {
  const path = join(stateDir, ENROLMENT_FILE);
  const text = readRegularFile(path, "the hub enrolment", MAX_ENROLMENT_BYTES);
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new EnrolmentError(`the hub enrolment ${path} is not JSON: it was not written by Covenant; enroll again (\`covenant enroll --again\`)`);
  }
  const e = v as Partial<Enrolment>;
  if (typeof v !== "object" || v === null || typeof e.url !== "string" || !e.url.startsWith("https://") || !isHostId(e.host) || typeof e.name !== "string" || typeof e.fingerprint !== "string" || typeof e.enrolledAt !== "string") {
    throw new EnrolmentError(`the hub enrolment ${path} does not say a hub's https address, host id, name, key fingerprint and date: it was not written by Covenant; enroll again (\`covenant enroll --again\`)`);
  }
  const caPath = join(stateDir, HUB_CA_FILE);
  const ca = readRegularFile(caPath, "the hub's CA certificate", MAX_CA_BYTES);
  if (ca === undefined) throw new EnrolmentError(`the hub's CA certificate ${caPath} is gone: enroll again (\`covenant enroll --again --ca FILE\`) with the hub's CA`);
  certificateProblem(ca, caPath, true);
  const hubKey = e.hubKey !== undefined && typeof e.hubKey === "object" && e.hubKey !== null && typeof e.hubKey.publicKey === "string" && typeof e.hubKey.fingerprint === "string" ? { hubKey: { publicKey: e.hubKey.publicKey, fingerprint: e.hubKey.fingerprint } } : {};
  return { enrolment: { url: e.url, host: e.host, name: e.name, fingerprint: e.fingerprint, enrolledAt: e.enrolledAt, ...hubKey }, ca };
}

/** Checks that `pem` holds one or more PEM certificates (and nothing private); throws naming `path`. */
export function certificateProblem(pem: string, path: string, stored = false): void {
  if (/PRIVATE KEY-----/.test(pem)) throw new EnrolmentError(`${path} holds a private key: give the hub's CA certificate only (\`covenant hub init\` writes it as ca.pem)`);
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const fix = stored ? "enroll again with the hub's CA" : "give the hub's CA certificate (PEM)";
  if (blocks.length === 0) throw new EnrolmentError(`${path} holds no PEM certificate: ${fix}`);
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch {
      throw new EnrolmentError(`${path} holds a certificate that cannot be read: ${fix}`);
    }
  }
}

/** Writes hub-ca.pem (0644: it is public) then hub.json (0600), each whole, never through a link. */
export function writeEnrolment(stateDir: string, e: Enrolment, ca: string): void {
  const caPath = join(stateDir, HUB_CA_FILE);
  const path = join(stateDir, ENROLMENT_FILE);
  try {
    replaceFile(caPath, ca.endsWith("\n") ? ca : `${ca}\n`, { sync: true, mode: 0o644 });
    // the enrolment last: without it the host is not enrolled, whatever CA file is there
    replaceFile(path, JSON.stringify(e, null, 2) + "\n", { sync: true });
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new EnrolmentError(`cannot write the hub enrolment in ${stateDir}: ${describeErrno(err)}`);
  }
}

/**
 * Records that the hub now knows the host by another signing key: a push signed with the key a
 * rotation put in force, carrying that rotation's record, was taken. Only hub.json is rewritten
 * (whole, never through a link).
 */
export function noteRotatedKey(stateDir: string, e: Enrolment, fingerprint: string): void {
  try {
    replaceFile(join(stateDir, ENROLMENT_FILE), JSON.stringify({ ...e, fingerprint }, null, 2) + "\n", { sync: true });
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new EnrolmentError(`cannot write the hub enrolment in ${stateDir}: ${describeErrno(err)}`);
  }
}
