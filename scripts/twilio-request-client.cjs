// Stands in the bundle for twilio's RequestClient (scripts/bundle-options.mjs): Covenant always
// gives twilio's Client its own HTTP client, so this one is never made; if it were, say why.
/* global module */
"use strict";
class RequestClient {
  constructor() {
    throw new Error("twilio's default HTTP client is not in Covenant's bundle: the SMS channel passes its own (src/notifiers/twilio-http.ts)");
  }
}
module.exports = { __esModule: true, default: RequestClient };
