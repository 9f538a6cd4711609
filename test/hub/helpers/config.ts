// The configuration of a hub for a test: its certificate, its own database, a signing key made
// beside the certificate on first use, and what the test overrides.
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach } from "vitest";
import type { HubConfig } from "../../../src/hub/config.js";
import { startHub, type RunningHub } from "../../../src/hub/serve.js";
import { testCertificate, type TestCert } from "./certs.js";
import { freshDatabase, type TestDatabase } from "./pg.js";

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

/** A test file's hub: its certificate once, and for each test a database of its own and a hub serving it (closed and dropped after). */
export interface HubPerTest {
  readonly cert: TestCert;
  readonly db: TestDatabase;
  readonly hub: RunningHub;
}

/** Registers the hooks that give each test of the file a hub of its own; read its fields inside tests. */
export function hubPerTest(opts: { log?: (line: string) => void; over?: Partial<HubConfig> } = {}): HubPerTest {
  let cert: TestCert | undefined;
  let db: TestDatabase | undefined;
  let hub: RunningHub | undefined;
  beforeAll(async () => {
    cert = await testCertificate();
  });
  beforeEach(async () => {
    db = await freshDatabase();
    hub = await startHub(testHubConfig(cert!, db.url, opts.over), opts.log ?? (() => undefined));
  });
  afterEach(async () => {
    await hub?.close();
    await db?.drop();
  });
  const made = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`hubPerTest: the ${what} is made in beforeAll/beforeEach: read it inside a test`);
    return v;
  };
  return {
    get cert() {
      return made(cert, "certificate");
    },
    get db() {
      return made(db, "database");
    },
    get hub() {
      return made(hub, "hub");
    },
  };
}
