// A private CA and the hub's certificate, for a first installation (`covenant hub init`), and a
// further certificate from the same CA for another hub process or host. ECDSA P-256 keys and
// SHA-256 signatures, made with Node's WebCrypto through @peculiar/x509; keys are written as
// PKCS#8 PEM, 0600, never over a file that exists (tls-files.ts). Only `hub init` loads this
// module (and the x509 library with it): the server and the hosts read certificates with Node's
// own X509Certificate (tls.ts).
import "reflect-metadata"; // @peculiar/x509's dependency injection needs it first
import * as x509 from "@peculiar/x509";
import cryptoModule, { createPrivateKey, createPublicKey, randomBytes, X509Certificate, type webcrypto } from "node:crypto";
import { join } from "node:path";
import { certificatesIn, certificateSummary, type CertificateSummary } from "./tls.js";
import { HubTlsError, prepareTlsDirectory, readTlsFile, writeTlsFiles } from "./tls-files.js";
import { hubNames, type HubNames } from "./tls-names.js";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

// read from the module, not imported by name: an accessor (scripts/bundle-options.mjs)
const crypto = cryptoModule.webcrypto;
x509.cryptoProvider.set(crypto);

const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" };

/** The CA's lifetime: long, since replacing it means giving every host a new ca.pem. */
export const CA_DAYS = 3650;
/** The hub certificate's lifetime unless asked otherwise. */
export const DEFAULT_HUB_DAYS = 825;
/** Certificates start this much before they are made: a host whose clock is a little behind still accepts them. */
const BACKDATE_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

export const CA_FILES = { key: "ca.key", cert: "ca.pem" } as const;
export const HUB_FILES = { key: "hub.key", cert: "hub.pem" } as const;

export interface MadeFile {
  path: string;
  summary: CertificateSummary;
}

export interface HubCertificateMade {
  dir: string;
  key: string;
  cert: MadeFile;
}

export interface HubCaMade extends HubCertificateMade {
  caKey: string;
  caCert: MadeFile;
}

/** A whole number of days from 1 to the CA's lifetime, or the reason it is not. */
export function daysProblem(days: number): string | undefined {
  return Number.isSafeInteger(days) && days >= 1 && days <= CA_DAYS ? undefined : `the days must be a whole number from 1 to ${CA_DAYS}, got ${days}`;
}

/**
 * Makes the CA (ca.key, ca.pem) and the hub's certificate signed by it (hub.key, hub.pem) in
 * `dir`. Nothing is written when any of the four exists already.
 */
export async function makeHubCa(opts: { dir: string; names: readonly string[]; days: number; now?: Date }): Promise<HubCaMade> {
  const names = hubNames(opts.names);
  const problem = daysProblem(opts.days);
  if (problem) throw new HubTlsError(problem);
  const dir = prepareTlsDirectory(opts.dir);
  const now = opts.now ?? new Date();
  const caKeys = await newKeyPair();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: [{ CN: [`Covenant hub CA ${randomBytes(4).toString("hex")}`] }, { O: ["Covenant"] }],
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + CA_DAYS * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    keys: caKeys,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true), await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey)],
  });
  const hub = await signHubCertificate(caCert, caKeys.privateKey, names, opts.days, now);
  const caPem = caCert.toString("pem");
  writeTlsFiles(dir, [
    { name: CA_FILES.key, content: await privateKeyPem(caKeys.privateKey), mode: 0o600 },
    { name: CA_FILES.cert, content: `${caPem}\n`, mode: 0o644 },
    { name: HUB_FILES.key, content: hub.key, mode: 0o600 },
    { name: HUB_FILES.cert, content: hub.cert, mode: 0o644 },
  ]);
  return {
    dir,
    caKey: join(dir, CA_FILES.key),
    caCert: { path: join(dir, CA_FILES.cert), summary: certificateSummary(caPem) },
    key: join(dir, HUB_FILES.key),
    cert: { path: join(dir, HUB_FILES.cert), summary: certificateSummary(hub.cert) },
  };
}

/**
 * A new key and certificate for a hub (hub.key, hub.pem in `outDir`) from the CA `makeHubCa` made
 * in `caDir`: for another hub process or host behind the same name, or a certificate renewed.
 * Hosts need nothing new: they trust the CA.
 */
export async function issueHubCertificate(caDir: string, names: readonly string[], outDir: string, days = DEFAULT_HUB_DAYS, now = new Date()): Promise<HubCertificateMade> {
  const valid = hubNames(names);
  const problem = daysProblem(days);
  if (problem) throw new HubTlsError(problem);
  const keyPath = join(caDir, CA_FILES.key);
  const certPath = join(caDir, CA_FILES.cert);
  const caKeyPem = readTlsFile(keyPath, "key");
  const caCertPem = readTlsFile(certPath, "certificate");
  const caCert = caCertificate(caCertPem, certPath);
  const signingKey = await importCaKey(caKeyPem, keyPath);
  if (!sameKey(caKeyPem, caCertPem)) throw new HubTlsError(`${keyPath}: is not the key of ${certPath}`);
  if (caCert.notAfter.getTime() < now.getTime() + days * DAY_MS) throw new HubTlsError(`${certPath}: the CA expires on ${caCert.notAfter.toISOString()}, before a certificate of ${days} days would: ask for fewer days, or make a new CA`);
  const dir = prepareTlsDirectory(outDir);
  const hub = await signHubCertificate(caCert, signingKey, valid, days, now);
  writeTlsFiles(dir, [
    { name: HUB_FILES.key, content: hub.key, mode: 0o600 },
    { name: HUB_FILES.cert, content: hub.cert, mode: 0o644 },
  ]);
  return { dir, key: join(dir, HUB_FILES.key), cert: { path: join(dir, HUB_FILES.cert), summary: certificateSummary(hub.cert) } };
}

/** A hub's key and its certificate: the names as SANs, for TLS servers only, not a CA. */
async function signHubCertificate(ca: x509.X509Certificate, caKey: CryptoKey, names: HubNames, days: number, now: Date): Promise<{ key: string; cert: string }> {
  const keys = await newKeyPair();
  const first = names.dns[0] ?? names.ip[0]!;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: [{ CN: [first] }, { O: ["Covenant hub"] }],
    issuer: ca.subjectName,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + days * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...names.dns.map((value) => ({ type: "dns" as const, value })), ...names.ip.map((value) => ({ type: "ip" as const, value }))]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
    ],
  });
  return { key: await privateKeyPem(keys.privateKey), cert: `${cert.toString("pem")}\n` };
}

function newKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return `${x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY")}\n`;
}

/** A positive 127-bit serial number: unique without a register of those issued. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString("hex");
}

/** Whether the private key in `keyPem` is the one whose public half `certPem` certifies. */
function sameKey(keyPem: Buffer, certPem: Buffer): boolean {
  try {
    const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: "spki", format: "der" });
    const fromCert = new X509Certificate(certPem).publicKey.export({ type: "spki", format: "der" });
    return fromKey.equals(fromCert);
  } catch {
    return false;
  }
}

function caCertificate(pem: Buffer, path: string): x509.X509Certificate {
  const cert = certificatesIn(pem, path)[0]!;
  if (!cert.ca) throw new HubTlsError(`${path}: is not a CA certificate`);
  return new x509.X509Certificate(cert.raw);
}

async function importCaKey(pem: Buffer, path: string): Promise<CryptoKey> {
  try {
    const der = createPrivateKey(pem).export({ type: "pkcs8", format: "der" });
    return await crypto.subtle.importKey("pkcs8", der, KEY_ALGORITHM, false, ["sign"]);
  } catch {
    throw new HubTlsError(`${path}: is not an ECDSA P-256 private key (PKCS#8 PEM) as \`covenant hub init\` makes`);
  }
}
