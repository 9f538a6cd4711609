// The hub's people: users, their grants, disabling, and API tokens, each change in the audit log
// in the same transaction, with who made it. Used by the API (server/api/) and by
// `covenant hub user` on the hub's machine, where the first administrator is made. A password
// reaches this module only to be hashed; neither it nor a token is ever written to the audit log.
import type { Pool, PoolClient } from "pg";
import { audit } from "../server/audit.js";
import { hashPassword, passwordProblem } from "./passwords.js";
import { ROLE_SCOPE, ROLES, type Role } from "./rules.js";
import { grantsOf, newApiToken, sha256 } from "./sessions.js";
import type { Grant } from "./access.js";
import { inTransaction } from "../db/transaction.js";
export { inTransaction };

export const USER_NAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;
const MAX_TOKEN_LIFE_MS = 366 * 24 * 3600_000;

/** A refusal the caller's input caused: said to them as it is (it holds no secret). */
export class AccessInputError extends Error {
  constructor(message: string, readonly status = 400) {
    super(message);
  }
}


export interface GrantInput {
  role: string;
  scope?: string | undefined;
}

/** A grant as given ("operations", "group:payments"), checked against the role's scope. */
export function readGrant(g: GrantInput): { role: Role; scopeKind: Grant["scopeKind"]; scopeValue: string | null } {
  if (!ROLES.includes(g.role as Role)) throw new AccessInputError(`unknown role ${JSON.stringify(g.role)} (roles: ${ROLES.join(", ")})`);
  const role = g.role as Role;
  const kinds = ROLE_SCOPE[role];
  if (g.scope === undefined || g.scope === "") {
    if (kinds.length > 0) throw new AccessInputError(`the ${role} role needs a scope: ${kinds.map((k) => `${k}:NAME`).join(" or ")}`);
    return { role, scopeKind: null, scopeValue: null };
  }
  const m = /^(group|control|owner):(.{1,200})$/s.exec(g.scope);
  if (kinds.length === 0) throw new AccessInputError(`the ${role} role takes no scope: it reaches every object its rules give it`);
  if (!m || !kinds.includes(m[1] as "group")) throw new AccessInputError(`the ${role} role's scope is ${kinds.map((k) => `${k}:NAME`).join(" or ")}`);
  if (/[\u0000-\u001f\u007f]/.test(m[2]!)) throw new AccessInputError("a scope may not hold control characters");
  return { role, scopeKind: m[1] as Grant["scopeKind"], scopeValue: m[2]! };
}

export interface NewUser {
  name: string;
  displayName?: string | undefined;
  password: string;
  grants: GrantInput[];
}

export async function createUser(pool: Pool, u: NewUser, actor: string): Promise<{ id: number; name: string }> {
  if (typeof u.name !== "string" || !USER_NAME.test(u.name)) throw new AccessInputError("a user name is 1 to 64 of a-z, 0-9, '.', '_', '@', '-', starting with a letter or digit");
  const displayName = u.displayName ?? "";
  if (typeof displayName !== "string" || displayName.length > 200 || /[\u0000-\u001f\u007f]/.test(displayName)) throw new AccessInputError("a display name is at most 200 characters, without control characters");
  const problem = typeof u.password === "string" ? passwordProblem(u.password) : "a password is required";
  if (problem) throw new AccessInputError(problem);
  const grants = u.grants.map(readGrant);
  const hash = await hashPassword(u.password);
  return inTransaction(pool, async (c) => {
    // ON CONFLICT rather than a look first: two creations of one name at once both found none
    // and the second's insert broke the unique index (a 500)
    const row = await c.query<{ id: string }>("INSERT INTO hub_users (name, display_name, password_hash, created_by) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING RETURNING id", [u.name, displayName, hash, actor]);
    if (!row.rowCount) throw new AccessInputError(`a user named ${u.name} exists already`, 409);
    const id = Number(row.rows[0]!.id);
    for (const g of grants) await c.query("INSERT INTO hub_grants (user_id, role, scope_kind, scope_value, granted_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING", [id, g.role, g.scopeKind, g.scopeValue, actor]);
    await audit(c, actor, "user.create", `user:${u.name}`, { grants: grants.map(grantText) });
    return { id, name: u.name };
  });
}

export function grantText(g: { role: Role; scopeKind: Grant["scopeKind"]; scopeValue: string | null }): string {
  return g.scopeKind ? `${g.role} ${g.scopeKind}:${g.scopeValue}` : g.role;
}

export async function userByName(db: Pool | PoolClient, name: string): Promise<{ id: number; name: string; disabled: boolean } | undefined> {
  const r = await db.query<{ id: string; name: string; disabled_at: Date | null }>("SELECT id, name, disabled_at FROM hub_users WHERE name = $1", [name]);
  const u = r.rows[0];
  return u ? { id: Number(u.id), name: u.name, disabled: u.disabled_at !== null } : undefined;
}

export async function addGrant(pool: Pool, userName: string, g: GrantInput, actor: string): Promise<Grant> {
  const grant = readGrant(g);
  return inTransaction(pool, async (c) => {
    const u = await userByName(c, userName);
    if (!u) throw new AccessInputError(`no user is named ${userName}`, 404);
    const row = await c.query<{ id: string }>(
      "INSERT INTO hub_grants (user_id, role, scope_kind, scope_value, granted_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
      [u.id, grant.role, grant.scopeKind, grant.scopeValue, actor],
    );
    if (!row.rowCount) throw new AccessInputError(`${userName} holds ${grantText(grant)} already`, 409);
    await audit(c, actor, "user.grant", `user:${userName}`, { grant: grantText(grant) });
    return { id: Number(row.rows[0]!.id), ...grant };
  });
}

/** Takes a grant back; refuses to take the last administrator grant of a user not disabled (the hub would have none). */
export async function revokeGrant(pool: Pool, userName: string, grantId: number, actor: string): Promise<void> {
  await inTransaction(pool, async (c) => {
    await c.query("LOCK TABLE hub_grants IN SHARE ROW EXCLUSIVE MODE");
    const found = await c.query<{ role: Role; scope_kind: Grant["scopeKind"]; scope_value: string | null }>(
      "SELECT g.role, g.scope_kind, g.scope_value FROM hub_grants g JOIN hub_users u ON u.id = g.user_id WHERE g.id = $1 AND u.name = $2",
      [grantId, userName],
    );
    const g = found.rows[0];
    if (!g) throw new AccessInputError(`${userName} holds no grant ${grantId}`, 404);
    if (g.role === "administrator" && (await activeAdministrators(c)) <= 1) throw new AccessInputError("this is the last administrator's grant: grant another administrator first", 409);
    await c.query("DELETE FROM hub_grants WHERE id = $1", [grantId]);
    await audit(c, actor, "user.revoke-grant", `user:${userName}`, { grant: grantText({ role: g.role, scopeKind: g.scope_kind, scopeValue: g.scope_value }) });
  });
}

async function activeAdministrators(c: PoolClient): Promise<number> {
  const r = await c.query<{ n: string }>("SELECT count(DISTINCT g.user_id) AS n FROM hub_grants g JOIN hub_users u ON u.id = g.user_id WHERE g.role = 'administrator' AND u.disabled_at IS NULL");
  return Number(r.rows[0]!.n);
}

/** Disables a user: their sessions end at once and their tokens stop working. */
export async function disableUser(pool: Pool, userName: string, actor: string, reason: string): Promise<void> {
  await inTransaction(pool, async (c) => {
    await c.query("LOCK TABLE hub_grants IN SHARE ROW EXCLUSIVE MODE");
    const u = await userByName(c, userName);
    if (!u) throw new AccessInputError(`no user is named ${userName}`, 404);
    if (u.disabled) throw new AccessInputError(`${userName} is disabled already`, 409);
    const admin = await c.query("SELECT 1 FROM hub_grants WHERE user_id = $1 AND role = 'administrator'", [u.id]);
    if (admin.rowCount && (await activeAdministrators(c)) <= 1) throw new AccessInputError("this is the last administrator: grant another administrator first", 409);
    await c.query("UPDATE hub_users SET disabled_at = now(), disabled_by = $2 WHERE id = $1", [u.id, actor]);
    await c.query("DELETE FROM hub_sessions WHERE user_id = $1", [u.id]);
    await audit(c, actor, "user.disable", `user:${userName}`, { reason });
  });
}

export interface UserSummary {
  name: string;
  displayName: string;
  createdAt: Date;
  disabledAt: Date | null;
  grants: { id: number; grant: string }[];
}

export async function listUsers(pool: Pool): Promise<UserSummary[]> {
  const users = await pool.query<{ id: string; name: string; display_name: string; created_at: Date; disabled_at: Date | null }>("SELECT id, name, display_name, created_at, disabled_at FROM hub_users ORDER BY name");
  const out: UserSummary[] = [];
  for (const u of users.rows) {
    const grants = await grantsOf(pool, Number(u.id));
    out.push({ name: u.name, displayName: u.display_name, createdAt: u.created_at, disabledAt: u.disabled_at, grants: grants.map((g) => ({ id: g.id, grant: grantText(g) })) });
  }
  return out;
}

export interface MadeApiToken {
  id: number;
  token: string;
  expiresAt: Date | null;
}

/** An API token for a user, acting with the user's grants; only its hash is kept. */
export async function makeApiToken(pool: Pool, userName: string, name: string, validForMs: number | null, actor: string, now = new Date()): Promise<MadeApiToken> {
  if (typeof name !== "string" || name.length < 1 || name.length > 100 || /[\u0000-\u001f\u007f]/.test(name)) throw new AccessInputError("a token's name is 1 to 100 characters, without control characters");
  if (validForMs !== null && (!Number.isFinite(validForMs) || validForMs <= 0 || validForMs > MAX_TOKEN_LIFE_MS)) throw new AccessInputError("a token is valid for a time from a second to 366 days, or without expiry");
  const token = newApiToken();
  const expiresAt = validForMs === null ? null : new Date(now.getTime() + validForMs);
  return inTransaction(pool, async (c) => {
    const u = await userByName(c, userName);
    if (!u || u.disabled) throw new AccessInputError(`no user named ${userName} can hold a token`, 404);
    const row = await c.query<{ id: string }>("INSERT INTO hub_api_tokens (user_id, name, token_hash, expires_at) VALUES ($1, $2, $3, $4) RETURNING id", [u.id, name, sha256(token), expiresAt]);
    const id = Number(row.rows[0]!.id);
    await audit(c, actor, "token.create", `user:${userName}`, { token: id, name, expiresAt: expiresAt?.toISOString() ?? null });
    return { id, token, expiresAt };
  });
}

export interface TokenSummary {
  id: number;
  name: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

export async function listTokens(pool: Pool, userId: number): Promise<TokenSummary[]> {
  const r = await pool.query<{ id: string; name: string; created_at: Date; expires_at: Date | null; revoked_at: Date | null; last_used_at: Date | null }>(
    "SELECT id, name, created_at, expires_at, revoked_at, last_used_at FROM hub_api_tokens WHERE user_id = $1 ORDER BY id",
    [userId],
  );
  return r.rows.map((t) => ({ id: Number(t.id), name: t.name, createdAt: t.created_at, expiresAt: t.expires_at, revokedAt: t.revoked_at, lastUsedAt: t.last_used_at }));
}

/** Revokes a token of the user's own; a token of someone else's is "not found", as one that does not exist. */
export async function revokeToken(pool: Pool, userId: number, tokenId: number, actor: string): Promise<void> {
  await inTransaction(pool, async (c) => {
    const r = await c.query("UPDATE hub_api_tokens SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL", [tokenId, userId]);
    if (!r.rowCount) throw new AccessInputError("no such token of yours is in force", 404);
    await audit(c, actor, "token.revoke", `token:${tokenId}`);
  });
}
