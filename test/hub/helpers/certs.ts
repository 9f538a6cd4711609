// A certificate for a test hub on 127.0.0.1, made with the `selfsigned` dev dependency.
import { mkdtempSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "selfsigned";

export interface TestCert {
  dir: string;
  cert: string;
  key: string;
  certPem: string;
}

export async function testCertificate(): Promise<TestCert> {
  const pems = await generate([{ name: "commonName", value: "127.0.0.1" }], {
    keyType: "ec",
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", digitalSignature: true, keyCertSign: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }, { type: 2, value: "localhost" }] },
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), "hub-cert-"));
  const cert = join(dir, "hub.pem");
  const key = join(dir, "hub.key");
  writeFileSync(cert, pems.cert);
  writeFileSync(key, pems.private, { mode: 0o600 });
  chmodSync(key, 0o600);
  return { dir, cert, key, certPem: pems.cert };
}
