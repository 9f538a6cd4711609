// The overview's verdicts rolled up per host group × control × verdict (hub_overview_rollup,
// migration 9). Counting 4 million promise states on every page load would take seconds, so the
// page reads the rollup, and the rollup is recomputed from hub_promise_state when the fleet has
// moved since (a push, a revocation), in the background: the page never waits for it, except the
// very first time (no rollup yet). A recount costs PostgreSQL CPU in proportion to the fleet
// (4 s for 20,000 hosts × 200 promises on the 2-core development machine, 12 s while busy), so
// it is made at most every REFRESH_EVERY_MS and never more often than ten times its own last
// duration: at most a tenth of one core, the verdicts then up to a few minutes behind (the page
// says when they were counted). Several hub processes share one database: a transaction-scoped
// advisory lock lets one of them recount at a time.
import type { Pool } from "pg";
import { outcomeOrder } from "../../evaluator/outcomes.js";

export const REFRESH_EVERY_MS = 10_000;
const ROLLUP_LOCK = 7_406_339_109;

export interface RollupState {
  computedAt: Date;
  tookMs: number;
  /** whether pushes or revocations came after it was computed (a refresh is under way or due) */
  behind: boolean;
}

const ORDER = `ARRAY[${outcomeOrder.map((o) => `'${o}'`).join(",")}]::text[]`;

/** Recomputes the rollup in one transaction, unless another process is at it; returns whether it did. */
export async function recomputeRollup(pool: Pool): Promise<boolean> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const got = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock($1) AS ok", [ROLLUP_LOCK]);
    if (!got.rows[0]!.ok) {
      await client.query("ROLLBACK");
      return false;
    }
    const started = Date.now();
    // the per host × control aggregation holds ~800,000 groups at 20,000 hosts: in memory, not spilled to disk
    await client.query("SET LOCAL work_mem = '256MB'");
    const asOf = (await client.query<{ t: Date }>("SELECT clock_timestamp() AS t")).rows[0]!.t;
    await client.query("DELETE FROM hub_overview_rollup");
    // each host's verdict on each control: the worst outcome of the control's promises there
    await client.query(`INSERT INTO hub_overview_rollup (host_group, control, outcome, hosts)
      SELECT coalesce(h.host_group, ''), w.control, (${ORDER})[w.rank], count(*)::int
      FROM (SELECT host_id, control, max(array_position(${ORDER}, outcome)) AS rank FROM hub_promise_state GROUP BY host_id, control) w
      JOIN hub_hosts h ON h.id = w.host_id
      WHERE h.revoked_at IS NULL AND w.rank IS NOT NULL
      GROUP BY 1, 2, 3`);
    await client.query(
      "INSERT INTO hub_overview_state (one, computed_at, took_ms) VALUES (true, $1, $2) ON CONFLICT (one) DO UPDATE SET computed_at = EXCLUDED.computed_at, took_ms = EXCLUDED.took_ms",
      [asOf, Date.now() - started],
    );
    await client.query("COMMIT");
    return true;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

const running = new WeakMap<Pool, Promise<unknown>>();

/** Starts a recompute in the background, once per process at a time; its failure is logged, not thrown. */
function refreshInBackground(pool: Pool, log: (line: string) => void): void {
  if (running.has(pool)) return;
  const p = recomputeRollup(pool)
    .catch((err: Error) => log(`hub: the overview's rollup was not recomputed: ${err.message}`))
    .finally(() => running.delete(pool));
  running.set(pool, p);
}

/** The rollup's state, recomputed first when there is none, and in the background when it is behind the fleet and old enough. */
export async function currentRollup(pool: Pool, log: (line: string) => void, now = new Date()): Promise<RollupState> {
  const read = async () =>
    (
      await pool.query<{ computed_at: Date; took_ms: number; moved: Date | null }>(
        `SELECT s.computed_at, s.took_ms, greatest((SELECT max(last_push_at) FROM hub_hosts), (SELECT max(revoked_at) FROM hub_hosts)) AS moved FROM hub_overview_state s`,
      )
    ).rows[0];
  let s = await read();
  if (!s) {
    await running.get(pool);
    if (!(await recomputeRollup(pool))) await new Promise((r) => setTimeout(r, 200));
    s = await read();
    if (!s) throw new Error("the overview's rollup could not be computed");
  }
  const behind = s.moved !== null && s.moved > s.computed_at;
  if (behind && now.getTime() - s.computed_at.getTime() >= Math.max(REFRESH_EVERY_MS, 10 * s.took_ms)) refreshInBackground(pool, log);
  return { computedAt: s.computed_at, tookMs: s.took_ms, behind };
}

/** Waits for a background recompute of this process (tests, the benchmark). */
export async function rollupSettled(pool: Pool): Promise<void> {
  await running.get(pool);
}
