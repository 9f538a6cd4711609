// The HTTP client the twilio library sends through (its `httpClient` option, which Twilio
// documents for custom clients): Twilio's own client code builds each request (resource URI,
// parameters, authentication, User-Agent) and reads each answer (a resource, or a RestException
// with Twilio's error code), while the exchange itself goes through http.ts on node:http and
// node:https. Twilio's default RequestClient would bring axios and its dependencies (with the
// whole client, 14 MB more resident memory in a `covenant run` that sends texts, bench/notify),
// and the bundle leaves it out (scripts/bundle-options.mjs).
import { AsyncLocalStorage } from "node:async_hooks";
import { exchange } from "./http.js";

/** What twilio's Client passes to `httpClient.request` (twilio/lib/base/BaseTwilio.js). */
export interface TwilioRequest {
  method: string;
  uri: string;
  username?: string;
  password?: string;
  headers?: Record<string, string>;
  params?: Record<string, unknown>;
  data?: Record<string, unknown>;
  timeout?: number;
}

/** What the library expects back: it parses the body (JSON) and throws a RestException below 200 or from 300. */
export interface TwilioResponse {
  statusCode: number;
  body: string;
  headers: Record<string, string>;
}

/** A failure with no usable HTTP answer (no `status`): `retryable` says whether trying again can help. */
export class TwilioNetworkError extends Error {
  readonly code = "network";
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** The answer to one send's request, kept apart from other sends in flight on the same client. */
export interface RequestNote {
  retryAfter: string | undefined;
}

/** Twilio's JSON answers are a few KiB; a longer one is not Twilio's, and is not parsed. */
const REPLY_LIMIT = 256 * 1024;

/**
 * Where a request for one of Twilio's hosts (api.twilio.com, and the product hosts such as
 * messaging.twilio.com) goes when `api_url` names another base: a proxy, or a test server.
 */
export function rewriteTwilioUri(uri: string, apiUrl: string): string {
  const from = new URL(uri);
  if (!/(^|\.)twilio\.com$/i.test(from.hostname)) return uri;
  const base = new URL(apiUrl);
  const prefix = base.pathname.replace(/\/+$/, "");
  return `${base.origin}${prefix}${from.pathname}${from.search}`;
}

/** Form parameters as Twilio takes them: a list repeats its key (`MediaUrl=a&MediaUrl=b`). */
export function formEncode(fields: Record<string, unknown>): string {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== null && typeof one === "object") throw new TypeError(`the parameter ${key} is not a plain value`);
      form.append(key, String(one));
    }
  }
  return form.toString();
}

const METHODS = { get: "GET", post: "POST", delete: "DELETE" } as const;

function isJsonObject(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v);
  } catch {
    return false;
  }
}

export class TwilioHttpClient {
  /** each send's Retry-After (the library's exception keeps only the body): sends run concurrently */
  readonly notes = new AsyncLocalStorage<RequestNote>();

  constructor(
    private readonly apiUrl: string | undefined,
    private readonly timeoutMs: number,
  ) {}

  async request(opts: TwilioRequest): Promise<TwilioResponse> {
    const method = METHODS[opts.method.toLowerCase() as keyof typeof METHODS];
    if (!method) throw new TwilioNetworkError(`the HTTP method ${opts.method} is not one Covenant sends`, false);
    const url = new URL(this.apiUrl ? rewriteTwilioUri(opts.uri, this.apiUrl) : opts.uri);
    if (opts.params) for (const [k, v] of new URLSearchParams(formEncode(opts.params))) url.searchParams.append(k, v);
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.username && opts.password) headers["Authorization"] = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString("base64")}`;
    let body: string | undefined;
    try {
      body = opts.data && method !== "GET" ? formEncode(opts.data) : undefined;
    } catch (err) {
      // the same parameters fail the same way next time
      throw new TwilioNetworkError(`the request could not be made (${(err as Error).message})`, false);
    }
    const answer = await exchange(url, { method, ...(body !== undefined ? { body } : {}), headers, timeoutMs: opts.timeout ?? this.timeoutMs, bodyLimit: REPLY_LIMIT });
    if (answer.kind === "unreachable") throw new TwilioNetworkError(answer.error, answer.retryable);
    const note = this.notes.getStore();
    if (note) note.retryAfter = answer.retryAfter;
    // a 2xx cut short may still have been taken: retried, it carries the same text (at least once)
    if (answer.truncated) throw new TwilioNetworkError(`Twilio answered ${answer.status} but its reply did not arrive whole`, true);
    // a 2xx that is not a JSON object: said here, in words that quote none of it (the library's
    // JSON.parse error would quote its first characters, which could be anything, a secret too)
    if (answer.status >= 200 && answer.status < 300 && !isJsonObject(answer.body)) throw new TwilioNetworkError(`Twilio answered ${answer.status} with a reply that is not a JSON object`, true);
    return { statusCode: answer.status, body: answer.body, headers: answer.retryAfter !== undefined ? { "retry-after": answer.retryAfter } : {} };
  }
}
