// The monitor's own connection to the database, and the lock that makes one hub process the
// monitor. Every hub process tries pg_try_advisory_lock on a connection of its own at each
// interval; the one that gets it is the monitor until its connection ends (the process dies, or
// PostgreSQL drops it), when PostgreSQL releases the lock and another process takes it at its
// next try. A session's advisory lock is lost only with its session, so a connection that still
// answers still holds it: the monitor does all its work on this connection, and a monitor whose
// connection died can write nothing more (its statements fail), however late it notices.
import pg from "pg";

/** The key of the monitor's advisory lock (any fixed 64-bit number other than the migrations'). */
export const MONITOR_LOCK = 7_406_339_022;

export interface ConnectionSettings {
  url: string;
  password?: string;
  log: (line: string) => void;
}

export class MonitorConnection {
  private client: pg.Client | undefined;
  private leading = false;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly settings: ConnectionSettings) {}

  /**
   * Whether this process is the monitor now: connects and tries the lock when it is not. A
   * connection found dead is replaced at once (and the lock tried on the new one): the round
   * goes on if the lock is still free.
   */
  async lead(): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.tryLead();
      } catch (err) {
        this.drop(`the monitor's database connection failed (${(err as { code?: string }).code ?? (err as Error).message})`);
        if (attempt > 0) return false;
      }
    }
  }

  private async tryLead(): Promise<boolean> {
    const client = this.client ?? (await this.connect());
    if (this.leading) {
      // a connection that answers still holds its session's lock
      await this.serial(() => client.query("SELECT 1"));
      return true;
    }
    const got = (await this.serial(() => client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [MONITOR_LOCK]))).rows[0]?.ok === true;
    if (got) this.settings.log("hub: this process is the fleet monitor now");
    this.leading = got;
    return got;
  }

  get isLeading(): boolean {
    return this.leading;
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.settings.url,
      ...(this.settings.password !== undefined ? { password: this.settings.password } : {}),
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      statement_timeout: 30_000,
      application_name: "covenant-hub-monitor",
    });
    client.on("error", (err) => this.drop(`the monitor's database connection failed (${(err as { code?: string }).code ?? err.message})`, client));
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    this.leading = false;
    return client;
  }

  /** Forgets a connection that failed: the lock went with it. */
  private drop(why: string, which: pg.Client | undefined = this.client): void {
    if (which !== this.client || !which) return;
    if (this.leading) this.settings.log(`hub: ${why}: no longer the fleet monitor (another hub process takes over at its next try)`);
    this.client = undefined;
    this.leading = false;
    void which.end().catch(() => undefined);
  }

  /** Runs `fn` after everything queued before it: one statement or transaction at a time on the connection. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** The connection, for work done while leading. */
  private current(): pg.Client {
    if (!this.client || !this.leading) throw new Error("the fleet monitor's connection is gone: it is no longer the monitor");
    return this.client;
  }

  /** One statement, queued behind the others. */
  query<R extends object>(text: string, values?: unknown[]): Promise<{ rows: R[] }> {
    return this.serial(() => this.current().query<R>(text, values));
  }

  /** `fn` in one transaction, queued behind the others; nothing else runs on the connection meanwhile. */
  transaction<T>(fn: (db: { query<R extends object>(text: string, values?: unknown[]): Promise<{ rows: R[] }> }) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      const client = this.current();
      await client.query("BEGIN");
      try {
        const out = await fn({ query: <R extends object>(text: string, values?: unknown[]) => client.query<R>(text, values) });
        await client.query("COMMIT");
        return out;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    });
  }

  /** Ends the connection (and with it the lock). */
  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.leading = false;
    await this.tail;
    await client?.end().catch(() => undefined);
  }
}
