// The SMS channel: the real `twilio` client's Messages resource (through Covenant's HTTP client), sent to a stand-in of Twilio's Messages API on
// 127.0.0.1 (test/helpers/twilio-standin.ts) through api_url; one segment per message, and
// Twilio's error replies told apart.
import { createServer, type Server } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SmsChannel } from "../../src/config/types.js";
import type { Channel } from "../../src/notifiers/contract.js";
import { isGsm7, smsSegments, smsText } from "../../src/notifiers/render.js";
import { makeChannel } from "../../src/notifiers/registry.js";
import { rewriteTwilioUri } from "../../src/notifiers/twilio.js";
import { formEncode } from "../../src/notifiers/twilio-http.js";
import { startTwilioStandin, type TwilioStandin } from "../helpers/twilio-standin.js";
import { testContext } from "./context.js";
import { twilioConfig } from "./harnesses/twilio.js";
import { deficiency, message } from "./messages.js";

let standin: TwilioStandin;
const TOKEN_ENV = "COVENANT_TEST_TWILIO_TOKEN";

beforeAll(async () => {
  standin = await startTwilioStandin();
  process.env[TOKEN_ENV] = standin.authToken;
});

afterAll(async () => {
  delete process.env[TOKEN_ENV];
  await standin.close();
});

const config = (overrides: Partial<SmsChannel> = {}): SmsChannel => twilioConfig(standin, TOKEN_ENV, overrides);

const channel = (overrides: Partial<SmsChannel> = {}): Promise<Channel> => makeChannel(config(overrides), testContext());

describe("the twilio channel", () => {
  it("sends one segment to the person's phone through the real client", async () => {
    const m = message();
    const r = await (await channel()).send(m);
    expect(r).toMatchObject({ ok: true, providerId: expect.stringMatching(/^SM[0-9a-f]{32}$/), detail: expect.stringMatching(/\(queued, 1 segment\)$/) });
    const got = standin.messages.at(-1)!;
    expect(got).toMatchObject({ sid: r.ok ? r.providerId : "", accountSid: standin.accountSid, to: "+15551230001", from: "+15550000000", body: smsText(m) });
    expect(got.body).toBe("Covenant CRITICAL ITGC-AC-01 on ledger-01 d-7k3q9m2x: mode is 0644, promised 0640");
    expect(smsSegments(got.body)).toBe(1);
    expect(standin.requests.at(-1)).toEqual({ path: `/2010-04-01/Accounts/${standin.accountSid}/Messages.json`, status: 201 });
  });

  it("sends from a messaging service when one is configured", async () => {
    await (await channel({ from: undefined, messagingServiceSid: "MG0123456789abcdef0123456789abcdef" })).send(message());
    expect(standin.messages.at(-1)).toMatchObject({ messagingServiceSid: "MG0123456789abcdef0123456789abcdef", from: undefined });
  });

  it("detects a text that needs UCS-2 and fits it in 70 units", async () => {
    const reason = "Журнал изменён: владелец root вместо ledger, права 0644 вместо обещанных 0640";
    expect((await (await channel()).send(message({ deficiencies: [deficiency({ reason })] }))).ok).toBe(true);
    const body = standin.messages.at(-1)!.body;
    expect(isGsm7(body)).toBe(false);
    expect(body.length).toBeLessThanOrEqual(70);
    expect(smsSegments(body)).toBe(1);
    expect(body).toMatch(/^Covenant CRITICAL ITGC-AC-01 on ledger-01 d-7k3q9m2x: Журнал/);
  });

  it("a wrong auth token is permanent (20003), and the error does not hold it", async () => {
    process.env["COVENANT_TEST_WRONG_TOKEN"] = "f00dfeedf00dfeedf00dfeedf00dfeed";
    try {
      const r = await (await channel({ authToken: { env: "COVENANT_TEST_WRONG_TOKEN" } })).send(message());
      expect(r).toEqual({ ok: false, retryable: false, error: "twilio HTTP 401 error 20003: authentication failed (check account_sid and the auth token) (Authentication Error - invalid username)" });
      expect(JSON.stringify(r)).not.toContain("f00dfeed");
    } finally {
      delete process.env["COVENANT_TEST_WRONG_TOKEN"];
    }
  });

  it("an invalid 'To' number (21211) and a landline (21614) are permanent", async () => {
    const c = await channel();
    const bad = await c.send(message({ person: { name: "Dan", phone: "+1555-bad" } }));
    expect(bad).toMatchObject({ ok: false, retryable: false, error: expect.stringMatching(/^twilio HTTP 400 error 21211: invalid 'To' phone number/) });
    standin.landlines.add("+15557770000");
    const landline = await c.send(message({ person: { name: "Eve", phone: "+15557770000" } }));
    expect(landline).toMatchObject({ ok: false, retryable: false, error: expect.stringMatching(/error 21614: 'To' number is not a valid mobile number/) });
  });

  it("a rate limit (429) is retried after Twilio's Retry-After, in seconds or as a date", async () => {
    const c = await channel();
    try {
      standin.mode = { kind: "rate-limit", retryAfter: "7" };
      expect(await c.send(message())).toMatchObject({ ok: false, retryable: true, retryAfterMs: 7000, error: expect.stringMatching(/^twilio HTTP 429 error 20429: rate limited, retry after 7s/) });
      // the test context's clock says 09:00:30
      standin.mode = { kind: "rate-limit", retryAfter: "Sat, 05 Dec 2026 09:01:00 GMT" };
      expect(await c.send(message())).toMatchObject({ ok: false, retryable: true, retryAfterMs: 30_000 });
    } finally {
      standin.mode = { kind: "normal" };
    }
  });

  it("a server error (503) and a server that is down are worth a retry", async () => {
    const c = await channel();
    standin.mode = { kind: "server-error" };
    try {
      expect(await c.send(message())).toMatchObject({ ok: false, retryable: true, error: expect.stringMatching(/^twilio HTTP 503/) });
    } finally {
      standin.mode = { kind: "normal" };
    }
    await standin.stop();
    try {
      expect(await c.send(message())).toMatchObject({ ok: false, retryable: true, error: "twilio: connection refused" });
    } finally {
      await standin.start();
    }
    expect((await c.send(message())).ok).toBe(true);
  });

  it("a server that never answers times out, worth a retry", async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const started = Date.now();
      const r = await (await channel({ apiUrl: `http://127.0.0.1:${(silent.address() as { port: number }).port}`, timeoutMs: 300 })).send(message());
      expect(r).toMatchObject({ ok: false, retryable: true, error: "twilio: no answer within 300 ms" });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });

  it("sends concurrently through one client, each send keeping its own Retry-After", async () => {
    // every request is held until all have come, then answered in the reverse order: a 429
    // whose Retry-After is the last digit of the number it was for
    const held: { to: string; answer: () => void }[] = [];
    const numbers = ["+15550000001", "+15550000002", "+15550000003", "+15550000004", "+15550000005"];
    const limiter: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const to = new URLSearchParams(Buffer.concat(chunks).toString()).get("To") ?? "";
        const answer = () => res.writeHead(429, { "content-type": "application/json", "retry-after": to.slice(-1) }).end(JSON.stringify({ code: 20429, message: "Too Many Requests", status: 429 }));
        held.push({ to, answer });
        if (held.length === numbers.length) for (const h of [...held].reverse()) h.answer();
      });
    });
    await new Promise<void>((r) => limiter.listen(0, "127.0.0.1", r));
    try {
      const c = await channel({ apiUrl: `http://127.0.0.1:${(limiter.address() as { port: number }).port}` });
      const results = await Promise.all(numbers.map((phone) => c.send(message({ person: { name: "Pat", phone } }))));
      expect(results.map((r) => (r.ok ? undefined : r.retryAfterMs))).toEqual([1000, 2000, 3000, 4000, 5000]);
      expect(held.map((h) => h.to).sort()).toEqual(numbers);
    } finally {
      limiter.closeAllConnections();
      await new Promise((r) => limiter.close(r));
    }
  });

  it("a person without a phone cannot be texted (permanent)", async () => {
    expect(await (await channel()).send(message({ person: { name: "Carol", email: "carol@example.com" } }))).toEqual({ ok: false, retryable: false, error: "no phone number for Carol" });
  });

  it("cannot be made with a malformed account SID or without a sender", async () => {
    await expect(channel({ accountSid: "XX123" })).rejects.toThrow(/channel sms: account_sid must be AC followed by 32 hexadecimal digits/);
    await expect(channel({ from: undefined })).rejects.toThrow(/channel sms: needs from or messaging_service_sid/);
  });

  it("a reply cut short is worth a retry (the text may have been taken: the resend is the same)", async () => {
    // a 201 whose body never arrives whole: the connection is reset mid-reply
    const cutter: Server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(201, { "content-type": "application/json", "content-length": "500" });
        res.write('{"sid": "SM0123');
        setTimeout(() => res.socket?.destroy(), 20);
      });
    });
    await new Promise<void>((r) => cutter.listen(0, "127.0.0.1", r));
    try {
      const r = await (await channel({ apiUrl: `http://127.0.0.1:${(cutter.address() as { port: number }).port}` })).send(message());
      expect(r).toEqual({ ok: false, retryable: true, error: "twilio: Twilio answered 201 but its reply did not arrive whole" });
    } finally {
      cutter.closeAllConnections();
      await new Promise((r) => cutter.close(r));
    }
  });

  it("sends what twilio's Client builds: its User-Agent, Basic credentials, a form, and nothing from TWILIO_* variables", async () => {
    const seen: { url: string; headers: Record<string, string | string[] | undefined>; body: string }[] = [];
    const recorder: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        seen.push({ url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ sid: "SM00000000000000000000000000000001", status: "queued" }));
      });
    });
    await new Promise<void>((r) => recorder.listen(0, "127.0.0.1", r));
    const saved = { edge: process.env["TWILIO_EDGE"], region: process.env["TWILIO_REGION"] };
    // a region or an edge from the environment would move api.twilio.com to another host name;
    // the configuration, not the environment, says where texts go
    process.env["TWILIO_EDGE"] = "sydney";
    process.env["TWILIO_REGION"] = "au1";
    try {
      const c = await channel({ apiUrl: `http://127.0.0.1:${(recorder.address() as { port: number }).port}/base/` });
      expect(await c.send(message({ person: { name: "Pat", phone: "+15550000009" } }))).toMatchObject({ ok: true, providerId: "SM00000000000000000000000000000001" });
      const [got] = seen;
      expect(got!.url).toBe(`/base/2010-04-01/Accounts/${standin.accountSid}/Messages.json`);
      expect(got!.headers["user-agent"]).toMatch(/^twilio-node\/\d+\.\d+\.\d+ \(linux [a-z0-9_]+\) node\/v\d+/);
      expect(got!.headers["authorization"]).toBe(`Basic ${Buffer.from(`${standin.accountSid}:${standin.authToken}`).toString("base64")}`);
      expect(got!.headers["content-type"]).toBe("application/x-www-form-urlencoded");
      expect(Object.fromEntries(new URLSearchParams(got!.body))).toEqual({ To: "+15550000009", From: "+15550000000", Body: expect.stringMatching(/^Covenant CRITICAL/) });
    } finally {
      for (const [k, v] of Object.entries({ TWILIO_EDGE: saved.edge, TWILIO_REGION: saved.region })) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      recorder.closeAllConnections();
      await new Promise((r) => recorder.close(r));
    }
  });

  it("encodes a form as Twilio reads it: any text, lists as repeated keys (property)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }), fc.integer(), fc.boolean())), (fields) => {
        const back = new URLSearchParams(formEncode(fields));
        for (const [k, v] of Object.entries(fields)) expect(back.getAll(k)).toEqual((Array.isArray(v) ? v : [v]).map(String));
      }),
    );
    expect(formEncode({ MediaUrl: ["a b", "c&d"], Body: "x=y" })).toBe("MediaUrl=a+b&MediaUrl=c%26d&Body=x%3Dy");
    expect(() => formEncode({ Nested: { a: 1 } })).toThrow(/not a plain value/);
  });

  it("moves any twilio.com URI to api_url, keeping api_url's path", () => {
    expect(rewriteTwilioUri("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json", "http://127.0.0.1:9/")).toBe("http://127.0.0.1:9/2010-04-01/Accounts/AC1/Messages.json");
    expect(rewriteTwilioUri("https://messaging.twilio.com/v1/Services?x=1", "https://proxy.example/twilio/")).toBe("https://proxy.example/twilio/v1/Services?x=1");
    expect(rewriteTwilioUri("https://example.com/x", "http://127.0.0.1:9")).toBe("https://example.com/x");
  });
});
