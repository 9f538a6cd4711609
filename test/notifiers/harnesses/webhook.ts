// The webhook channel against the signature-checking receiver (test/helpers/webhook-receiver.ts).
// The receiver holds what it accepted (2xx); a request it refused reached it but was not taken.
import { randomBytes } from "node:crypto";
import type { WebhookChannel } from "../../../src/config/types.js";
import { createChannel } from "../../../src/notifiers/webhook.js";
import { startWebhookReceiver, type Received, type WebhookReceiver } from "../../helpers/webhook-receiver.js";
import { context, secretFile } from "../hooks-fixtures.js";
import { stringsOf, type ChannelHarness } from "./types.js";

export interface WebhookHarness extends ChannelHarness {
  /** every request that reached the receiver, across restarts, accepted or not */
  requests: Received[];
}

export async function webhookHarness(): Promise<WebhookHarness> {
  const secret = `whsec-${randomBytes(16).toString("hex")}`;
  const ref = secretFile(secret);
  const requests: Received[] = [];
  const listen = async (port = 0) => {
    const r = await startWebhookReceiver(secret, port);
    r.received = requests;
    // a receiver that echoes what it should not: the channel must still keep the secret out of its errors
    r.replyBody = `rejected; key was ${secret}`;
    return r;
  };
  let receiver: WebhookReceiver = await listen();
  let up = true;
  const payload = (item: unknown) => item as { id: string };
  return {
    secret,
    requests,
    async make() {
      const config: WebhookChannel = { type: "webhook", name: "hook", url: receiver.url, secret: ref, timeoutMs: 2000, headers: {} };
      return createChannel(config, context(new Date()));
    },
    async received() {
      return requests.filter((r) => r.answered !== undefined && r.answered < 300 && r.signatureValid).map((r) => JSON.parse(r.body) as unknown);
    },
    shows: stringsOf,
    idOf: (item) => payload(item)?.id,
    outsideText: "intact",
    showsWholeReason: true,
    breakTemporarily: () => void (receiver.mode = "500"),
    breakPermanently: () => void (receiver.mode = "400"),
    heal: () => void (receiver.mode = "ok"),
    async down() {
      await receiver.stop();
      up = false;
    },
    async up() {
      receiver = await listen(receiver.port);
      up = true;
    },
    async stop() {
      if (up) await receiver.stop();
      up = false;
    },
  };
}
