// One transaction on a pooled connection: committed when `work` returns, rolled back when it
// throws (a rollback that itself fails, on a connection already dead, is not what is reported),
// the connection always given back. While it is out of the pool, a connection the server drops
// emits an error event that nothing else listens to (pg-pool listens only while it is idle in the
// pool): that is an uncaught exception, and the hub process would stop. It is taken here; the
// failure is said through the query that fails, and the connection is given back broken (release
// with the error), so that the pool makes a new one.
import type { Pool, PoolClient } from "pg";

export async function inTransaction<T>(pool: Pool, work: (c: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let dropped: Error | undefined;
  const onError = (err: Error) => (dropped = err);
  client.on("error", onError);
  try {
    await client.query("BEGIN");
    const out = await work(client);
    await client.query("COMMIT");
    return out;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.off("error", onError);
    client.release(dropped);
  }
}
