// The webhook channel: one signed JSON POST per message (payload.ts, docs/channels/webhook.md).
// The signature is HMAC-SHA256 over `${timestamp}.${body}`, so a receiver can refuse a copy
// replayed later with another timestamp; X-Covenant-Id is the message id, the same on a resend
// after a crash, so a receiver drops what it has already seen.
import { createHmac } from "node:crypto";
import type { WebhookChannel } from "../config/types.js";
import type { Channel, ChannelContext, ChannelFactory, Delivery, Message } from "./contract.js";
import { deliveryOf, originOf, postJson } from "./http.js";
import { webhookPayload } from "./payload.js";
import { oneLine, userAgent } from "./text.js";

/** The headers Covenant sets, which configured `headers:` may not replace. */
const OWN_HEADERS = ["content-type", "user-agent", "x-covenant-id", "x-covenant-timestamp", "x-covenant-signature"];

/** "sha256=" and the hex HMAC-SHA256 of `${timestamp}.${body}` under `secret`. */
export function signature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export const createChannel: ChannelFactory = async (config, ctx) => {
  if (config.type !== "webhook") throw new Error(`the webhook channel was given a ${config.type} channel's configuration`);
  const secret = config.secret ? ctx.readSecret(config.secret, `the secret of channel ${config.name}`) : undefined;
  return new Webhook(config, ctx, secret);
};

class Webhook implements Channel {
  private readonly url: URL;
  private readonly receiver: string;

  constructor(
    readonly config: WebhookChannel,
    private readonly ctx: ChannelContext,
    private readonly secret: string | undefined,
  ) {
    this.url = new URL(config.url);
    this.receiver = `the webhook at ${originOf(this.url)}`;
  }

  async send(message: Message): Promise<Delivery> {
    try {
      const now = this.ctx.now();
      const body = JSON.stringify(webhookPayload(message, now));
      const answer = await postJson(this.url, body, this.headers(message.id, Math.floor(now.getTime() / 1000), body), this.config.timeoutMs);
      return deliveryOf(answer, this.receiver, this.secrets(), now.getTime());
    } catch (err) {
      // never thrown at the dispatcher: a message that cannot be made into a request fails the same way next time
      return deliveryOf({ kind: "unreachable", error: `the message could not be sent (${oneLine((err as Error).message)})`, retryable: false }, this.receiver, this.secrets(), Date.now());
    }
  }

  async close(): Promise<void> {}

  private headers(id: string, timestamp: number, body: string): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.config.headers)) if (!OWN_HEADERS.includes(name.toLowerCase())) headers[name] = value;
    headers["Content-Type"] = "application/json";
    headers["User-Agent"] = userAgent;
    headers["X-Covenant-Id"] = id;
    headers["X-Covenant-Timestamp"] = String(timestamp);
    if (this.secret !== undefined) headers["X-Covenant-Signature"] = signature(this.secret, timestamp, body);
    return headers;
  }

  /** what must never be shown: the HMAC key, and configured header values (an Authorization token) */
  private secrets(): string[] {
    return [...(this.secret !== undefined ? [this.secret] : []), ...Object.values(this.config.headers).filter((v) => v.length >= 8)];
  }
}
