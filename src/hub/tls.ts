// The TLS pieces the hub's server and its clients use: the server's key and certificates read as
// root reads keys (tls-files.ts), an HTTPS agent for hosts that trusts only the hub's own CA, and
// a certificate's summary for printing. Node's own X509Certificate reads certificates here, so the
// server and `covenant enroll` never load the x509 library that makes them (tls-ca.ts).
import { X509Certificate } from "node:crypto";
import { Agent } from "node:https";
import { checkServerIdentity } from "node:tls";
import { HubTlsError, readTlsFile } from "./tls-files.js";

export { HubTlsError } from "./tls-files.js";

/** Where the hub's configuration says its TLS files are. */
export interface ServerTlsConfig {
  cert: string;
  key: string;
  /** CA certificates to send after the hub's own (a chain), optional */
  ca?: string;
}

export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/**
 * The server's certificate, key and optional CA, each read safely (a key others can read is
 * refused as root) and checked to be what it says: a PEM certificate, a PEM private key. Errors
 * are HubTlsError, `file: reason`.
 */
export function loadServerTls(config: ServerTlsConfig): ServerTls {
  const cert = readTlsFile(config.cert, "certificate");
  certificatesIn(cert, config.cert);
  const key = readTlsFile(config.key, "key");
  if (!/-----BEGIN (EC |RSA )?PRIVATE KEY-----/.test(key.toString("latin1"))) throw new HubTlsError(`${config.key}: is not a PEM private key`);
  if (config.ca === undefined) return { cert, key };
  const ca = readTlsFile(config.ca, "certificate");
  certificatesIn(ca, config.ca);
  return { cert, key, ca };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

/** Each certificate of a PEM file, parsed; `file` names it in errors. */
export function certificatesIn(pem: Buffer | string, file = "the certificate"): X509Certificate[] {
  const blocks = pem.toString("latin1").match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new HubTlsError(`${file}: holds no PEM certificate`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new HubTlsError(`${file}: certificate ${i + 1} cannot be read (${(err as Error).message})`);
    }
  });
}

/**
 * An HTTPS agent for talking to the hub that trusts only the CAs in `caPem` (not the system's,
 * nor NODE_EXTRA_CA_CERTS: an explicit `ca` replaces Node's root store), checks that the hub's
 * certificate names the host it was reached at, and keeps connections open between pushes.
 * A file holding the hub's own certificate rather than its CA is refused: it would never verify.
 */
export function httpsAgentFor(caPem: Buffer, file = "the CA file"): Agent {
  for (const cert of certificatesIn(caPem, file)) {
    if (!cert.ca) throw new HubTlsError(`${file}: holds a certificate that is not a CA (${cert.subject.replace(/\n/g, ", ")}): give the hub's CA certificate (ca.pem from \`covenant hub init\`), not the hub's own`);
  }
  return new Agent({ ca: caPem, keepAlive: true, rejectUnauthorized: true, checkServerIdentity, minVersion: "TLSv1.2" });
}

/** What `covenant hub init` and the hub print of a certificate. */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  /** `DNS:name` and `IP:address`, as openssl prints them */
  names: string[];
  isCa: boolean;
  notBefore: string;
  notAfter: string;
  /** the SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it */
  sha256: string;
}

/** The first certificate of a PEM file, summarised. */
export function certificateSummary(pem: Buffer | string): CertificateSummary {
  const cert = certificatesIn(pem)[0]!;
  return {
    subject: cert.subject.replace(/\n/g, ", "),
    issuer: cert.issuer.replace(/\n/g, ", "),
    names: namesOf(cert),
    isCa: cert.ca,
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    sha256: cert.fingerprint256,
  };
}

/** The subject alternative names; IPv6 addresses shortened as written (`::1`, not `0:0:…:1`). */
function namesOf(cert: X509Certificate): string[] {
  if (!cert.subjectAltName) return [];
  return cert.subjectAltName.split(", ").map((n) => {
    if (n.startsWith("IP Address:")) return `IP:${shortIpv6(n.slice("IP Address:".length))}`;
    return n;
  });
}

function shortIpv6(address: string): string {
  if (!address.includes(":")) return address;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address;
  }
}
