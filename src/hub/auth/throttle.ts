// Login throttling, by user name and by client address, from the attempts kept in
// hub_login_attempts (so that every hub process behind a load balancer sees the same counts).
// After LIMIT failures in the window since the last success, each further attempt waits: 30 s
// after the last failure, doubling with each failure, up to the window (15 min). A throttled
// attempt is answered 429 with Retry-After, before any password is looked at, and is not counted
// (counting it would let anyone keep a user locked out for ever at no cost). The check and the
// attempt's row are made under per-name and per-address advisory locks, so a burst of parallel
// guesses is counted one by one. User names that do not exist are throttled the same way, so the
// throttle does not say which exist.
import type { PoolClient } from "pg";

export const WINDOW_MS = 15 * 60_000;
export const NAME_LIMIT = 5;
export const ADDRESS_LIMIT = 20;
const FIRST_DELAY_MS = 30_000;

export interface ThrottleDecision {
  /** the attempt's row, when it may go on; its `ok` is set when the password holds */
  attemptId?: number;
  /** seconds to wait, when it may not */
  retryAfterSeconds?: number;
}

interface Failures {
  n: number;
  last: Date | null;
}

async function failures(client: PoolClient, column: "user_name" | "address", value: string, now: Date): Promise<Failures> {
  const r = await client.query<{ n: string; last: Date | null }>(
    `SELECT count(*) AS n, max(at) AS last FROM hub_login_attempts
     WHERE ${column} = $1 AND NOT ok AND at > $2::timestamptz - make_interval(secs => $3)
       AND at > coalesce((SELECT max(at) FROM hub_login_attempts WHERE ${column} = $1 AND ok), '-infinity')`,
    [value, now, WINDOW_MS / 1000],
  );
  return { n: Number(r.rows[0]!.n), last: r.rows[0]!.last };
}

/** How long, in ms from now, attempts must wait after these failures (0: not at all). */
export function waitAfter(f: Failures, limit: number, now: Date): number {
  if (f.n < limit || !f.last) return 0;
  const delay = Math.min(WINDOW_MS, FIRST_DELAY_MS * 2 ** Math.min(f.n - limit, 20));
  return Math.max(0, f.last.getTime() + delay - now.getTime());
}

/** User names are compared as the hub stores them: lower case, at most 64 characters. */
export function normalName(name: string): string {
  return name.trim().toLowerCase().slice(0, 64);
}

/** Decides an attempt and, when it may go on, records it as failed until the password is found to hold. */
export async function beginAttempt(client: PoolClient, userName: string, address: string, now = new Date()): Promise<ThrottleDecision> {
  const name = normalName(userName);
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('covenant login name ' || $1, 0))", [name]);
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('covenant login address ' || $1, 0))", [address]);
    const wait = Math.max(waitAfter(await failures(client, "user_name", name, now), NAME_LIMIT, now), waitAfter(await failures(client, "address", address, now), ADDRESS_LIMIT, now));
    if (wait > 0) {
      await client.query("COMMIT");
      return { retryAfterSeconds: Math.ceil(wait / 1000) };
    }
    const row = await client.query<{ id: string }>("INSERT INTO hub_login_attempts (at, user_name, address, ok) VALUES ($1, $2, $3, false) RETURNING id", [now, name, address]);
    await client.query("COMMIT");
    return { attemptId: Number(row.rows[0]!.id) };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

export async function attemptSucceeded(client: PoolClient, attemptId: number): Promise<void> {
  await client.query("UPDATE hub_login_attempts SET ok = true WHERE id = $1", [attemptId]);
}

/** Attempts older than a day count for nothing: removed now and then. */
export async function forgetOldAttempts(client: PoolClient, now = new Date()): Promise<void> {
  await client.query("DELETE FROM hub_login_attempts WHERE at < $1::timestamptz - interval '1 day'", [now]);
}
