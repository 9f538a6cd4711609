// The SMS channel through the real twilio client against the Twilio stand-in
// (test/helpers/twilio-standin.ts) on 127.0.0.1, its auth token from the environment.
import type { SmsChannel } from "../../../src/config/types.js";
import { makeChannel } from "../../../src/notifiers/registry.js";
import { startTwilioStandin, type TwilioStandin } from "../../helpers/twilio-standin.js";
import { testContext } from "../context.js";
import { security } from "../messages.js";
import type { ChannelHarness } from "./types.js";

/** A twilio channel configured for `standin`, its token in the environment variable `tokenEnv`. */
export function twilioConfig(standin: TwilioStandin, tokenEnv: string, overrides: Partial<SmsChannel> = {}): SmsChannel {
  return { type: "twilio", name: "sms", accountSid: standin.accountSid, authToken: { env: tokenEnv }, from: "+15550000000", apiUrl: standin.url, timeoutMs: 3000, ...overrides };
}

export async function twilioHarness(): Promise<ChannelHarness> {
  const standin = await startTwilioStandin();
  const env = "COVENANT_CONTRACT_TWILIO_TOKEN";
  process.env[env] = standin.authToken;
  const config = twilioConfig(standin, env);
  const sms = (item: unknown) => item as { body: string };
  return {
    make: () => makeChannel(config, testContext()),
    received: async () => [...standin.messages],
    shows: (item) => sms(item).body,
    idOf: () => undefined,
    outsideText: "escaped",
    showsWholeReason: false,
    breakTemporarily: () => void (standin.mode = { kind: "rate-limit", retryAfter: "1" }),
    breakPermanently: () => void standin.landlines.add(security.people[0]!.phone!),
    heal() {
      standin.mode = { kind: "normal" };
      standin.landlines.clear();
    },
    down: () => standin.stop(),
    up: () => standin.start(),
    secret: standin.authToken,
    async stop() {
      delete process.env[env];
      await standin.close();
    },
  };
}
