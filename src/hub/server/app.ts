// The hub's HTTPS server: fastify, stateless (everything is in PostgreSQL), so that any number of
// hub processes can serve one database behind a load balancer. Bodies are taken as bytes, since
// what a host signs is the exact bytes; each route has its own size limit, answered with 413.
// The database being down is a 503 ("send later"): a host keeps its records and retries.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type onRequestAsyncHookHandler } from "fastify";
import type { Pool } from "pg";
import { HOST_HEADER, KEY_HEADER, MAX_PUSH_BYTES, SIGNATURE_HEADER } from "../protocol.js";
import { SCHEMA_VERSION } from "../db/migrations.js";
import { MAX_ENROLL_BYTES, takeEnrollment } from "./enroll.js";
import { takePolicyFetch } from "./policy-fetch.js";
import { takePush } from "./push.js";
import { hostNamed, type HostRequest, type KnownHost } from "./host-auth.js";
import { findRule, isHostRoute } from "../auth/rules.js";
import { mountApi } from "./api/registry.js";
import type { HubKey } from "../signing.js";
import { policyHandlers } from "./api/policy-routes.js";
import { sessionHandlers } from "./api/session-routes.js";
import { userHandlers } from "./api/user-routes.js";
import { fleetHandlers } from "./api/fleet-routes.js";
import { auditHandlers } from "./api/audit-routes.js";
import { decisionHandlers } from "./api/decision-routes.js";
import { pageHandlers } from "./api/page-routes.js";
import { decisionPageHandlers } from "./api/decision-pages.js";
import { evidenceHandlers } from "./api/evidence-routes.js";

import { errorDocument } from "../dashboard/layout.js";
import { HTML, PAGE_HEADERS } from "../dashboard/refusals.js";
import { sessionPageHandlers } from "../dashboard/session-pages.js";
import { overviewHandlers } from "../dashboard/overview-page.js";
import { fleetPageHandlers } from "../dashboard/fleet-pages.js";
import { recordPageHandlers } from "../dashboard/record-pages.js";
import { evidencePageHandlers } from "../dashboard/evidence-page.js";

declare const COVENANT_VERSION: string;
/** Covenant's version, as the fleet evidence the hub makes names it */
const GENERATOR = typeof COVENANT_VERSION === "string" ? COVENANT_VERSION : "0.0.0-dev";

export interface HubAppOptions {
  pool: Pool;
  https: { cert: Buffer; key: Buffer };
  clockToleranceMs: number;
  /** the hub's signing key's public half, given to hosts as they enrol */
  hubKey?: { publicKey: string; fingerprint: string };
  /** the hub's signing key itself (policy versions are signed with it) */
  key: HubKey;
  approvalRequired: boolean;
  /** where the hub says what went wrong that is not the client's fault (never a secret: errors from pg name no password) */
  log: (line: string) => void;
  /** the hub's clock, for sessions, login throttling and dating each push (tests move it); the system's when absent */
  now?: () => Date;
  /** called after a push was stored (serve.ts: the pushed policies' checker is woken) */
  afterPush?: () => void;
  /** how long one request may take to arrive whole (default REQUEST_TIMEOUT_MS; tests shorten it) */
  requestTimeoutMs?: number;
}

/**
 * How long one request may take to arrive whole. Without it a client sending a byte now and then
 * kept its connection, and up to 8 MiB of buffered body, for ever (fastify's default is none, and
 * the idle timeout restarts with each byte): anyone, before any signature is looked at. A host
 * gives up on a push after 10 s (client/http.ts), so a minute is ample.
 */
export const REQUEST_TIMEOUT_MS = 60_000;

/**
 * Refuses, as the server is built, any route that auth/rules.ts does not declare: a person's route
 * without an access rule, or a host's route not declared as one, cannot exist. HEAD is fastify's
 * own twin of a declared GET, behind the same guard.
 */
function declaredOnly(app: FastifyInstance): void {
  const served: string[] = [];
  servedBy.set(app, served);
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      const method = m === "HEAD" ? "GET" : m;
      if (!findRule(method, route.url) && !isHostRoute(method, route.url)) throw new Error(`${m} ${route.url} has no access rule in src/hub/auth/rules.ts`);
      served.push(`${m} ${route.url}`);
    }
  });
}

const servedBy = new WeakMap<FastifyInstance, string[]>();

/** Every route the app was given ("METHOD /path"), as it was added: for the test that each is declared. */
export function servedRoutes(app: FastifyInstance): readonly string[] {
  return servedBy.get(app) ?? [];
}

/**
 * The PostgreSQL error classes and Node errors that mean "the database cannot take this now, try
 * again": down (08, 57P0x), out of resources (53), a statement cancelled by statement_timeout
 * (57014), a deadlock or serialization failure (40P01, 40001), and no pooled connection free
 * within the pool's wait (pg-pool's "timeout exceeded when trying to connect": a busy hub).
 */
function databaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e.code === "string" && /^(08|57P0|53|57014$|40P01$|40001$)/.test(e.code)) return true;
  if (e.code === "ECONNREFUSED" || e.code === "ECONNRESET" || e.code === "ETIMEDOUT" || e.code === "EPIPE") return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(e.message ?? "");
}

export function buildHubApp(opts: HubAppOptions): FastifyInstance {
  const requestTimeout = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  // given to Node's server as it is made (set afterwards, as fastify does, Node does not apply it
  // while headersTimeout is longer); it looks for requests past their time every
  // connectionsCheckingInterval (30 s by default)
  const https = {
    cert: opts.https.cert,
    key: opts.https.key,
    requestTimeout,
    headersTimeout: Math.min(60_000, requestTimeout),
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeout / 4))),
  };
  const app = Fastify({ https, logger: false, bodyLimit: MAX_PUSH_BYTES, return503OnClosing: true, connectionTimeout: 60_000, requestTimeout });
  declaredOnly(app);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  // a browser's form (the dashboard's), read by the API's guard for its _csrf field
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  // a failure on a dashboard page is a page too (HTML, with the pages' headers); anywhere else, JSON
  // (the status is read once reply.code() has set it: the argument is evaluated after the call it is given to)
  const refusal = (url: string, status: number, message: string): unknown => (isPagePath(url) ? errorDocument(status, message) : { status: "error", message });
  app.addHook("onSend", async (req, reply, payload) => {
    if (isPagePath(req.url) && reply.statusCode >= 400 && !reply.hasHeader("content-security-policy")) {
      for (const [k, v] of Object.entries(PAGE_HEADERS)) reply.header(k, v);
      reply.header("content-type", HTML);
    }
    return payload;
  });
  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, req, reply: FastifyReply) => {
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") return reply.code(413).send(refusal(req.url, reply.statusCode, "the request is larger than the hub takes"));
    if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return reply.code(415).send(refusal(req.url, reply.statusCode, "the hub takes application/json (and forms, on /api/) only"));
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send(refusal(req.url, reply.statusCode, "the request could not be read"));
    if (databaseUnavailable(err)) {
      opts.log(`hub: the database is unavailable (${err.code ?? "?"}): answered 503`);
      return reply.code(503).header("retry-after", "30").send(refusal(req.url, reply.statusCode, "the hub's database is unavailable: send later"));
    }
    opts.log(`hub: internal error: ${err.message}`);
    return reply.code(500).send(refusal(req.url, reply.statusCode, "the hub failed on this request (its log says why)"));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(refusal(req.url, reply.statusCode, "no such endpoint")));

  app.get("/v1/health", async () => {
    await opts.pool.query("SELECT 1");
    return { status: "ok", schema: SCHEMA_VERSION };
  });

  app.post("/v1/enroll", { bodyLimit: MAX_ENROLL_BYTES }, async (req, reply) => {
    const out = await takeEnrollment(opts.pool, bodyBytes(req.body), header(req.headers[SIGNATURE_HEADER]), opts.hubKey);
    return reply.code(out.status).send(out.body);
  });

  app.post("/v1/policy", { bodyLimit: MAX_ENROLL_BYTES, onRequest: hostFirst(opts.pool, "policy") }, async (req, reply) => {
    const out = await takePolicyFetch(opts.pool, bodyBytes(req.body), header(req.headers[HOST_HEADER]), header(req.headers[SIGNATURE_HEADER]), namedHosts.get(req));
    return reply.code(out.status).send(out.body);
  });

  app.post("/v1/push", { onRequest: hostFirst(opts.pool, "push") }, async (req, reply) => {
    const out = await takePush(opts.pool, bodyBytes(req.body), header(req.headers[HOST_HEADER]), header(req.headers[SIGNATURE_HEADER]), { clockToleranceMs: opts.clockToleranceMs, decisionKey: opts.key.privateKey, ...(opts.now ? { now: opts.now } : {}) }, header(req.headers[KEY_HEADER]), namedHosts.get(req));
    if (out.status === 200) opts.afterPush?.();
    return reply.code(out.status).send(out.body);
  });

  mountApi(app, { pool: opts.pool, log: opts.log, now: opts.now ?? (() => new Date()), key: opts.key, approvalRequired: opts.approvalRequired }, {
    ...sessionHandlers,
    ...userHandlers,
    ...fleetHandlers,
    ...auditHandlers,
    ...policyHandlers,
    ...sessionPageHandlers,
    ...overviewHandlers,
    ...fleetPageHandlers,
    ...recordPageHandlers,
    ...evidencePageHandlers,
    ...decisionHandlers,
    ...pageHandlers,
    ...decisionPageHandlers,
    ...evidenceHandlers(opts.clockToleranceMs, GENERATOR),
  });
  return app;
}

/** Whether a request is for the dashboard's pages (/, /ui, /ui/...), whose failures are pages. */
function isPagePath(url: string): boolean {
  const path = url.split("?")[0]!;
  return path === "/" || path === "/ui" || path.startsWith("/ui/");
}

/** The host each host request names, as its onRequest hook found it (the handler does not look it up again). */
const namedHosts = new WeakMap<FastifyRequest, KnownHost>();

/**
 * A host route's first step, before its body is read: a request naming no enrolled host, or a
 * revoked one, is answered there (401, 403), so that nobody makes the hub buffer and hash
 * megabytes in the name of a host that does not exist.
 */
function hostFirst(pool: Pool, what: HostRequest): onRequestAsyncHookHandler {
  return async (req, reply) => {
    const host = await hostNamed(pool, header(req.headers[HOST_HEADER]), what);
    if ("status" in host) return reply.code(host.status).send(host.body);
    namedHosts.set(req, host);
  };
}

function bodyBytes(body: unknown): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
}

function header(v: string | string[] | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}
