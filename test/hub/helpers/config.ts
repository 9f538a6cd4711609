// The configuration of a hub for a test: its certificate, its own database, a signing key made
// beside the certificate on first use, and what the test overrides.
import { join } from "node:path";
import type { HubConfig } from "../../../src/hub/config.js";
import type { TestCert } from "./certs.js";

export function testHubConfig(cert: TestCert, url: string, over: Partial<HubConfig> = {}): HubConfig {
  return {
    listen: { host: "127.0.0.1", port: 0 },
    tls: { cert: cert.cert, key: cert.key },
    database: { url, poolSize: 4 },
    clockToleranceMs: 120_000,
    signingKey: join(cert.dir, "hub-signing.key"),
    policy: { approvalRequired: true },
    ...over,
  };
}
