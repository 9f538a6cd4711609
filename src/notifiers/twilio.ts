// The SMS channel: one text per planned message, to the person's phone, through Twilio's
// Messages API with the official `twilio` client. The text is fitted to one segment (render.ts).
// Twilio's answers are told apart: a rate limit (429) is retried after the delay Twilio asks
// for, a server error or a network failure is retried, and a refusal that would come again (bad
// credentials, an invalid or unreachable number) is not. The auth token never leaves the client.
import type { SmsChannel } from "../config/types.js";
import type { Channel, ChannelContext, ChannelFactory, Delivery, Message } from "./contract.js";
import { retryAfterMs } from "./http.js";
import { smsSegments, smsText } from "./render.js";
import { redactor } from "./secrets.js";
import { cut, serverWords } from "./text.js";
import { TwilioHttpClient, type RequestNote } from "./twilio-http.js";
import { twilioMessages } from "./twilio-messages.js";

export { rewriteTwilioUri } from "./twilio-http.js";

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
  /** set by TwilioHttpClient when there was no answer: false when trying again cannot help */
  retryable?: boolean;
}

/** A message SID as Twilio writes one (SM or MM and 32 hexadecimal digits), or undefined. */
function twilioSid(value: unknown): string | undefined {
  return typeof value === "string" && /^[A-Z]{2}[0-9a-f]{32}$/i.test(value) ? value : undefined;
}

/** The most of a server's words an error keeps (as the HTTP channels keep of a reply's body). */
const WORDS_SHOWN = 200;

/** A failed create as a Delivery: retryable for 429, 5xx and the network; not for other refusals. */
function classify(err: TwilioFailure, retryAfter: string | undefined, now: Date): Extract<Delivery, { ok: false }> {
  const status = typeof err.status === "number" ? err.status : undefined;
  const code = typeof err.code === "number" ? err.code : undefined;
  const words = cut(serverWords(err.message ?? ""), WORDS_SHOWN);
  if (status === undefined) {
    // no HTTP answer: refused, reset, timed out, name not resolved
    return { ok: false, retryable: err.retryable ?? true, error: `twilio: ${words || "no answer"}` };
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

  // one client for the channel, made once: sends run concurrently through it
  const http = new TwilioHttpClient(config.apiUrl, config.timeoutMs);
  const messages = twilioMessages(config.accountSid, token, http);
  const sender = config.messagingServiceSid ? { messagingServiceSid: config.messagingServiceSid } : { from: config.from! };

  async function send(message: Message): Promise<Delivery> {
    const to = message.person?.phone;
    if (!to) return { ok: false, retryable: false, error: `no phone number for ${message.person?.name ?? message.stakeholder.name}` };
    const note: RequestNote = { retryAfter: undefined };
    try {
      const body = smsText(message);
      const sent = await http.notes.run(note, () => messages.create({ to, body, ...sender }));
      // the server's words: the provider id is kept for ever in the history, so only a SID of
      // Twilio's form is (and redacted even then); anything else is said as unknown
      const sid = twilioSid(sent.sid);
      const status = typeof sent.status === "string" ? cut(serverWords(sent.status), 20) : "?";
      const segments = smsSegments(body);
      return { ok: true, ...(sid !== undefined ? { providerId: redact(sid) } : {}), detail: redact(`accepted by Twilio for ${to}: ${sid ?? "no message SID in the reply"} (${status}, ${segments} segment${segments === 1 ? "" : "s"})`) };
    } catch (err) {
      // the library's words redacted before classify folds their white space (a secret holding
      // some would no longer match); a message that is not a string (a server's null, a number)
      // is no message
      const e = err as TwilioFailure;
      const said = typeof e.message === "string" ? redact(e.message) : undefined;
      const failure = classify({ status: e.status, code: e.code, ...(typeof e.retryable === "boolean" ? { retryable: e.retryable } : {}), message: said }, note.retryAfter, ctx.now());
      return { ...failure, error: redact(failure.error) };
    }
  }

  return { config, send, close: async () => {} };
}
