// The one way people's routes reach the server: each declared rule (auth/rules.ts) is mounted
// with its handler behind the same guard, in this order: credentials (a bearer API token, else
// the session cookie; 401 without), the kind of credential the route takes (403), for a change
// made with a cookie the request's origin and its CSRF token (403), the roles the rule lets in
// (403), then the one object the route names, resolved and held to the user's reach (404 when it
// is missing or out of reach alike, so that scope does not reveal what exists). A rule without a
// handler, or a handler without a rule, stops the server from starting.
import type { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Pool } from "pg";
import { accessFor, type Access, type Principal } from "../../auth/access.js";
import { ruleProblems, USER_ROUTES, type RouteRule } from "../../auth/rules.js";
import { bearerToken, csrfMatches, csrfTokenOf, sessionIdFromCookie, sessionUser, sha256, tokenUser, type Authenticated } from "../../auth/sessions.js";
import { AccessInputError } from "../../auth/users.js";
import { targetVisible } from "./targets.js";
import { prepareDummyHash } from "../../auth/passwords.js";
import { asPage, PAGE_HEADERS } from "../../dashboard/refusals.js";
import type { HubKey } from "../../signing.js";

export const MAX_API_BODY_BYTES = 64 * 1024;

export interface ApiDeps {
  pool: Pool;
  log: (line: string) => void;
  now: () => Date;
  /** the hub's signing key (approved policy versions are signed with it) */
  key: HubKey;
  /** whether a policy version waits for a second person's approval (hub.yaml policy.approval) */
  approvalRequired: boolean;
}

export interface Call {
  req: FastifyRequest;
  deps: ApiDeps;
  rule: RouteRule;
  /** absent only on routes that take no credentials (logging in) */
  principal?: Principal;
  access?: Access;
  /** the session id of the browser's cookie, when it sent one (logging in ends it) */
  cookieSession?: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: Record<string, unknown>;
  address: string;
  /** the session's CSRF token, for the forms a page writes (absent with an API token or no credentials) */
  csrf?: string;
}

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** a body sent as it is (CSV; a pack's archive read from its file), with this content type */
  raw?: { type: string; text: string | Buffer | Readable };
}

export type Handler = (call: Call) => Promise<Answer>;

function refuse(status: number, message: string, headers: Record<string, string> = {}): Answer {
  return { status, body: { status: "error", message }, headers };
}

const WRITES = new Set(["POST", "PUT", "DELETE", "PATCH"]);

/** For a change made by a browser: refused when the browser says the request came from another site. */
function crossSite(req: FastifyRequest): boolean {
  const site = req.headers["sec-fetch-site"];
  if (typeof site === "string" && site !== "same-origin" && site !== "none") return true;
  const origin = req.headers["origin"];
  if (typeof origin === "string") return origin !== `https://${req.headers.host ?? ""}`;
  return false;
}

function readBody(req: FastifyRequest): Record<string, unknown> | AccessInputError {
  const raw = req.body;
  if (!Buffer.isBuffer(raw) || raw.length === 0) return {};
  const type = String(req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  const text = raw.toString("utf8");
  if (type === "application/x-www-form-urlencoded") return Object.fromEntries(new URLSearchParams(text));
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // answered below
  }
  return new AccessInputError("the body is not a JSON object");
}

async function authenticate(req: FastifyRequest, deps: ApiDeps, cookieSession: string | undefined): Promise<{ who?: Authenticated; principalVia?: Principal["via"]; problem?: Answer }> {
  const authorization = req.headers["authorization"];
  if (authorization !== undefined) {
    const token = bearerToken(typeof authorization === "string" ? authorization : undefined);
    const who = token ? await tokenUser(deps.pool, token, deps.now()) : undefined;
    if (!who) return { problem: refuse(401, "the API token is not valid (unknown, revoked, expired, or its user disabled)", { "www-authenticate": 'Bearer realm="covenant-hub"' }) };
    return { who, principalVia: { kind: "token", tokenId: who.tokenId } };
  }
  if (cookieSession) {
    const who = await sessionUser(deps.pool, cookieSession, deps.now());
    if (who) return { who, principalVia: { kind: "session", idHash: sha256(cookieSession) } };
  }
  return { problem: refuse(401, "sign in first (POST /api/login), or send an API token (Authorization: Bearer cvh_...)") };
}

/** Everything the guard decides before the handler runs: the call, or the answer refusing it. */
async function admit(rule: RouteRule, req: FastifyRequest, deps: ApiDeps): Promise<Call | Answer> {
  const cookieSession = sessionIdFromCookie(req.headers.cookie);
  const call: Call = { req, deps, rule, params: (req.params ?? {}) as Record<string, string>, query: (req.query ?? {}) as Record<string, string>, body: {}, address: req.ip, ...(cookieSession ? { cookieSession } : {}) };
  const body = readBody(req);
  if (body instanceof AccessInputError) return refuse(400, body.message);
  call.body = body;
  const write = WRITES.has(rule.method);
  if (rule.credentials === "none") {
    if (write && crossSite(req)) return refuse(403, "a request from another site is refused");
    return call;
  }
  const auth = await authenticate(req, deps, cookieSession);
  if (auth.problem) return auth.problem;
  const via = auth.principalVia!;
  if (rule.credentials === "session" && via.kind !== "session") return refuse(403, "this takes a signed-in browser session, not an API token");
  if (write && via.kind === "session") {
    if (crossSite(req)) return refuse(403, "a request from another site is refused");
    const presented = req.headers["x-csrf-token"] ?? body["_csrf"];
    if (!csrfMatches(cookieSession!, typeof presented === "string" ? presented : undefined)) return refuse(403, "the CSRF token is missing or wrong (send the one GET /api/me gives, in x-csrf-token or _csrf)");
  }
  const principal: Principal = { userId: auth.who!.user.id, name: auth.who!.user.name, grants: auth.who!.grants, via };
  const access = accessFor(rule, principal.grants);
  if (!access) return refuse(403, "your roles do not allow this");
  call.principal = principal;
  call.access = access;
  if (via.kind === "session") call.csrf = csrfTokenOf(cookieSession!);
  if (rule.target && !(await targetVisible(deps.pool, rule.target.kind, call.params[rule.target.param] ?? "", principal, access))) return refuse(404, "not found");
  return call;
}

async function send(reply: FastifyReply, a: Answer, page = false): Promise<FastifyReply> {
  reply.code(a.status).header("cache-control", "no-store").header("x-content-type-options", "nosniff");
  if (page) for (const [k, v] of Object.entries(PAGE_HEADERS)) reply.header(k, v);
  for (const [k, v] of Object.entries(a.headers ?? {})) reply.header(k, v);
  if (a.raw) return reply.type(a.raw.type).send(a.raw.text);
  return a.body === undefined ? reply.send() : reply.send(a.body);
}

/** Mounts every declared rule with its handler; throws when the declarations and the handlers do not match one for one. */
export function mountApi(app: FastifyInstance, deps: ApiDeps, handlers: Record<string, Handler>): void {
  const problems = ruleProblems();
  for (const r of USER_ROUTES) if (!handlers[r.id]) problems.push(`${r.method} ${r.path} (${r.id}) has no handler`);
  for (const id of Object.keys(handlers)) if (!USER_ROUTES.some((r) => r.id === id)) problems.push(`the handler ${id} has no rule in auth/rules.ts`);
  if (problems.length > 0) throw new Error(`the hub's access rules do not hold: ${problems.join("; ")}`);
  prepareDummyHash();
  for (const rule of USER_ROUTES) {
    const handler = handlers[rule.id]!;
    app.route({
      method: rule.method,
      url: rule.path,
      bodyLimit: rule.maxBody ?? MAX_API_BODY_BYTES,
      handler: async (req, reply) => {
        // a page's refusal is a page too (no session: to the sign-in page; else an HTML error page)
        const out = (a: Answer): Promise<FastifyReply> => (rule.page ? send(reply, asPage(rule, req.url, a), true) : send(reply, a));
        const admitted = await admit(rule, req, deps);
        if (!("req" in admitted)) return out(admitted);
        try {
          return await out(await handler(admitted));
        } catch (err) {
          if (err instanceof AccessInputError) return out(refuse(err.status, err.message));
          throw err;
        }
      },
    });
  }
}
