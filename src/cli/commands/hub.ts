// `covenant hub serve|token|hosts|revoke`: the hub's server and what an administrator does on the
// hub's machine, against its database (hub.yaml's, or DATABASE_URL's). The enrolment token is
// printed once, to stdout only; the database's password never is.
import { existsSync } from "node:fs";
import type { Pool, PoolClient } from "pg";
import { acceptHostHistory, listHosts, listIncidents, makeEnrollToken, resolveIncident, revokeHost, type HostSummary } from "../../hub/admin.js";
import { HubConfigError, loadHubConfig, readHubSecret, redactUrl } from "../../hub/config.js";
import { makePool } from "../../hub/db/pool.js";
import { migrate, schemaProblem, SCHEMA_VERSION } from "../../hub/db/migrations.js";
import { startHub } from "../../hub/serve.js";
import { parseDuration } from "../../config/durations.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { renderTable } from "../table.js";

export const DEFAULT_HUB_CONFIG = "/etc/covenant/hub/hub.yaml";

interface DbOptions {
  config?: string;
}

export function who(): string {
  return process.env["SUDO_USER"] ?? process.env["USER"] ?? `uid ${process.getuid?.() ?? "?"}`;
}

/**
 * A pool on the hub's database, its schema this hub's; or an exit code after saying why not. Only
 * `migrate` (hub migrate) brings the schema up to date: an administrator's look at the hosts must
 * not change the schema under hub processes still running the older one.
 */
export async function adminPool(opts: DbOptions, io: Io, command: string, prepare: (client: PoolClient) => Promise<string | undefined> = schemaProblem): Promise<Pool | number> {
  let url: string | undefined;
  let password: string | undefined;
  try {
    const path = opts.config ?? (existsSync(DEFAULT_HUB_CONFIG) || !process.env["DATABASE_URL"] ? DEFAULT_HUB_CONFIG : undefined);
    if (path) {
      const config = loadHubConfig(path);
      url = config.database.url;
      if (config.database.passwordFile) password = readHubSecret(config.database.passwordFile).replace(/\r?\n$/, "");
    } else {
      url = process.env["DATABASE_URL"];
    }
  } catch (err) {
    if (err instanceof HubConfigError) {
      io.err(`covenant hub ${command}: ${escapeText(err.message)}`);
      return EXIT.policyError;
    }
    throw err;
  }
  const pool = makePool({ url: url!, ...(password !== undefined ? { password } : {}), size: 2, log: (l) => io.err(escapeText(l)) });
  try {
    const client = await pool.connect();
    let problem: string | undefined;
    try {
      problem = await prepare(client);
    } finally {
      client.release();
    }
    if (problem) {
      await pool.end().catch(() => undefined);
      io.err(`covenant hub ${command}: ${escapeText(problem)}`);
      return EXIT.policyError;
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    io.err(`covenant hub ${command}: cannot use the database ${escapeText(redactUrl(url!))}: ${escapeText((err as Error).message)}`);
    return EXIT.policyError;
  }
  return pool;
}

/** `covenant hub migrate`: applies the schema migrations the database lacks (as `hub serve` does as it starts). */
export async function runHubMigrate(opts: DbOptions, io: Io): Promise<number> {
  let applied: number[] = [];
  const pool = await adminPool(opts, io, "migrate", async (client) => {
    applied = await migrate(client);
    return undefined;
  });
  if (typeof pool === "number") return pool;
  try {
    io.out(`covenant hub: schema ${applied.length ? `migrated: ${applied.join(", ")}` : "up to date"} (version ${SCHEMA_VERSION})`);
    return EXIT.ok;
  } finally {
    await pool.end();
  }
}

export async function runHubServe(opts: { config?: string }, io: Io): Promise<number> {
  let config;
  try {
    config = loadHubConfig(opts.config ?? DEFAULT_HUB_CONFIG);
  } catch (err) {
    if (err instanceof HubConfigError) {
      io.err(`covenant hub serve: ${escapeText(err.message)}`);
      return EXIT.policyError;
    }
    throw err;
  }
  let hub;
  try {
    hub = await startHub(config, (l) => io.err(escapeText(l)));
  } catch (err) {
    // a bad covenant.yaml is said a problem a line, each line escaped
    const why = err instanceof HubConfigError ? err.message : `${(err as Error).message} (database ${redactUrl(config.database.url)})`;
    io.err(`covenant hub serve: cannot start: ${why.split("\n").map(escapeText).join("\n  ")}`);
    return EXIT.policyError;
  }
  io.out(`covenant hub: serving ${hub.url} (schema ${hub.applied.length ? `migrated: ${hub.applied.join(", ")}` : "up to date"})`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      resolve();
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  await hub.close();
  io.out("covenant hub: stopped");
  return EXIT.ok;
}

export async function runHubToken(opts: DbOptions & { valid: string; group?: string; note?: string; json: boolean }, io: Io): Promise<number> {
  const validForMs = parseDuration(opts.valid);
  if (validForMs === undefined || validForMs <= 0) {
    io.err(`covenant hub token: --valid ${escapeText(JSON.stringify(opts.valid))} is not a duration such as 30m or 24h`);
    return EXIT.policyError;
  }
  const pool = await adminPool(opts, io, "token");
  if (typeof pool === "number") return pool;
  try {
    const made = await makeEnrollToken(pool, { validForMs, actor: `cli:${who()}`, ...(opts.group ? { group: opts.group } : {}), ...(opts.note ? { note: opts.note } : {}) });
    if (opts.json) io.out(JSON.stringify({ token: made.token, expiresAt: made.expiresAt.toISOString(), group: made.group }));
    else {
      io.out(made.token);
      io.err(`one-time enrolment token, valid until ${made.expiresAt.toISOString()}${made.group ? ` for group ${escapeText(made.group)}` : ""}: on the host, covenant enroll URL --token-file FILE --ca ca.pem`);
    }
    return EXIT.ok;
  } finally {
    await pool.end();
  }
}

function hostRow(h: HostSummary): string[] {
  const status = h.revokedAt ? "revoked" : h.chainStatus === "ok" ? (h.openIncidents.length ? h.openIncidents.join(",") : "ok") : `${h.chainStatus} (chain in doubt)`;
  return [h.name, h.id, h.group ?? "-", String(h.lastSeq), h.lastPushAt ? h.lastPushAt.toISOString() : "never", h.clockSkewMs === null ? "-" : `${Math.round(h.clockSkewMs / 1000)} s`, status];
}

export async function runHubHosts(opts: DbOptions & { json: boolean }, io: Io): Promise<number> {
  const pool = await adminPool(opts, io, "hosts");
  if (typeof pool === "number") return pool;
  try {
    const hosts = await listHosts(pool);
    if (opts.json) io.out(JSON.stringify(hosts, null, 2));
    else if (hosts.length === 0) io.out("no host is enrolled (covenant hub token makes an enrolment token)");
    else io.out(renderTable(["host", "id", "group", "records", "last push", "clock", "status"], hosts.map(hostRow)));
    return EXIT.ok;
  } finally {
    await pool.end();
  }
}

export async function runHubRevoke(host: string, opts: DbOptions & { reason?: string }, io: Io): Promise<number> {
  if (!opts.reason) {
    io.err("covenant hub revoke: --reason is required (it goes into the hub's audit log)");
    return EXIT.policyError;
  }
  const pool = await adminPool(opts, io, "revoke");
  if (typeof pool === "number") return pool;
  try {
    const r = await revokeHost(pool, host, opts.reason, `cli:${who()}`);
    if ("problem" in r) {
      io.err(`covenant hub revoke: ${escapeText(r.problem)}`);
      return EXIT.policyError;
    }
    io.out(`revoked ${escapeText(r.name)} (${r.id}): the hub takes nothing more from it`);
    return EXIT.ok;
  } finally {
    await pool.end();
  }
}

export async function runHubIncidents(opts: DbOptions & { all: boolean; json: boolean }, io: Io): Promise<number> {
  const pool = await adminPool(opts, io, "incidents");
  if (typeof pool === "number") return pool;
  try {
    const list = await listIncidents(pool, { all: opts.all });
    if (opts.json) io.out(JSON.stringify(list, null, 2));
    else if (list.length === 0) io.out(opts.all ? "no incident was ever opened" : "no incident is open");
    else {
      io.out(renderTable(["id", "host", "kind", "record", "opened", "seen", "status"], list.map((i) => [String(i.id), i.host, i.kind, i.seq === null ? "-" : String(i.seq), i.openedAt.toISOString(), String(i.seen), i.resolvedAt ? `resolved: ${i.resolvedBy ?? ""}` : "open"])));
      for (const i of list.filter((x) => !x.resolvedAt)) io.out(`${i.id}: ${escapeText(i.message)}`);
    }
    return EXIT.ok;
  } finally {
    await pool.end();
  }
}

export async function runHubResolve(id: string, opts: DbOptions & { reason?: string }, io: Io): Promise<number> {
  if (!opts.reason) {
    io.err("covenant hub resolve: --reason is required (it goes into the hub's audit log)");
    return EXIT.policyError;
  }
  if (!/^[1-9][0-9]{0,15}$/.test(id)) {
    io.err(`covenant hub resolve: ${escapeText(JSON.stringify(id))} is not an incident number (covenant hub incidents lists them)`);
    return EXIT.policyError;
  }
  const pool = await adminPool(opts, io, "resolve");
  if (typeof pool === "number") return pool;
  try {
    const r = await resolveIncident(pool, Number(id), opts.reason, `cli:${who()}`);
    if ("problem" in r) {
      io.err(`covenant hub resolve: ${escapeText(r.problem)}`);
      return EXIT.policyError;
    }
    io.out(`resolved incident ${r.id}`);
    return EXIT.ok;
  } finally {
    await pool.end();
  }
}

export async function runHubAccept(host: string, opts: DbOptions & { reason?: string }, io: Io): Promise<number> {
  if (!opts.reason) {
    io.err("covenant hub accept: --reason is required (it goes into the hub's audit log)");
    return EXIT.policyError;
  }
  const pool = await adminPool(opts, io, "accept");
  if (typeof pool === "number") return pool;
  try {
    const r = await acceptHostHistory(pool, host, opts.reason, `cli:${who()}`);
    if ("problem" in r) {
      io.err(`covenant hub accept: ${escapeText(r.problem)}`);
      return EXIT.policyError;
    }
    io.out(`accepted ${escapeText(r.name)}'s history as it is now: its chain starts again (epoch ${r.epoch}); what the hub held before is kept`);
    return EXIT.ok;
  } finally {
    await pool.end();
  }
}
