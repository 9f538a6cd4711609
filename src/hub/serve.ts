// `covenant hub serve`: the schema brought up to date, the month partitions made ahead, then the
// HTTPS server. Stops cleanly on close(): no new connections, requests in flight answered, the
// pool drained.
import type { AddressInfo } from "node:net";
import type { Pool } from "pg";
import { HubConfigError, readHubSecret, type HubConfig } from "./config.js";
import { migrate } from "./db/migrations.js";
import { ContentChecker } from "./server/content-checker.js";
import { ensureMonthPartitions } from "./db/partitions.js";
import { makePool } from "./db/pool.js";
import { buildHubApp } from "./server/app.js";
import { FleetMonitor, type MonitorOptions } from "./monitor/monitor.js";
import { loadMonitorNotify } from "./monitor/notify.js";
import { hubSigningKey, type HubKey } from "./signing.js";
import { loadServerTls } from "./tls.js";

export interface RunningHub {
  url: string;
  port: number;
  pool: Pool;
  key: HubKey;
  /** migrations applied at this start */
  applied: number[];
  /** the fleet monitor this process runs (or stands by to run), when the configuration has one */
  monitor?: FleetMonitor;
  /** what checks pushed policy contents after their pushes (tests wait on its idle()) */
  checker: ContentChecker;
  close(): Promise<void>;
}

const PARTITION_CHECK_MS = 6 * 3600_000;

export interface StartOptions {
  /** the hub's clock for pushes and the monitor, in ms since the epoch (tests inject one) */
  now?: () => number;
  /** the monitor's channels and their context (tests inject them) */
  monitor?: Pick<MonitorOptions, "makeChannel" | "context">;
}

export async function startHub(config: HubConfig, log: (line: string) => void, start: StartOptions = {}): Promise<RunningHub> {
  // covenant.yaml is read first: a bad one stops the start before anything is opened
  const notify = config.monitor ? loadMonitorNotify(config.monitor) : {};
  if (notify.problem) throw new HubConfigError(notify.problem);
  const password = config.database.passwordFile ? readHubSecret(config.database.passwordFile).replace(/\r?\n$/, "") : undefined;
  const tls = loadServerTls({ cert: config.tls.cert, key: config.tls.key });
  const https = { cert: tls.cert, key: tls.key };
  const key = hubSigningKey(config.signingKey);
  const pool = makePool({ url: config.database.url, ...(password !== undefined ? { password } : {}), size: config.database.poolSize, log });
  let applied: number[];
  try {
    const client = await pool.connect();
    try {
      applied = await migrate(client);
      await ensureMonthPartitions(client, new Date());
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  const timer = setInterval(() => {
    void pool.connect().then(async (c) => {
      try {
        await ensureMonthPartitions(c, new Date());
      } finally {
        c.release();
      }
    }).catch((err: Error) => log(`hub: making next months' partitions failed: ${err.message}`));
  }, PARTITION_CHECK_MS);
  timer.unref();
  const now = start.now;
  // pushed policies are checked after their pushes are answered, off the event loop
  const checker = new ContentChecker(pool, log);
  checker.wake();
  const app = buildHubApp({ afterPush: () => checker.wake(), pool, https, clockToleranceMs: config.clockToleranceMs, hubKey: { publicKey: key.publicRaw, fingerprint: key.fingerprint }, key, approvalRequired: config.policy.approvalRequired, log, ...(now ? { now: () => new Date(now()) } : {}) });
  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (err) {
    clearInterval(timer);
    await checker.stop();
    await pool.end().catch(() => undefined);
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  const monitor = config.monitor
    ? new FleetMonitor({
        settings: config.monitor,
        connection: { url: config.database.url, ...(password !== undefined ? { password } : {}), log },
        ...(notify.config ? { notify: notify.config } : {}),
        ...(now ? { now } : {}),
        ...start.monitor,
        log,
      })
    : undefined;
  monitor?.start();
  const host = config.listen.host.includes(":") ? `[${config.listen.host}]` : config.listen.host;
  return {
    url: `https://${host}:${port}`,
    port,
    pool,
    key,
    applied,
    checker,
    ...(monitor ? { monitor } : {}),
    async close() {
      clearInterval(timer);
      await monitor?.stop();
      await app.close();
      await checker.stop();
      await pool.end();
    },
  };
}
