// One JSON POST for the HTTP channels (webhook, Alertmanager), and what its answer means for a
// retry. Node's fetch (undici) with a deadline covering the whole exchange, and no redirect
// followed: a receiver that moved must be configured anew, not followed to wherever a 3xx points
// (a signed payload sent to a host nobody named). Errors name the receiver by its origin only:
// a webhook URL often carries a token in its path or query (Slack's do), and a reply's body is
// cut, put on one line and stripped of any secret before it reaches the outbox or a log.
import type { Delivery } from "./contract.js";
import { cut, oneLine } from "./text.js";

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

/** "120" or an HTTP date → ms from `now`; undefined when neither. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The delivery an answer means: 2xx sent; 429, 5xx and a network failure worth a retry; a 3xx
 * (not followed) and any other 4xx not. `receiver` names it in errors ("the webhook at
 * https://siem.example.com"); every text in `secrets` is blotted out of the error.
 */
export function deliveryOf(answer: PostAnswer, receiver: string, secrets: string[], now: number): Delivery {
  const blot = (text: string) => secrets.reduce((t, s) => (s.length > 0 ? t.split(s).join("[secret]") : t), text);
  if (answer.kind === "unreachable") return { ok: false, retryable: answer.retryable, error: blot(`${receiver}: ${answer.error}`) };
  const { status } = answer;
  const said = `${status}${answer.statusText ? ` ${oneLine(answer.statusText)}` : ""}`;
  const reply = answer.body.trim() === "" ? "" : `: ${cut(oneLine(answer.body.trim()), BODY_SHOWN)}`;
  if (status >= 200 && status < 300) return { ok: true, detail: blot(`${receiver} answered ${said}`) };
  if (status >= 300 && status < 400) {
    const where = locationHost(answer.location);
    return { ok: false, retryable: false, error: blot(`${receiver} answered ${said}, a redirect${where ? ` to ${where}` : ""}, which is not followed: configure the URL it points to`) };
  }
  const retryable = status === 429 || status >= 500;
  const failure: Delivery = { ok: false, retryable, error: blot(`${receiver} answered ${said}${reply}`) };
  const wait = status === 429 || status === 503 ? retryAfterMs(answer.retryAfter, now) : undefined;
  if (wait !== undefined) failure.retryAfterMs = wait;
  return failure;
}

function locationHost(location: string | undefined): string | undefined {
  if (!location) return undefined;
  try {
    return oneLine(cut(new URL(location).host, 100));
  } catch {
    return "a relative location";
  }
}
