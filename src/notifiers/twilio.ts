// The SMS channel: one text per planned message, to the person's phone, through Twilio's
// Messages API with the official `twilio` client. The text is fitted to one segment (render.ts).
// Twilio's answers are told apart: a rate limit (429) is retried after the delay Twilio asks
// for, a server error or a network failure is retried, and a refusal that would come again (bad
// credentials, an invalid or unreachable number) is not. The auth token never leaves the client.
import { AsyncLocalStorage } from "node:async_hooks";
import twilio from "twilio";
import type TwilioRequestClient from "twilio/lib/base/RequestClient.js";
import type { SmsChannel } from "../config/types.js";
import type { Channel, ChannelContext, ChannelFactory, Delivery, Message } from "./contract.js";
import { retryAfterMs } from "./http.js";
import { smsSegments, smsText } from "./render.js";
import { redactor } from "./secrets.js";
import { serverWords } from "./text.js";

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

/** The answer to one send's request, kept apart from other sends in flight on the same client. */
interface RequestNote {
  retryAfter: string | undefined;
}

/**
 * The HTTP client the twilio library sends through: Twilio's own, with its URIs moved to
 * `api_url` when one is set, and keeping each response's Retry-After so a 429's can be read
 * (the library's exception keeps only the body). One client serves every send of a channel:
 * each send's note is its own (AsyncLocalStorage), as sends run concurrently.
 */
class CovenantRequestClient extends twilio.RequestClient {
  readonly notes = new AsyncLocalStorage<RequestNote>();

  constructor(
    private readonly apiUrl: string | undefined,
    timeoutMs: number,
  ) {
    // no keep-alive: a CLI run must be able to end without closing an agent
    super({ timeout: timeoutMs, keepAlive: false, autoRetry: false });
  }

  override async request<TData>(opts: TwilioRequestClient.RequestOptions<TData>) {
    const uri = this.apiUrl ? rewriteTwilioUri(opts.uri, this.apiUrl) : opts.uri;
    const response = await super.request<TData>({ ...opts, uri });
    const header = (response.headers as Record<string, unknown> | undefined)?.["retry-after"];
    const note = this.notes.getStore();
    if (note) note.retryAfter = typeof header === "string" ? header : undefined;
    return response;
  }
}

/** Twilio error codes that say the same request would be refused again: the number, not the moment. */
const PERMANENT_CODES = new Map<number, string>([
  [20003, "authentication failed (check account_sid and the auth token)"],
  [21211, "invalid 'To' phone number"],
  [21214, "'To' phone number cannot be reached"],
  [21408, "permission to send to this region is not enabled"],
  [21606, "the 'From' number cannot send this message"],
  [21610, "the recipient has unsubscribed (replied STOP)"],
  [21612, "the 'To' number cannot be reached from the 'From' number"],
  [21614, "'To' number is not a valid mobile number"],
]);

interface TwilioFailure {
  status?: number;
  code?: number | string;
  message?: string;
}

/** A failed create as a Delivery: retryable for 429, 5xx and the network; not for other refusals. */
function classify(err: TwilioFailure, retryAfter: string | undefined, now: Date): Extract<Delivery, { ok: false }> {
  const status = typeof err.status === "number" ? err.status : undefined;
  const code = typeof err.code === "number" ? err.code : undefined;
  const words = serverWords(err.message ?? "");
  if (status === undefined) {
    // no HTTP answer: refused, reset, timed out, name not resolved
    const cause = typeof err.code === "string" ? `${err.code}: ` : "";
    return { ok: false, retryable: true, error: `twilio: ${cause}${words || "no answer"}` };
  }
  const known = code !== undefined ? PERMANENT_CODES.get(code) : undefined;
  const label = `twilio HTTP ${status}${code !== undefined ? ` error ${code}` : ""}`;
  if (status === 429) {
    const wait = retryAfterMs(retryAfter, now.getTime());
    return { ok: false, retryable: true, ...(wait !== undefined ? { retryAfterMs: wait } : {}), error: `${label}: rate limited${wait !== undefined ? `, retry after ${Math.ceil(wait / 1000)}s` : ""}: ${words}` };
  }
  if (status >= 500) return { ok: false, retryable: true, error: `${label}: ${words}` };
  return { ok: false, retryable: false, error: `${label}: ${known ?? words}${known && words ? ` (${words})` : ""}` };
}

export const createChannel: ChannelFactory = async (config, ctx) => {
  if (config.type !== "twilio") throw new Error(`channel ${config.name}: not a twilio channel (${config.type})`);
  return smsChannel(config, ctx);
};

function smsChannel(config: SmsChannel, ctx: ChannelContext): Channel {
  if (!/^AC[0-9a-fA-F]{32}$/.test(config.accountSid)) throw new Error(`channel ${config.name}: account_sid must be AC followed by 32 hexadecimal digits`);
  if (!config.from && !config.messagingServiceSid) throw new Error(`channel ${config.name}: needs from or messaging_service_sid`);
  const token = ctx.readSecret(config.authToken, `channel ${config.name}: auth token`);
  // with the HTTP Basic credentials, whose base64 form (the Authorization header) the redactor blots too
  const redact = redactor([token, `${config.accountSid}:${token}`]);

  // one client for the channel: making Twilio's client and its HTTP client (an axios instance
  // and an agent) per message cost time and memory for each of hundreds of texts
  const http = new CovenantRequestClient(config.apiUrl, config.timeoutMs);
  const client = twilio(config.accountSid, token, { httpClient: http, env: {}, autoRetry: false });
  const sender = config.messagingServiceSid ? { messagingServiceSid: config.messagingServiceSid } : { from: config.from! };

  async function send(message: Message): Promise<Delivery> {
    const to = message.person?.phone;
    if (!to) return { ok: false, retryable: false, error: `no phone number for ${message.person?.name ?? message.stakeholder.name}` };
    const note: RequestNote = { retryAfter: undefined };
    try {
      const body = smsText(message);
      const sent = await http.notes.run(note, () => client.messages.create({ to, body, ...sender }));
      return { ok: true, providerId: sent.sid, detail: redact(`accepted by Twilio for ${to}: ${sent.sid} (${sent.status}, ${smsSegments(body)} segment${smsSegments(body) === 1 ? "" : "s"})`) };
    } catch (err) {
      // the library's words redacted before classify folds their white space (a secret holding some would no longer match)
      const e = err as TwilioFailure;
      const failure = classify({ status: e.status, code: e.code, message: e.message === undefined ? undefined : redact(e.message) }, note.retryAfter, ctx.now());
      return { ...failure, error: redact(failure.error) };
    }
  }

  return { config, send, close: async () => {} };
}
