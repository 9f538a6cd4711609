// Browser sessions and API tokens. A session's id is 32 random bytes, given to the browser once in
// a cookie (`__Host-covenant_session`: Secure, HttpOnly, SameSite=Strict, Path=/, no Domain) and
// kept by the hub only as its sha256, so that a copy of the database opens no session. A session
// ends after 30 minutes unused or 12 hours after login, whichever is first; each login makes a
// new one and ends the one the browser held (no fixation). Its CSRF token is derived from the
// session's id under a different label: tied to the session, unknown to whoever reads the
// database, and gone with it. API tokens (`cvh_...`) are kept the same way, only hashed.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Pool, PoolClient } from "pg";
import type { Grant } from "./access.js";
import type { Role } from "./rules.js";

export const SESSION_COOKIE = "__Host-covenant_session";
export const IDLE_TIMEOUT_MS = 30 * 60_000;
export const ABSOLUTE_TIMEOUT_MS = 12 * 3600_000;
/** a session's last use is written at most this often, not on every request */
const TOUCH_EVERY_MS = 60_000;
export const TOKEN_PREFIX = "cvh_";

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
const API_TOKEN = /^cvh_[A-Za-z0-9_-]{43}$/;

export function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** The CSRF token of a session: its id hashed under another label, so that the stored hash does not give it. */
export function csrfTokenOf(sessionId: string): string {
  return createHash("sha256").update("covenant hub csrf v1\n").update(sessionId, "utf8").digest("base64url");
}

export function csrfMatches(sessionId: string, presented: string | undefined): boolean {
  if (typeof presented !== "string" || presented.length > 100) return false;
  const want = Buffer.from(csrfTokenOf(sessionId));
  const got = Buffer.from(presented);
  return got.length === want.length && timingSafeEqual(got, want);
}

export function sessionCookie(sessionId: string): string {
  return `${SESSION_COOKIE}=${sessionId}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${ABSOLUTE_TIMEOUT_MS / 1000}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;
}

/** The session id in a Cookie header, or undefined: only a well-formed value of our cookie's exact name. */
export function sessionIdFromCookie(header: string | undefined): string | undefined {
  if (typeof header !== "string" || header.length > 8192) return undefined;
  let found: string | undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    // two cookies of that name (one planted for a parent path or domain): trust neither
    if (found !== undefined) return undefined;
    found = value;
  }
  return found !== undefined && SESSION_ID.test(found) ? found : undefined;
}

export interface UserRow {
  id: number;
  name: string;
  disabled: boolean;
}

export interface Authenticated {
  user: UserRow;
  grants: Grant[];
}

export async function grantsOf(db: Pool | PoolClient, userId: number): Promise<Grant[]> {
  const rows = await db.query<{ id: string; role: Role; scope_kind: Grant["scopeKind"]; scope_value: string | null }>("SELECT id, role, scope_kind, scope_value FROM hub_grants WHERE user_id = $1 ORDER BY id", [userId]);
  return rows.rows.map((r) => ({ id: Number(r.id), role: r.role, scopeKind: r.scope_kind, scopeValue: r.scope_value }));
}

/** Makes a session for a user; ends `previous` (the browser's earlier session) in the same transaction. */
export async function startSession(client: PoolClient, userId: number, address: string, previous: string | undefined, now = new Date()): Promise<string> {
  const id = randomBytes(32).toString("base64url");
  if (previous) await client.query("DELETE FROM hub_sessions WHERE id_hash = $1", [sha256(previous)]);
  await client.query("INSERT INTO hub_sessions (id_hash, user_id, created_at, last_seen_at, expires_at, address) VALUES ($1, $2, $3, $3, $4, $5)", [sha256(id), userId, now, new Date(now.getTime() + ABSOLUTE_TIMEOUT_MS), address]);
  return id;
}

/** The session's user, when the session exists, has not expired (idle or absolute), and its user is not disabled; its last use noted. */
export async function sessionUser(pool: Pool, sessionId: string, now = new Date()): Promise<Authenticated | undefined> {
  const idHash = sha256(sessionId);
  const found = await pool.query<{ user_id: string; name: string; last_seen_at: Date; expires_at: Date; disabled_at: Date | null }>(
    "SELECT s.user_id, u.name, s.last_seen_at, s.expires_at, u.disabled_at FROM hub_sessions s JOIN hub_users u ON u.id = s.user_id WHERE s.id_hash = $1",
    [idHash],
  );
  const s = found.rows[0];
  if (!s) return undefined;
  if (s.disabled_at || now >= s.expires_at || now.getTime() - s.last_seen_at.getTime() >= IDLE_TIMEOUT_MS) {
    await pool.query("DELETE FROM hub_sessions WHERE id_hash = $1", [idHash]);
    return undefined;
  }
  if (now.getTime() - s.last_seen_at.getTime() >= TOUCH_EVERY_MS) await pool.query("UPDATE hub_sessions SET last_seen_at = $2 WHERE id_hash = $1", [idHash, now]);
  const userId = Number(s.user_id);
  return { user: { id: userId, name: s.name, disabled: false }, grants: await grantsOf(pool, userId) };
}

/** Sessions past either timeout, removed now and then (a session is also removed when it is next presented). */
export async function forgetEndedSessions(db: Pool | PoolClient, now = new Date()): Promise<void> {
  await db.query("DELETE FROM hub_sessions WHERE expires_at <= $1 OR last_seen_at <= $1::timestamptz - make_interval(secs => $2)", [now, IDLE_TIMEOUT_MS / 1000]);
}

export async function endSession(db: Pool | PoolClient, idHash: Buffer): Promise<void> {
  await db.query("DELETE FROM hub_sessions WHERE id_hash = $1", [idHash]);
}

export function newApiToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
}

/** The user of a bearer token that is well-formed, known, not revoked, not expired, of a user not disabled; with the token's id. */
export async function tokenUser(pool: Pool, token: string, now = new Date()): Promise<(Authenticated & { tokenId: number }) | undefined> {
  if (!API_TOKEN.test(token)) return undefined;
  const found = await pool.query<{ id: string; user_id: string; name: string; expires_at: Date | null; revoked_at: Date | null; disabled_at: Date | null; last_used_at: Date | null }>(
    "SELECT t.id, t.user_id, u.name, t.expires_at, t.revoked_at, u.disabled_at, t.last_used_at FROM hub_api_tokens t JOIN hub_users u ON u.id = t.user_id WHERE t.token_hash = $1",
    [sha256(token)],
  );
  const t = found.rows[0];
  if (!t || t.revoked_at || t.disabled_at || (t.expires_at && now >= t.expires_at)) return undefined;
  if (!t.last_used_at || now.getTime() - t.last_used_at.getTime() >= TOUCH_EVERY_MS) await pool.query("UPDATE hub_api_tokens SET last_used_at = $2 WHERE id = $1", [t.id, now]);
  const userId = Number(t.user_id);
  return { user: { id: userId, name: t.name, disabled: false }, grants: await grantsOf(pool, userId), tokenId: Number(t.id) };
}

/** The token in an Authorization header (`Bearer cvh_...`), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (typeof header !== "string") return undefined;
  const m = /^Bearer ([!-~]{1,200})$/i.exec(header.trim());
  return m ? m[1] : undefined;
}
