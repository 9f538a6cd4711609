// Logging in and out, who is signed in, and a user's own API tokens. A failed login says the same
// whether the user exists, is disabled, or the password is wrong, after the same work (a dummy
// scrypt for a name that does not exist); a throttled one is 429 with Retry-After before any
// password is looked at. The password and the tokens are never logged, audited or echoed.
import { parseDuration } from "../../../config/durations.js";
import { hashPassword, MAX_PASSWORD_LENGTH, needsRehash, verifyPassword, verifyUnknown } from "../../auth/passwords.js";
import { clearedSessionCookie, csrfTokenOf, endSession, forgetEndedSessions, sessionCookie, startSession } from "../../auth/sessions.js";
import { attemptSucceeded, beginAttempt, forgetOldAttempts } from "../../auth/throttle.js";
import { AccessInputError, grantText, inTransaction, listTokens, makeApiToken, revokeToken } from "../../auth/users.js";
import { audit } from "../audit.js";
import type { Answer, Call, Handler } from "./registry.js";

const WRONG = "the user name or the password is wrong";

export type SignIn = { ok: { sessionId: string; user: string; userId: number } } | { retryAfterSeconds: number } | { wrong: string };

/**
 * Checks a user name and password (throttled; the same work whether the user exists or not) and
 * starts a session, audited: what POST /api/login and the sign-in page (POST /ui/login) both do.
 */
export async function signIn(call: Call, user: unknown, password: unknown): Promise<SignIn> {
  if (typeof user !== "string" || typeof password !== "string" || user.length === 0 || user.length > 64 || password.length > MAX_PASSWORD_LENGTH) throw new AccessInputError("give user and password");
  const pool = call.deps.pool;
  const now = call.deps.now();
  let account: { id: number; name: string };
  const client = await pool.connect();
  try {
    const decision = await beginAttempt(client, user, call.address, now);
    if (decision.retryAfterSeconds !== undefined) return { retryAfterSeconds: decision.retryAfterSeconds };
    // now and then, what no longer counts: attempts older than a day, sessions past their timeouts
    if (Math.random() < 0.01) {
      await forgetOldAttempts(client, now);
      await forgetEndedSessions(client, now);
    }
    const found = await client.query<{ id: string; name: string; password_hash: string; disabled_at: Date | null }>("SELECT id, name, password_hash, disabled_at FROM hub_users WHERE name = $1", [user.toLowerCase()]);
    const row = found.rows[0];
    // the same work whether the user exists or not: the answer's time does not say
    const holds = row ? await verifyPassword(password, row.password_hash) : await verifyUnknown(password);
    if (!row || !holds || row.disabled_at) return { wrong: WRONG };
    await attemptSucceeded(client, decision.attemptId!);
    if (needsRehash(row.password_hash)) await client.query("UPDATE hub_users SET password_hash = $2 WHERE id = $1", [row.id, await hashPassword(password)]);
    account = { id: Number(row.id), name: row.name };
  } finally {
    client.release();
  }
  const sessionId = await inTransaction(pool, async (c) => {
    const id = await startSession(c, account.id, call.address, call.cookieSession, now);
    await audit(c, account.name, "login", `user:${account.name}`, { address: call.address });
    return id;
  });
  return { ok: { sessionId, user: account.name, userId: account.id } };
}

async function login(call: Call): Promise<Answer> {
  const r = await signIn(call, call.body["user"], call.body["password"]);
  if ("retryAfterSeconds" in r) {
    return { status: 429, body: { status: "error", message: `too many failed logins: try again in ${r.retryAfterSeconds} s` }, headers: { "retry-after": String(r.retryAfterSeconds) } };
  }
  if ("wrong" in r) return { status: 401, body: { status: "error", message: r.wrong } };
  return { status: 200, body: { status: "ok", user: r.ok.user, csrfToken: csrfTokenOf(r.ok.sessionId) }, headers: { "set-cookie": sessionCookie(r.ok.sessionId) } };
}

/** Ends the call's session, audited: POST /api/logout and the sign-out form (POST /ui/logout). */
export async function signOut(call: Call): Promise<void> {
  const p = call.principal!;
  if (p.via.kind !== "session") throw new AccessInputError("not a session", 403);
  const idHash = p.via.idHash;
  await inTransaction(call.deps.pool, async (c) => {
    await endSession(c, idHash);
    await audit(c, p.name, "logout", `user:${p.name}`);
  });
}

async function logout(call: Call): Promise<Answer> {
  await signOut(call);
  return { status: 200, body: { status: "ok" }, headers: { "set-cookie": clearedSessionCookie() } };
}

async function me(call: Call): Promise<Answer> {
  const p = call.principal!;
  const display = await call.deps.pool.query<{ display_name: string }>("SELECT display_name FROM hub_users WHERE id = $1", [p.userId]);
  return {
    status: 200,
    body: {
      user: p.name,
      displayName: display.rows[0]?.display_name ?? "",
      grants: p.grants.map((g) => ({ id: g.id, grant: grantText(g) })),
      via: p.via.kind,
      ...(p.via.kind === "session" ? { csrfToken: csrfTokenOf(call.cookieSession!) } : {}),
    },
  };
}

async function tokensList(call: Call): Promise<Answer> {
  return { status: 200, body: { tokens: await listTokens(call.deps.pool, call.principal!.userId) } };
}

async function tokensCreate(call: Call): Promise<Answer> {
  const { name, validFor } = call.body;
  let validForMs: number | null = null;
  if (validFor !== undefined && validFor !== null) {
    validForMs = typeof validFor === "string" ? (parseDuration(validFor) ?? NaN) : NaN;
    if (Number.isNaN(validForMs)) throw new AccessInputError("validFor is a duration such as 30d or 12h, or null for no expiry");
  }
  const p = call.principal!;
  const made = await makeApiToken(call.deps.pool, p.name, typeof name === "string" ? name : "", validForMs, p.name, call.deps.now());
  return { status: 201, body: { id: made.id, token: made.token, expiresAt: made.expiresAt?.toISOString() ?? null, note: "shown once: the hub keeps only its hash" } };
}

async function tokensRevoke(call: Call): Promise<Answer> {
  const p = call.principal!;
  await revokeToken(call.deps.pool, p.userId, Number(call.params["token"]), p.name);
  return { status: 200, body: { status: "ok" } };
}

export const sessionHandlers: Record<string, Handler> = {
  login,
  logout,
  me,
  "tokens.list": tokensList,
  "tokens.create": tokensCreate,
  "tokens.revoke": tokensRevoke,
};
