// One JSON POST for the HTTP channels (webhook, Alertmanager), and what its answer means for a
// retry. Node's fetch (undici) with a deadline covering the whole exchange, and no redirect
// followed: a receiver that moved must be configured anew, not followed to wherever a 3xx points
// (a signed payload sent to a host nobody named). Errors name the receiver by its origin only:
// a webhook URL often carries a token in its path or query (Slack's do), and a reply's body is
// cut, put on one line and stripped of any secret before it reaches the outbox or a log.
import type { Delivery } from "./contract.js";
import { escapeText } from "../text/escape.js";
import { cut } from "./text.js";

export type PostAnswer =
  | { kind: "answer"; status: number; statusText: string; location?: string; retryAfter?: string; body: string }
  | { kind: "unreachable"; error: string; retryable: boolean };

/** The most of a reply's body read (it is shown cut to 200 characters; the rest is not waited for). */
const BODY_LIMIT = 4096;
export const BODY_SHOWN = 200;

/** The receiver as errors may name it: scheme, host and port, never a path, query or user. */
export function originOf(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

export async function postJson(url: URL, body: string, headers: Record<string, string>, timeoutMs: number): Promise<PostAnswer> {
  // fetch refuses such a URL with an error that quotes it, credentials and all
  if (url.username !== "" || url.password !== "") return { kind: "unreachable", error: "the URL holds a user name or password, which Covenant does not send in a URL: configure them apart (a password from a file or the environment)", retryable: false };
  try {
    const res = await fetch(url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    const text = await readSome(res);
    const answer: PostAnswer = { kind: "answer", status: res.status, statusText: res.statusText, body: text };
    const location = res.headers.get("location");
    const retryAfter = res.headers.get("retry-after");
    if (location !== null) answer.location = location;
    if (retryAfter !== null) answer.retryAfter = retryAfter;
    return answer;
  } catch (err) {
    return unreachable(err, timeoutMs);
  }
}

async function readSome(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < BODY_LIMIT) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // a reply cut short still says what its status says
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, BODY_LIMIT).toString("utf8");
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
  UND_ERR_SOCKET: "connection closed",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
};

function unreachable(err: unknown, timeoutMs: number): PostAnswer {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError" || e.name === "AbortError") return { kind: "unreachable", error: `no answer within ${timeoutMs} ms`, retryable: true };
  const code = e.cause?.code;
  if (code) return { kind: "unreachable", error: NETWORK_WORDS[code] ?? code, retryable: true };
  // what fetch refuses before a byte is sent (a header value it cannot send): trying again will not help
  return { kind: "unreachable", error: `the request could not be made (${e.cause?.message ?? e.message})`, retryable: false };
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
