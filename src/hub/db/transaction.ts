// One transaction on a pooled connection: committed when `work` returns, rolled back when it
// throws (a rollback that itself fails, on a connection already dead, is not what is reported),
// the connection always given back.
import type { Pool, PoolClient } from "pg";

export async function inTransaction<T>(pool: Pool, work: (c: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const out = await work(client);
    await client.query("COMMIT");
    return out;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
