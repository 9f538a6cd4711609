// Attacks on the SMS channel from the side of a Twilio-compatible server (the channel's api_url):
// replies Twilio would not send, shaped to get the auth token into the records, to make the
// channel throw, or to make a message's words huge. Each case is a server on 127.0.0.1 answering
// one way; the channel is the real one (twilio's Client and Messages resource over http.ts).
import { createServer, type Server, type ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SmsChannel } from "../../src/config/types.js";
import { makeChannel } from "../../src/notifiers/registry.js";
import { testContext } from "./context.js";
import { message } from "./messages.js";

const SID = "AC0123456789abcdef0123456789abcdef";
const TOKEN = "f00dfeed1234abcd5678ef90c0ffee42";
const TOKEN_ENV = "COVENANT_TEST_ATTACK_TWILIO_TOKEN";

let answer: (res: ServerResponse) => void = (res) => void res.end();
let server: Server;

beforeAll(async () => {
  process.env[TOKEN_ENV] = TOKEN;
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => answer(res));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
});

afterAll(async () => {
  delete process.env[TOKEN_ENV];
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function channel() {
  const config: SmsChannel = { type: "twilio", name: "sms", accountSid: SID, authToken: { env: TOKEN_ENV }, from: "+15550000000", apiUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, timeoutMs: 3000 };
  return makeChannel(config, testContext());
}

function replies(status: number, body: string): void {
  answer = (res) => void res.writeHead(status, { "content-type": "application/json" }).end(body);
}

/** Every 8-character piece of the token: a record holding one holds part of the secret. */
const tokenPieces = Array.from({ length: TOKEN.length - 7 }, (_, i) => TOKEN.slice(i, i + 8));
const holdsPartOfToken = (text: string) => tokenPieces.some((p) => text.includes(p));

describe("a Twilio-compatible server's replies", () => {
  it("a 201 whose sid is the auth token: the provider id (kept for ever in the history) does not hold it", async () => {
    // the detail is redacted; providerId is returned as the server wrote it, and recordDelivery
    // appends it to the tamper-evident history (src/store/notify.ts), where it can never be removed
    for (const sid of [TOKEN, Buffer.from(`${SID}:${TOKEN}`).toString("base64")]) {
      replies(201, JSON.stringify({ sid, status: "queued" }));
      const r = await (await channel()).send(message());
      expect(r.ok).toBe(true);
      expect(JSON.stringify(r)).not.toContain(sid);
    }
  });

  it("a 201 whose sid is not a string: the provider id is a string or absent", async () => {
    // a number or an object reaches the store's oneLine (text.replace) and throws there: see
    // test/cli/sms-attack.test.ts for what that does to `covenant run`
    for (const sid of [5, { a: 1 }, ["SM1"], true]) {
      replies(201, JSON.stringify({ sid, status: "queued" }));
      const r = await (await channel()).send(message());
      if (r.ok && r.providerId !== undefined) expect(typeof r.providerId, JSON.stringify(sid)).toBe("string");
    }
  });

  it("an error whose message is null, a number or an object: send answers (never throws), and a permanent code stays permanent", async () => {
    // RestException copies body.message as it is; twilio.ts calls redact() on anything not
    // undefined, which splits it as a string: TypeError out of send
    for (const msg of [null, 12, { text: "x" }]) {
      replies(400, JSON.stringify({ code: 21211, message: msg, status: 400 }));
      const sending = (await channel()).send(message());
      await expect(sending, JSON.stringify(msg)).resolves.toMatchObject({ ok: false, retryable: false, error: expect.stringMatching(/^twilio HTTP 400 error 21211/) });
    }
  });

  it("a 201 that is not JSON and starts with the token: the error holds no piece of it", async () => {
    // V8's SyntaxError quotes the first ten characters of the body ("x" and nine of the token),
    // cut off before the redactor could match the whole token
    replies(201, `x${TOKEN} and more text after it so that V8 shortens its quotation`);
    const r = await (await channel()).send(message());
    expect(r.ok).toBe(false);
    expect(holdsPartOfToken(JSON.stringify(r)), JSON.stringify(r)).toBe(false);
  });

  it("an error message of 250 000 characters is cut as the other HTTP channels cut a reply (200 characters shown)", async () => {
    // deliveryOf (http.ts) cuts a receiver's words to BODY_SHOWN; the SMS channel's classify does
    // not, and the whole message lands in `covenant run`'s report (a 250 KB line per message)
    replies(400, JSON.stringify({ code: 21211, message: "B".repeat(250_000), status: 400 }));
    const r = await (await channel()).send(message());
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.length).toBeLessThan(1000);
  });
});
