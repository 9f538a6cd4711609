// A page's answer when the guard (server/api/registry.ts) or the handler refuses: a browser
// without a session is sent to the sign-in page (coming back afterwards to the page it asked
// for, when that is a dashboard page); any other refusal is an HTML page with the refusal's
// status, never the API's JSON. Every page answer carries the headers below: a CSP that allows
// no script at all, no framing, and no referrer beyond the hub itself.
import type { Readable } from "node:stream";
import type { RouteRule } from "../auth/rules.js";
import { errorDocument } from "./layout.js";
import { loginPath } from "./next.js";

export const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": PAGE_CSP,
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
};

export const HTML = "text/html; charset=utf-8";

interface PageAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  raw?: { type: string; text: string | Buffer | Readable };
}

/** The answer as a page: a refusal (JSON, status 400 and up) becomes a redirect or an HTML page. */
export function asPage<A extends PageAnswer>(rule: RouteRule, url: string, a: A): A | PageAnswer {
  if (a.raw || a.status < 400) return a;
  if (a.status === 401) return { status: 303, headers: { location: loginPath(rule.method === "GET" ? url : undefined) } };
  const message = typeof (a.body as { message?: unknown } | undefined)?.message === "string" ? (a.body as { message: string }).message : "refused";
  return { status: a.status, headers: a.headers ?? {}, raw: { type: HTML, text: errorDocument(a.status, message) } };
}
