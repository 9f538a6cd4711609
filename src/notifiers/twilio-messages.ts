// Twilio's Messages resource, made from the twilio library's own parts: its Client (which adds
// the credentials, the User-Agent and the headers to each request), the Api domain at
// https://api.twilio.com, its 2010-04-01 version, and the account's message list, whose
// `create` sends a text and reads Twilio's answer (a MessageInstance, or a RestException with
// Twilio's error code). `twilio(sid, token).messages` is the same list reached through the
// whole client, whose Twilio class and Account resource load some 300 modules (every product
// domain, every resource of an account) to send one kind of request.
import BaseTwilio from "twilio/lib/base/BaseTwilio.js";
import DomainModule from "twilio/lib/base/Domain.js";
import VersionModule from "twilio/lib/base/Version.js";
import { MessageListInstance, type MessageListInstanceCreateOptions } from "twilio/lib/rest/api/v2010/account/message.js";
import type { TwilioHttpClient } from "./twilio-http.js";

/** The class a CommonJS module exports as `default` (`exports.default = …`), however it was imported. */
function defaultClass<T>(mod: T | { default: T }): T {
  return typeof mod === "function" ? mod : (mod as { default: T }).default;
}

export interface TwilioMessages {
  create(params: MessageListInstanceCreateOptions): Promise<{ sid: string; status: string }>;
}

/** The account's Messages list, sending through `http`. */
export function twilioMessages(accountSid: string, authToken: string, http: TwilioHttpClient): TwilioMessages {
  // no TWILIO_* variable of the environment reaches the client: edge, region and log level are
  // pinned (api_url is where a site sends Twilio's requests elsewhere)
  const client = new BaseTwilio.Client(accountSid, authToken, { httpClient: http as never, env: {}, edge: "", region: "", logLevel: "" });
  const Domain = defaultClass(DomainModule);
  const Version = defaultClass(VersionModule);
  // what Twilio's V2010 class is: the Api domain's version "2010-04-01" (its own getters reach
  // the account's other resources, which a text does not need)
  const v2010 = new Version(new Domain(client, "https://api.twilio.com"), "2010-04-01") as Parameters<typeof MessageListInstance>[0];
  return MessageListInstance(v2010, accountSid);
}
