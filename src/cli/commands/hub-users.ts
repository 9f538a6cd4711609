// `covenant hub user add|list|grant|disable|token`: the hub's people, administered on the hub's
// machine against its database. This is how the first administrator is made. A password is read
// from a file (--password-file, which no other user may read) or piped on stdin, never from the
// command line (where `ps` and shell history would keep it); it is never printed or logged. An API
// token is printed once, to stdout; the hub keeps only its hash.
import { readFileSync } from "node:fs";
import { HubConfigError, readHubSecret } from "../../hub/config.js";
import { AccessInputError, addGrant, createUser, disableUser, listUsers, makeApiToken, type GrantInput } from "../../hub/auth/users.js";
import { parseDuration } from "../../config/durations.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { renderTable } from "../table.js";
import { adminPool, who } from "./hub.js";
import type { Pool } from "pg";

interface DbOptions {
  config?: string;
}

/** `ROLE` or `ROLE=SCOPE` (operations=group:payments, owner=owner:security, owner=control:ITGC-AC-01). */
export function grantArg(text: string): GrantInput {
  const eq = text.indexOf("=");
  return eq < 0 ? { role: text } : { role: text.slice(0, eq), scope: text.slice(eq + 1) };
}

/** The password from the file or from stdin (a pipe, not a terminal: a terminal would show it), one trailing newline taken off. */
function readPassword(file: string | undefined, stdinIsTty: boolean): string {
  let text: string;
  if (file) text = readHubSecret(file);
  else {
    if (stdinIsTty) throw new HubConfigError("give the password in a file (--password-file FILE, mode 600) or pipe it on stdin: never on the command line");
    text = readFileSync(0, "utf8");
  }
  return text.replace(/\r?\n$/, "");
}

async function withPool(opts: DbOptions, io: Io, command: string, work: (pool: Pool) => Promise<number>): Promise<number> {
  const pool = await adminPool(opts, io, command);
  if (typeof pool === "number") return pool;
  try {
    return await work(pool);
  } catch (err) {
    if (err instanceof AccessInputError || err instanceof HubConfigError) {
      io.err(`covenant hub ${command}: ${escapeText(err.message)}`);
      return EXIT.policyError;
    }
    throw err;
  } finally {
    await pool.end();
  }
}

export async function runUserAdd(name: string, opts: DbOptions & { grant: string[]; displayName?: string; passwordFile?: string }, io: Io, stdinIsTty = process.stdin.isTTY === true): Promise<number> {
  let password: string;
  try {
    password = readPassword(opts.passwordFile, stdinIsTty);
  } catch (err) {
    if (err instanceof HubConfigError) {
      io.err(`covenant hub user add: ${escapeText(err.message)}`);
      return EXIT.policyError;
    }
    throw err;
  }
  return withPool(opts, io, "user add", async (pool) => {
    const made = await createUser(pool, { name, displayName: opts.displayName, password, grants: opts.grant.map(grantArg) }, `cli:${who()}`);
    io.out(`made user ${escapeText(made.name)}${opts.grant.length ? ` (${escapeText(opts.grant.join(", "))})` : " (no role yet: covenant hub user grant)"}`);
    return EXIT.ok;
  });
}

export async function runUserList(opts: DbOptions & { json: boolean }, io: Io): Promise<number> {
  return withPool(opts, io, "user list", async (pool) => {
    const users = await listUsers(pool);
    if (opts.json) io.out(JSON.stringify(users, null, 2));
    else if (users.length === 0) io.out("no user yet: covenant hub user add NAME --grant administrator --password-file FILE");
    else io.out(renderTable(["user", "name", "grants", "state"], users.map((u) => [u.name, u.displayName, u.grants.map((g) => `${g.grant} (#${g.id})`).join(", ") || "-", u.disabledAt ? `disabled ${u.disabledAt.toISOString()}` : "active"])));
    return EXIT.ok;
  });
}

export async function runUserGrant(name: string, grant: string, opts: DbOptions, io: Io): Promise<number> {
  return withPool(opts, io, "user grant", async (pool) => {
    const g = await addGrant(pool, name, grantArg(grant), `cli:${who()}`);
    io.out(`granted ${escapeText(name)} ${escapeText(g.scopeKind ? `${g.role} ${g.scopeKind}:${g.scopeValue}` : g.role)} (#${g.id})`);
    return EXIT.ok;
  });
}

export async function runUserDisable(name: string, opts: DbOptions & { reason?: string }, io: Io): Promise<number> {
  if (!opts.reason) {
    io.err("covenant hub user disable: --reason is required (it goes into the hub's audit log)");
    return EXIT.policyError;
  }
  const reason = opts.reason;
  return withPool(opts, io, "user disable", async (pool) => {
    await disableUser(pool, name, `cli:${who()}`, reason);
    io.out(`disabled ${escapeText(name)}: their sessions ended and their API tokens stopped`);
    return EXIT.ok;
  });
}

export async function runUserToken(name: string, opts: DbOptions & { name: string; valid?: string; json: boolean }, io: Io): Promise<number> {
  let validForMs: number | null = null;
  if (opts.valid !== undefined) {
    const ms = parseDuration(opts.valid);
    if (ms === undefined || ms <= 0) {
      io.err(`covenant hub user token: --valid ${escapeText(JSON.stringify(opts.valid))} is not a duration such as 30d or 12h`);
      return EXIT.policyError;
    }
    validForMs = ms;
  }
  return withPool(opts, io, "user token", async (pool) => {
    const made = await makeApiToken(pool, name, opts.name, validForMs, `cli:${who()}`);
    if (opts.json) io.out(JSON.stringify({ id: made.id, token: made.token, expiresAt: made.expiresAt?.toISOString() ?? null }));
    else {
      io.out(made.token);
      io.err(`API token #${made.id} for ${escapeText(name)}, ${made.expiresAt ? `valid until ${made.expiresAt.toISOString()}` : "without expiry"}: send it as Authorization: Bearer TOKEN; it is shown once`);
    }
    return EXIT.ok;
  });
}
