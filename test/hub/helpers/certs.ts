// A certificate for a test hub on 127.0.0.1 (test/helpers/local-fixtures.mjs), written to files as hub.yaml names them.
import { mkdtempSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localCertificate } from "../../helpers/local-fixtures.mjs";

export interface TestCert {
  dir: string;
  cert: string;
  key: string;
  certPem: string;
}

export async function testCertificate(): Promise<TestCert> {
  const pems = await localCertificate({ localhost: true });
  const dir = mkdtempSync(join(tmpdir(), "hub-cert-"));
  const cert = join(dir, "hub.pem");
  const key = join(dir, "hub.key");
  writeFileSync(cert, pems.cert);
  writeFileSync(key, pems.key, { mode: 0o600 });
  chmodSync(key, 0o600);
  return { dir, cert, key, certPem: pems.cert };
}
