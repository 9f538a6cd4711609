// One HTTP exchange for the HTTP channels (a JSON POST for webhook and Alertmanager, Twilio's
// form POSTs through twilio-http.ts), and what its answer means for a retry. node:http and node:https rather than the global fetch: fetch loads undici, some 16 MB of
// resident memory in `covenant run` for a few POSTs. A deadline covers the whole exchange
// (connect, TLS, reply), and no redirect is followed: a receiver that moved must be configured
// anew, not followed to wherever a 3xx points (a signed payload sent to a host nobody named).
// Errors name the receiver by its origin only: a webhook URL often carries a token in its path or
// query (Slack's do), and a reply's body is cut, put on one line and stripped of any secret
// before it reaches the outbox or a log.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import type { Delivery } from "./contract.js";
import { escapeText } from "../text/escape.js";
import { cut } from "./text.js";

export type PostAnswer =
  | { kind: "answer"; status: number; statusText: string; location?: string; retryAfter?: string; body: string; /** the body is not whole: over the limit, or cut by the deadline or a reset */ truncated?: true }
  | { kind: "unreachable"; error: string; retryable: boolean };

/** The most of a reply's body read by default (it is shown cut to 200 characters; the rest is not waited for). */
const BODY_LIMIT = 4096;
export const BODY_SHOWN = 200;

/** Headers that frame the request, which postJson sets itself: one from a caller would contradict the body sent. */
const FRAMING_HEADERS = ["content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "expect", "te", "trailer"];

/** The receiver as errors may name it: scheme, host and port, never a path, query or user. */
export function originOf(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

export async function postJson(url: URL, body: string, headers: Record<string, string>, timeoutMs: number): Promise<PostAnswer> {
  return exchange(url, { method: "POST", body, headers, timeoutMs });
}

export interface Exchange {
  method: "GET" | "POST" | "DELETE";
  /** sent as UTF-8; none for a GET */
  body?: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** the most of the reply's body kept, bytes (4 KiB unless said: a reply a caller parses needs more) */
  bodyLimit?: number;
}

/** One request and its answer, never thrown: a network failure is an answer too ("unreachable"). */
export async function exchange(url: URL, req: Exchange): Promise<PostAnswer> {
  const { headers, timeoutMs } = req;
  const bodyLimit = req.bodyLimit ?? BODY_LIMIT;
  const refusal = refusalOf(url, headers);
  if (refusal !== undefined) return { kind: "unreachable", error: refusal, retryable: false };
  const payload = req.body === undefined ? undefined : Buffer.from(req.body, "utf8");
  return new Promise<PostAnswer>((resolve) => {
    let request: ClientRequest;
    try {
      request = openRequest(url, req.method, payload ? { ...headers, "Content-Length": String(payload.length) } : headers);
    } catch (err) {
      // what node:http refuses before a byte is sent (a header value it cannot send): trying again will not help
      resolve({ kind: "unreachable", error: `the request could not be made (${(err as Error).message})`, retryable: false });
      return;
    }
    let settled = false;
    let reply: Reply | undefined;
    const finish = (answer: PostAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      // the connection is never reused (agent: false), so ending it here loses nothing and stops a reply still streaming
      request.destroy();
      resolve(answer);
    };
    // a reply cut short (by the deadline, a reset or the size limit) still says what its status says
    const deadline = setTimeout(() => finish(reply ? reply.answer() : { kind: "unreachable", error: `no answer within ${timeoutMs} ms`, retryable: true }), timeoutMs);
    request.on("error", (err) => finish(reply ? reply.answer() : unreachable(err)));
    request.on("response", (res) => {
      const answered = new Reply(res, bodyLimit);
      reply = answered;
      res.on("data", (chunk: Buffer) => {
        if (answered.add(chunk) >= bodyLimit) finish(answered.answer());
      });
      res.on("end", () => finish(answered.answer(true)));
      res.on("error", () => finish(answered.answer()));
      res.on("aborted", () => finish(answered.answer()));
    });
    request.end(payload);
  });
}

/** Why a request is not attempted at all, in words that quote neither the URL nor a header's value. */
function refusalOf(url: URL, headers: Record<string, string>): string | undefined {
  if (url.username !== "" || url.password !== "") return "the URL holds a user name or password, which Covenant does not send in a URL: configure them apart (a password from a file or the environment)";
  if (url.protocol !== "http:" && url.protocol !== "https:") return `the URL's scheme ${escapeText(cut(url.protocol, 20))} is neither http: nor https:`;
  const framing = Object.keys(headers).find((name) => FRAMING_HEADERS.includes(name.toLowerCase()));
  if (framing !== undefined) return `the request could not be made (the header ${escapeText(cut(framing, 40))} is set by Covenant, not configured)`;
  return undefined;
}

/** A request to `url`, TLS verified against the default CAs; a new connection each time, no proxy. */
function openRequest(url: URL, method: Exchange["method"], headers: Record<string, string>): ClientRequest {
  // URL keeps an IPv6 literal's brackets ("[::1]"); a socket wants the bare address
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const options = { method, hostname, path: `${url.pathname}${url.search}`, headers, agent: false as const };
  if (url.port !== "") Object.assign(options, { port: Number(url.port) });
  if (url.protocol === "http:") return httpRequest(options);
  // SNI names a host, never an address (RFC 6066 forbids a literal there)
  return httpsRequest({ ...options, rejectUnauthorized: true, ...(isIP(hostname) === 0 ? { servername: hostname } : {}) });
}

/** A reply's status, the headers exchange reports, and at most `limit` bytes of its body. */
class Reply {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly res: IncomingMessage,
    private readonly limit: number,
  ) {}

  add(chunk: Buffer): number {
    this.chunks.push(chunk);
    this.size += chunk.length;
    return this.size;
  }

  /** `ended`: the whole body arrived (and then only a body over the limit is cut) */
  answer(ended = false): PostAnswer {
    const body = Buffer.concat(this.chunks).subarray(0, this.limit).toString("utf8");
    const answer: PostAnswer = { kind: "answer", status: this.res.statusCode ?? 0, statusText: this.res.statusMessage ?? "", body };
    const location = this.res.headers["location"];
    const retryAfter = this.res.headers["retry-after"];
    if (location !== undefined) answer.location = location;
    if (retryAfter !== undefined) answer.retryAfter = retryAfter;
    if (!ended || this.size > this.limit) answer.truncated = true;
    return answer;
  }
}

const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "name lookup failed for now",
  ETIMEDOUT: "connection timed out",
  EPIPE: "connection closed",
};

function unreachable(err: Error & { code?: string }): PostAnswer {
  const code = err.code;
  if (code) return { kind: "unreachable", error: NETWORK_WORDS[code] ?? code, retryable: true };
  return { kind: "unreachable", error: `the request could not be made (${err.message})`, retryable: false };
}

/** Retry-After in ms from `now`: delta-seconds ("120") or an HTTP date (RFC 9110); undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The delivery an answer means: 2xx sent; 429, 5xx and a network failure worth a retry; a 3xx
 * (not followed) and any other 4xx not. `receiver` names it in errors ("the webhook at
 * https://siem.example.com"); every text returned passes through `redact` (secrets.ts's redactor).
 */
export function deliveryOf(answer: PostAnswer, receiver: string, redact: (text: string) => string, now: number): Delivery {
  if (answer.kind === "unreachable") return { ok: false, retryable: answer.retryable, error: redact(`${receiver}: ${answer.error}`) };
  const { status } = answer;
  // the receiver's words are redacted before they are escaped and cut: a cut through a secret would leave its start, and escaping would change one holding a control character
  const said = `${status}${answer.statusText ? ` ${escapeText(redact(answer.statusText))}` : ""}`;
  const body = redact(answer.body).trim();
  const reply = body === "" ? "" : `: ${cut(escapeText(body), BODY_SHOWN)}`;
  if (status >= 200 && status < 300) return { ok: true, detail: redact(`${receiver} answered ${said}`) };
  if (status >= 300 && status < 400) {
    const where = locationHost(answer.location);
    return { ok: false, retryable: false, error: redact(`${receiver} answered ${said}, a redirect${where ? ` to ${where}` : ""}, which is not followed: configure the URL it points to`) };
  }
  const retryable = status === 429 || status >= 500;
  const failure: Delivery = { ok: false, retryable, error: redact(`${receiver} answered ${said}${reply}`) };
  const wait = status === 429 || status === 503 ? retryAfterMs(answer.retryAfter, now) : undefined;
  if (wait !== undefined) failure.retryAfterMs = wait;
  return failure;
}

/**
 * A message that could not be made into a request (a payload that does not serialise): not
 * worth a retry, since it fails the same way next time, and never thrown at the dispatcher.
 */
export function unsendable(err: unknown, receiver: string, redact: (text: string) => string): Delivery {
  const why = err instanceof Error ? err.message : String(err);
  return { ok: false, retryable: false, error: redact(`${receiver}: the message could not be sent (${escapeText(why)})`) };
}

function locationHost(location: string | undefined): string | undefined {
  if (!location) return undefined;
  try {
    return escapeText(cut(new URL(location).host, 100));
  } catch {
    return "a relative location";
  }
}
