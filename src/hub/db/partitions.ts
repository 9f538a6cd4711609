// hub_records is partitioned by the month the hub received each record: a month's partition is
// made ahead of time (each start, then daily), so that records go to their month and not to the
// default partition, and an old month can later be archived or dropped whole (docs/hub.md).
import type { PoolClient } from "pg";

/** The first instant (UTC) of the month `offset` months after the one holding `at`. */
export function monthStart(at: Date, offset = 0): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + offset, 1));
}

/** The partition's name for the month starting at `start`: hub_records_y2026m12. */
export function partitionName(start: Date): string {
  return `hub_records_y${start.getUTCFullYear()}m${String(start.getUTCMonth() + 1).padStart(2, "0")}`;
}

/** The key of the advisory lock partitions are made under (any fixed 64-bit number but the migrations'). */
const PARTITION_LOCK = 7_406_339_022;

/**
 * Makes the partitions of this month and the next `ahead` months that do not exist yet; returns
 * the names made. Names and bounds are made here from dates, never from outside text. One
 * transaction under an advisory lock: hub processes starting at once (or their timers) take turns,
 * since CREATE TABLE IF NOT EXISTS alone still fails for the loser of a race ("already exists").
 */
export async function ensureMonthPartitions(client: PoolClient, now: Date, ahead = 2): Promise<string[]> {
  const made: string[] = [];
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [PARTITION_LOCK]);
    for (let i = 0; i <= ahead; i++) {
      const from = monthStart(now, i);
      const to = monthStart(now, i + 1);
      const name = partitionName(from);
      const exists = await client.query("SELECT 1 FROM pg_class WHERE relname = $1", [name]);
      if (exists.rowCount) continue;
      await client.query(`CREATE TABLE ${name} PARTITION OF hub_records FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`);
      made.push(name);
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
  return made;
}
