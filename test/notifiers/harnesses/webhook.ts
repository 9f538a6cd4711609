// The webhook channel against the signature-checking receiver (test/helpers/webhook-receiver.ts).
import { randomBytes } from "node:crypto";
import type { WebhookChannel } from "../../../src/config/types.js";
import { createWebhookChannel } from "../../../src/notifiers/webhook.js";
import { startWebhookReceiver, type Received, type WebhookReceiver } from "../../helpers/webhook-receiver.js";
import { context, secretFile } from "../hooks-fixtures.js";
import type { ChannelHarness } from "./types.js";

export interface WebhookHarness extends ChannelHarness {
  /** every request received, across restarts of the receiver */
  requests: Received[];
  receiver(): WebhookReceiver;
}

export async function webhookHarness(): Promise<WebhookHarness> {
  const secret = `whsec-${randomBytes(16).toString("hex")}`;
  const ref = secretFile(secret);
  const requests: Received[] = [];
  let receiver: WebhookReceiver | undefined = await startWebhookReceiver(secret);
  const start = async () => {
    receiver = await startWebhookReceiver(secret);
    receiver.received = requests;
    return receiver;
  };
  receiver.received = requests;
  // a receiver that echoes what it should not: the channel must still keep the secret out of its errors
  const failing = (r: WebhookReceiver) => (r.replyBody = `rejected; key was ${secret}`);
  return {
    secret,
    requests,
    receiver: () => receiver!,
    async make() {
      const r = receiver ?? (await start());
      r.mode = "ok";
      const config: WebhookChannel = { type: "webhook", name: "hook", url: r.url, secret: ref, timeoutMs: 2000, headers: {} };
      return createWebhookChannel(config, context(new Date()));
    },
    async received() {
      // what it accepted: a request answered 500 reached it, but was not taken
      return requests.filter((r) => r.answered !== undefined && r.answered < 300).map((r) => JSON.parse(r.body) as unknown);
    },
    async breakTemporarily() {
      failing(receiver!);
      receiver!.mode = "500";
    },
    async breakPermanently() {
      failing(receiver!);
      receiver!.mode = "400";
    },
    async takeDown() {
      await receiver?.stop();
      receiver = undefined;
    },
    async stop() {
      await receiver?.stop();
      receiver = undefined;
    },
  };
}
