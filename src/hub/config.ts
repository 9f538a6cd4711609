// The hub's configuration (`hub.yaml`, docs/hub.md): where it listens, its certificate, its
// database, how far a host's clock may be from its own, and the fleet monitor's settings
// (monitor/settings.ts, docs/hub-monitor.md). Read with the rules covenant.yaml is
// read with (as root: a file and directories no other user can change); the TLS key and the
// database's password are secrets, read from files or the environment, and never printed.
import { isAbsolute, resolve, dirname } from "node:path";
import { parse as parseYaml } from "yaml";
import { parseDuration } from "../config/durations.js";
import { readConfigFile, readSecretFile } from "../config/files.js";
import { MONITOR_KEYS, readMonitorSettings, type MonitorSettings } from "./monitor/settings.js";

export type { MonitorSettings } from "./monitor/settings.js";

export interface HubConfig {
  listen: { host: string; port: number };
  tls: { cert: string; key: string };
  database: { url: string; passwordFile?: string; poolSize: number };
  clockToleranceMs: number;
  /** the hub's Ed25519 key (signs policy versions): every hub process of one database holds the same */
  signingKey: string;
  policy: { approvalRequired: boolean };
  /** the fleet monitor's settings (notify, monitor, cadence, silentGrace, massDrift, deficiencies); hub.yaml always gives them, a configuration made in code may leave the monitor out */
  monitor?: MonitorSettings;
}

export class HubConfigError extends Error {}

const KNOWN: readonly string[] = ["listen", "tls", "database", "clockTolerance", "signingKey", "policy", ...MONITOR_KEYS];
const DEFAULTS = { host: "127.0.0.1", port: 8443, poolSize: 10, clockTolerance: "2m" };

function fail(path: string, message: string): never {
  throw new HubConfigError(`${path}: ${message}`);
}

function str(v: unknown, path: string, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v === "") fail(path, `${field} must be a non-empty string`);
  return v;
}

/** The database URL with any password in it replaced, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "*****";
    return u.toString();
  } catch {
    return "(a database URL that is not a URL)";
  }
}

/** Reads and checks hub.yaml; `env` gives DATABASE_URL when the file names no database. */
export function loadHubConfig(path: string, env: NodeJS.ProcessEnv = process.env, root = process.getuid?.() === 0): HubConfig {
  const abs = resolve(path);
  const read = readConfigFile(abs, root);
  if ("code" in read) throw new HubConfigError(read.message);
  let doc: unknown;
  try {
    doc = parseYaml(read.text);
  } catch (err) {
    fail(abs, `is not YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== "object" || Array.isArray(doc)) fail(abs, "must be a mapping");
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) if (!KNOWN.includes(k)) fail(abs, `unknown setting ${JSON.stringify(k)} (known: ${KNOWN.join(", ")})`);
  const listen = (d["listen"] ?? {}) as Record<string, unknown>;
  const tls = (d["tls"] ?? {}) as Record<string, unknown>;
  const db = (d["database"] ?? {}) as Record<string, unknown>;
  const port = listen["port"] ?? DEFAULTS.port;
  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) fail(abs, "listen.port must be a port number (0: any free port)");
  const here = dirname(abs);
  const pathOf = (p: string | undefined, field: string): string => {
    if (!p) fail(abs, `${field} is required`);
    return isAbsolute(p) ? p : resolve(here, p);
  };
  const url = str(db["url"], abs, "database.url") ?? env["DATABASE_URL"];
  if (!url) fail(abs, "database.url is required (or DATABASE_URL in the environment)");
  if (db["url"] !== undefined && new URL(url).password) fail(abs, "database.url must not hold a password: give it in database.passwordFile or PGPASSWORD");
  const poolSize = db["poolSize"] ?? DEFAULTS.poolSize;
  if (!Number.isInteger(poolSize) || (poolSize as number) < 1 || (poolSize as number) > 1000) fail(abs, "database.poolSize must be a whole number from 1 to 1000");
  const toleranceText = str(d["clockTolerance"], abs, "clockTolerance") ?? DEFAULTS.clockTolerance;
  const clockToleranceMs = parseDuration(toleranceText);
  if (clockToleranceMs === undefined) fail(abs, `clockTolerance ${JSON.stringify(toleranceText)} is not a duration such as 90s or 2m`);
  const passwordFile = str(db["passwordFile"], abs, "database.passwordFile");
  const policy = (d["policy"] ?? {}) as Record<string, unknown>;
  const approval = policy["approval"] ?? "required";
  if (approval !== "required" && approval !== "not-required") fail(abs, `policy.approval must be "required" (a second person approves each version) or "not-required"`);
  return {
    listen: { host: str(listen["host"], abs, "listen.host") ?? DEFAULTS.host, port: port as number },
    tls: { cert: pathOf(str(tls["cert"], abs, "tls.cert"), "tls.cert"), key: pathOf(str(tls["key"], abs, "tls.key"), "tls.key") },
    database: { url, poolSize: poolSize as number, ...(passwordFile ? { passwordFile: pathOf(passwordFile, "database.passwordFile") } : {}) },
    clockToleranceMs,
    signingKey: pathOf(str(d["signingKey"], abs, "signingKey") ?? "signing.key", "signingKey"),
    policy: { approvalRequired: approval === "required" },
    monitor: readMonitorSettings(d, here, (message) => fail(abs, message)),
  };
}

/** A secret file's text (the TLS key, the database password), or a HubConfigError saying why not. */
export function readHubSecret(path: string, root = process.getuid?.() === 0): string {
  const r = readSecretFile(path, root);
  if ("code" in r) throw new HubConfigError(r.message);
  return r.text;
}
