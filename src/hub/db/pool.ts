// The hub's connection pool. A connection the server drops (PostgreSQL restarted, a network cut)
// is reported and replaced, never left to crash the process: pg emits such errors on the pool.
import pg from "pg";
import { redactUrl } from "../config.js";

export interface PoolSettings {
  url: string;
  password?: string;
  size: number;
  log: (line: string) => void;
}

export function makePool(s: PoolSettings): pg.Pool {
  const pool = new pg.Pool({
    connectionString: s.url,
    ...(s.password !== undefined ? { password: s.password } : {}),
    max: s.size,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // a statement that waits longer than this is cancelled: a push answers, one way or the other
    statement_timeout: 30_000,
    application_name: "covenant-hub",
  });
  pool.on("error", (err) => s.log(`hub: a database connection failed (${(err as { code?: string }).code ?? err.message}); it will be replaced`));
  return pool;
}

export { redactUrl };
